"""Wiring: the only place that picks concrete backends and starts the listeners."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from roost.backends import open_store
from roost.config import Config, lmtp_socket_path
from roost.imap.server import ImapServer
from roost.notify.local import LocalNotifier
from roost.pop3.server import PopServer
from roost.smtp.policy import Services
from roost.smtp.queue import QueueRunner
from roost.smtp.relay import SmtpRelay
from roost.smtp.server import SmtpServers
from roost.store.mail.store import MailStore
from roost.tls import ensure_certificate, server_context

log = logging.getLogger("roost")


async def run(config: Config, ready: Callable[[], None] | None = None) -> None:
    """Serves until cancelled. Logs one line per listener once it accepts connections."""
    ensure_certificate(config.tls.cert, config.tls.key, config.hostname)
    tls = server_context(config.tls.cert, config.tls.key)
    notifier = LocalNotifier()
    store = await open_store(config, notifier)
    imap = ImapServer(store=store, notifier=notifier, config=config, tls=tls)
    pop3 = PopServer(store=store, config=config, tls=tls)
    queue = QueueRunner(store=store, config=config, relay=SmtpRelay(config))
    services = Services(store=store, config=config, wake_queue=queue.wake)
    smtp = SmtpServers(services, tls)
    # aiosmtpd logs every command at INFO; Roost's own log lines say what matters.
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        async with asyncio.TaskGroup() as tasks:
            await _listen(config, imap, pop3, smtp)
            tasks.create_task(queue.run())
            # Writes of other processes (the roost CLI) reach this one's sessions.
            tasks.create_task(store.follow())
            tasks.create_task(_upkeep(store, config))
            if ready is not None:
                ready()
    finally:
        await smtp.close()
        await pop3.close()
        await imap.close()
        await store.close()


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


async def _listen(config: Config, imap: ImapServer, pop3: PopServer, smtp: SmtpServers) -> None:
    listeners = (
        (config.ports.imap, "IMAP (STARTTLS)", lambda p: imap.listen(p, implicit_tls=False)),
        (config.ports.imaps, "IMAPS (TLS)", lambda p: imap.listen(p, implicit_tls=True)),
        (config.ports.pop3, "POP3 (STLS)", lambda p: pop3.listen(p, implicit_tls=False)),
        (config.ports.pop3s, "POP3S (TLS)", lambda p: pop3.listen(p, implicit_tls=True)),
        (
            config.ports.submission,
            "Submission (STARTTLS)",
            lambda p: smtp.listen_submission(p, implicit_tls=False),
        ),
        (
            config.ports.submissions,
            "Submission (TLS)",
            lambda p: smtp.listen_submission(p, implicit_tls=True),
        ),
        (config.ports.smtp, "SMTP", smtp.listen_inbound),
        (config.ports.lmtp, "LMTP", smtp.listen_lmtp),
    )
    for port, label, listen in listeners:
        if port:
            server = await listen(port)
            for sock in server.sockets:
                host, bound = sock.getsockname()[:2]
                log.info("%s listening on %s port %d", label, host, bound)
    socket_path = lmtp_socket_path(config)
    if socket_path is not None:
        await smtp.listen_lmtp_socket(socket_path)
        log.info("LMTP listening on %s", socket_path)
