"""Wiring: the only place that picks concrete backends and starts the listeners.

Start-up checks come first (roost.startup: data directory, TLS files), each failure a
StartupError of one line; then the store, the protocol servers, the HTTP layer (client
setup, /metrics, the control socket) and the background tasks. Every session and the
metrics share one `Sessions` table (roost.sessions). At shutdown every live session gets
its protocol's goodbye (IMAP `* BYE`, POP3 `-ERR`, SMTP `421`) before the listeners close.
SIGHUP reloads the TLS certificate (a Let's Encrypt renewal) without dropping anyone.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import ssl
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

from roost.auth.connections import REFRESH as CONNECTIONS_REFRESH
from roost.auth.connections import ConnectionLimits
from roost.auth.throttle import Throttle, ThrottlePolicy
from roost.backends import open_store
from roost.config import Config, lmtp_socket_mode, lmtp_socket_path
from roost.http.app import Deps, HttpServer, public_app
from roost.http.control import control_app, control_path, wake_primary
from roost.imap.server import ImapServer
from roost.metrics import Metrics
from roost.notify.local import LocalNotifier
from roost.pop3.server import PopServer
from roost.sdnotify import notify
from roost.serve import ALONE, Place
from roost.serve.bus import Link
from roost.sessions import Sessions
from roost.smtp.policy import Services
from roost.smtp.queue import QueueRunner
from roost.smtp.relay import SmtpRelay
from roost.smtp.server import SmtpServers
from roost.spool import MemoryBudget
from roost.startup import StartupError, check_data_dir, listen_error, prepare_tls, reload_tls
from roost.store.mail.store import MailStore
from roost.streams import AcceptErrors

log = logging.getLogger("roost")

SHUTDOWN_REASON = "Server shutting down"


async def run(
    config: Config, ready: Callable[[], None] | None = None, place: Place = ALONE
) -> None:
    """Serves until cancelled. Logs one line per listener once it accepts connections.
    Raises StartupError (one line) when it cannot start. As one of several workers
    (roost.serve), it shares the ports with the others, and only the primary runs the
    outbound queue, the store's upkeep and the LMTP socket."""
    check_data_dir(config)
    tls = prepare_tls(config)
    if not config.postmaster and place.primary:
        log.warning(
            "postmaster is not set: mail to postmaster@ of a local domain is refused unless "
            "an account or alias postmaster@ exists there (RFC 5321 section 4.5.1 requires it)"
        )
    sessions = Sessions(Metrics())
    # Out of file descriptors: one log line a minute, not a traceback per accept.
    AcceptErrors.install(asyncio.get_running_loop())
    notifier = LocalNotifier()
    store = await open_store(config, notifier)
    # Issue 9: one budget of in-flight message bytes for IMAP APPEND and SMTP/LMTP DATA.
    inflight = MemoryBudget(config.max_inflight_bytes)
    # ...and one memory of failed logins for every protocol (roost.auth.throttle).
    throttle = Throttle(ThrottlePolicy.from_config(config))
    limits = ConnectionLimits.from_config(config)
    if place.link is not None:  # the other workers' logins and connections count here too
        _link_workers(place.link, throttle, limits)
    imap = ImapServer(
        store=store,
        notifier=notifier,
        config=config,
        tls=tls,
        sessions=sessions,
        inflight=inflight,
        throttle=throttle,
        limits=limits,
    )
    pop3 = PopServer(
        store=store, config=config, tls=tls, sessions=sessions, throttle=throttle, limits=limits
    )
    queue = QueueRunner(store=store, config=config, relay=SmtpRelay(config), sessions=sessions)
    wake_queue = queue.wake if place.primary else _waker_of_primary(config)
    services = Services(
        store=store,
        config=config,
        wake_queue=wake_queue,
        sessions=sessions,
        inflight=inflight,
        throttle=throttle,
        limits=limits,
    )
    smtp = SmtpServers(services, tls)
    deps = Deps(
        config=config,
        store=store,
        metrics=sessions.metrics,
        sessions=sessions,
        wake_queue=wake_queue,
        notifier=notifier,
        throttle=throttle,
    )
    http = HttpServer(public_app(deps), control_app(deps))
    for server in (imap, pop3, smtp, http):
        server.reuse_port = place.shared
    # aiosmtpd logs every command at INFO; Roost's own log lines say what matters.
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, logging.getLogger().level))
    reloading = _on_sighup(lambda: _reload(config, tls))
    try:
        # Outside the task group, so a StartupError comes out as itself, not in a group.
        await _listen(config, imap, pop3, smtp, http, tls, place)
        async with asyncio.TaskGroup() as tasks:
            # Writes of other processes (the roost CLI, other workers) reach this one's
            # sessions.
            tasks.create_task(store.follow())
            if place.link is not None:
                tasks.create_task(_report_connections(limits))
            if place.primary:
                tasks.create_task(queue.run())
                tasks.create_task(_upkeep(store, config))
            notify("READY=1\nSTATUS=serving")
            if ready is not None:
                ready()
    finally:
        if place.link is not None:
            place.link.close()
        reloading()
        notify("STOPPING=1")
        sessions.stop_all(SHUTDOWN_REASON)
        await http.close()
        await smtp.close()
        await pop3.close()
        await imap.close()
        await store.close()


def _waker_of_primary(config: Config) -> Callable[[], None]:
    """How a worker other than the primary wakes the primary's queue runner."""
    pending: set[asyncio.Task[None]] = set()

    def wake() -> None:
        task = asyncio.get_running_loop().create_task(wake_primary(config.data_dir))
        pending.add(task)
        task.add_done_callback(pending.discard)

    return wake


def _reload(config: Config, tls: ssl.SSLContext) -> None:
    notify("RELOADING=1")
    try:
        reload_tls(config, tls)
    except StartupError as exc:
        log.error("SIGHUP: kept the old certificate: %s", exc)
    else:
        log.info("SIGHUP: reloaded the TLS certificate %s", config.tls.cert)
    notify("READY=1")


def _on_sighup(action: Callable[[], None]) -> Callable[[], None]:
    """Runs action on SIGHUP; returns the undo. Only the main thread may handle signals
    (a test running the server in another thread does without)."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, action)
    except (RuntimeError, ValueError, NotImplementedError):
        return lambda: None

    def undo() -> None:
        loop.remove_signal_handler(signal.SIGHUP)

    return undo


# The first upkeep runs this long after start (or after maintenance_interval, if shorter),
# so that a server restarted often still gets it.
FIRST_UPKEEP = 600


async def _upkeep(store: MailStore, config: Config) -> None:
    """The store's scheduled maintenance (roost.store.mail.retention, blob collection)."""
    delay = min(FIRST_UPKEEP, config.maintenance_interval)
    while True:
        await asyncio.sleep(delay)
        delay = config.maintenance_interval
        try:
            done = await store.maintain(retention=timedelta(days=config.retention_days))
        except Exception:
            log.exception("store maintenance failed; it runs again in %d s", delay)
            continue
        log.info(
            "store maintenance: %d tombstones and %d change-log rows folded, %d blobs collected",
            done.tombstones,
            done.log_rows,
            done.blobs,
        )


Listen = Callable[[int], Awaitable[object]]


async def _listen(
    config: Config,
    imap: ImapServer,
    pop3: PopServer,
    smtp: SmtpServers,
    http: HttpServer,
    tls: ssl.SSLContext,
    place: Place,
) -> None:
    ports = config.ports
    listeners: tuple[tuple[int, str, str, Listen], ...] = (
        (ports.imap, "imap", "IMAP (STARTTLS)", lambda p: imap.listen(p, implicit_tls=False)),
        (ports.imaps, "imaps", "IMAPS (TLS)", lambda p: imap.listen(p, implicit_tls=True)),
        (ports.pop3, "pop3", "POP3 (STLS)", lambda p: pop3.listen(p, implicit_tls=False)),
        (ports.pop3s, "pop3s", "POP3S (TLS)", lambda p: pop3.listen(p, implicit_tls=True)),
        (
            ports.submission,
            "submission",
            "Submission (STARTTLS)",
            lambda p: smtp.listen_submission(p, implicit_tls=False),
        ),
        (
            ports.submissions,
            "submissions",
            "Submission (TLS)",
            lambda p: smtp.listen_submission(p, implicit_tls=True),
        ),
        (ports.smtp, "smtp", "SMTP", smtp.listen_inbound),
        (ports.lmtp, "lmtp", "LMTP", smtp.listen_lmtp),
        (ports.http, "http", "HTTP", lambda p: http.listen(config.bind, p, None)),
        (ports.https, "https", "HTTPS", lambda p: http.listen(config.bind, p, tls)),
    )
    for port, setting, label, listen in listeners:
        if not port:
            continue
        try:
            server = await listen(port)
        except OSError as exc:
            raise listen_error(
                exc, setting=f"ports.{setting}", bind=config.bind, port=port
            ) from None
        for host, bound in _addresses(server):
            log.info("%s listening on %s port %d%s", label, host, bound, _worker_note(place))
    socket_path = lmtp_socket_path(config) if place.primary else None
    if socket_path is not None:
        try:
            await smtp.listen_lmtp_socket(socket_path)
        except OSError as exc:
            raise StartupError(
                f"cannot listen on the LMTP socket {socket_path} (lmtp_socket): "
                f"{exc.strerror or exc}"
            ) from None
        _set_socket_access(config, socket_path)
        log.info("LMTP listening on %s", socket_path)
    await http.listen_control(control_path(config.data_dir, place.index))


def _link_workers(link: Link, throttle: Throttle, limits: ConnectionLimits) -> None:
    """What this worker's throttle and connection limits learn and tell the others
    (roost.serve.bus), so that the server's limits hold as in one process."""
    throttle.share = partial(link.send, "throttle")
    limits.share = partial(link.send, "connections")
    link.listen({"throttle": throttle.heard, "connections": limits.heard})
    limits.started()


async def _report_connections(limits: ConnectionLimits) -> None:
    while True:
        await asyncio.sleep(CONNECTIONS_REFRESH)
        limits.report()


def _worker_note(place: Place) -> str:
    return f" (worker {place.index})" if place.shared else ""


def _addresses(server: object) -> list[tuple[str, int]]:
    if isinstance(server, asyncio.Server):
        return [sock.getsockname()[:2] for sock in server.sockets]
    if isinstance(server, list):  # the HTTP layer's bound addresses
        return [tuple(address[:2]) for address in server]
    return []


def _set_socket_access(config: Config, path: Path) -> None:
    """The LMTP socket's mode and owner, so an MTA running as another user can deliver."""
    try:
        path.chmod(lmtp_socket_mode(config))
        if config.lmtp_socket_owner:
            user, _, group = config.lmtp_socket_owner.partition(":")
            if user and group:
                shutil.chown(path, user=user, group=group)
            elif user:
                shutil.chown(path, user=user)
            elif group:
                shutil.chown(path, group=group)
    except (OSError, LookupError) as exc:
        raise StartupError(
            f"cannot give the LMTP socket {path} owner {config.lmtp_socket_owner!r} and mode "
            f"{config.lmtp_socket_mode} (lmtp_socket_owner, lmtp_socket_mode): {exc}"
        ) from None


__all__ = ["SHUTDOWN_REASON", "StartupError", "run"]
