"""`roost serve [--demo]`: run the server until Ctrl-C or SIGTERM.

Start-up order: logging (one line per event, on stderr, text or JSON lines), the checks of
roost.startup (data directory, TLS files: a failure is one line and status 1), with --demo
the demo account, then the listeners. Ctrl-C and SIGTERM both cancel the server, which says
goodbye to every session and closes its listeners; the command then exits with status 0.
Files the server creates are its own user's only (roost.cli's umask 077: the data directory
0700, the database and messages 0600); the LMTP socket gets its configured mode.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import signal
import string
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roost.auth.passwords import hash_password, verify_password
from roost.cli import CommandError
from roost.config import Config
from roost.logs import configure_logging
from roost.startup import StartupError, check_data_dir, prepare_tls
from roost.store.api import Store

if TYPE_CHECKING:
    from roost.cli import Context, ServerRunner

DEMO_ADDRESS = "demo@localhost"
DEMO_PASSWORD_FILE = "demo-password"
GIL_SWITCH_SECONDS = 0.0005
PASSWORD_ALPHABET = string.ascii_letters + string.digits

log = logging.getLogger(__name__)


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("serve", help="run the server")
    parser.add_argument(
        "--demo",
        action="store_true",
        help=f"create {DEMO_ADDRESS} on first start and print how to connect to it",
    )
    parser.set_defaults(command=serve)


def serve(ctx: Context, args: argparse.Namespace) -> int:
    root = logging.getLogger()
    previous_level = root.level
    handler = configure_logging(ctx.config.log_level, ctx.config.log_format, ctx.stderr)
    try:
        return _serve(ctx, demo=bool(args.demo))
    except StartupError as exc:
        raise CommandError(str(exc)) from None
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def _serve(ctx: Context, *, demo: bool) -> int:
    config = ctx.config
    # Checked before the demo account is made, so its store is not made in the wrong place.
    check_data_dir(config)
    prepare_tls(config)

    banner = demo_banner(config, prepare_demo(ctx)) if demo else ""

    def ready() -> None:  # the listeners are up: now the banner is true
        if banner:
            ctx.stdout.write(banner)
            ctx.stdout.flush()

    # The event loop, the store's reader and writer threads and the blob writers all take
    # turns holding the GIL, and a thread that asks for it waits until the holder lets go
    # or this interval has passed (5 ms by default): a read or commit pays that wait after
    # each of its SQLite calls. A shorter turn bounds that queueing at the cost of a few
    # more switches.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    if config.workers > 1:
        return _supervise(config, ready)
    try:
        asyncio.run(_serve_until_terminated(ctx.run_server, config, ready))
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # not one of the failures roost.startup names
        raise CommandError(f"cannot serve: {exc}") from None
    log.info("stopped")
    return 0


def _supervise(config: Config, ready: Callable[[], None]) -> int:
    """`workers` > 1: this process supervises that many workers (roost.serve.supervisor),
    after migrating the store once, so that no two workers race through it."""
    from roost.app import run
    from roost.backends import open_store
    from roost.serve import Place
    from roost.serve.bus import WorkerBus
    from roost.serve.supervisor import STARTUP_FAILED, supervise

    async def migrate() -> None:
        await (await open_store(config, None)).close()

    asyncio.run(migrate())
    bus = WorkerBus(config.workers)

    def worker(index: int) -> int:
        place = Place(index, config.workers, bus.link(index))
        os.environ.pop("NOTIFY_SOCKET", None)  # systemd hears from the supervisor only

        def runner(config: Config, ready: Callable[[], None]) -> Coroutine[Any, Any, None]:
            return run(config, ready, place)

        try:
            asyncio.run(
                _serve_until_terminated(runner, config, ready if place.primary else _nothing)
            )
        except KeyboardInterrupt:
            pass
        except StartupError as exc:
            log.error("worker %d cannot start: %s", index, exc)
            return STARTUP_FAILED
        return 0

    try:
        if supervise(config.workers, worker) != 0:
            raise CommandError("cannot serve: a worker could not start (see above)")
    finally:
        bus.close()
    log.info("stopped")
    return 0


def _nothing() -> None:
    pass


async def _serve_until_terminated(
    run_server: ServerRunner, config: Config, ready: Callable[[], None]
) -> None:
    """Runs the server; SIGTERM cancels it like Ctrl-C, and then this returns normally."""
    loop = asyncio.get_running_loop()
    server = asyncio.create_task(run_server(config, ready))
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        log.info("SIGTERM received, stopping")
        server.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        await server
    except asyncio.CancelledError:
        if not terminated:
            raise  # Ctrl-C: asyncio.run turns this into KeyboardInterrupt
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


# ----- the demo account ----------------------------------------------------------------


def prepare_demo(ctx: Context) -> str | None:
    """Creates the demo account on first start; returns its password, or None if someone
    changed it since (with `roost user passwd`)."""
    password_file = ctx.config.data_dir / DEMO_PASSWORD_FILE
    password, fresh = _read_or_create_password(password_file)

    async def ensure(store: Store) -> bool:
        account = await store.find_account(DEMO_ADDRESS)
        if account is None:
            await store.create_account(DEMO_ADDRESS, hash_password(password))
            log.info("created the demo account %s", DEMO_ADDRESS)
            return True
        if fresh:  # the account outlived its password file: give it the new password
            await store.set_password(DEMO_ADDRESS, hash_password(password))
            return True
        return verify_password(account.password_hash, password)

    return password if ctx.with_store(ensure, create=True) else None


def demo_banner(config: Config, password: str | None) -> str:
    """How to point a mail client at the demo account."""
    host = config.hostname if _is_wildcard(config.bind) else config.bind
    lines = [
        "",
        "Roost is serving a demo account. Point a mail client at it:",
        f"  server    {host}",
    ]
    if config.ports.imap:
        lines.append(f"  IMAP      port {config.ports.imap}, STARTTLS")
    if config.ports.imaps:
        lines.append(f"  IMAPS     port {config.ports.imaps}, SSL/TLS")
    if config.ports.pop3:
        lines.append(f"  POP3      port {config.ports.pop3}, STARTTLS")
    if config.ports.pop3s:
        lines.append(f"  POP3S     port {config.ports.pop3s}, SSL/TLS")
    if config.ports.submission:
        lines.append(f"  SMTP      port {config.ports.submission}, STARTTLS (sending)")
    if config.ports.submissions:
        lines.append(f"  SMTPS     port {config.ports.submissions}, SSL/TLS (sending)")
    lines.append(f"  user      {DEMO_ADDRESS}   (the same for receiving and sending)")
    password_file = config.data_dir / DEMO_PASSWORD_FILE
    if password is None:
        lines.append(f"  password  changed since; {password_file} no longer holds it")
    else:
        lines.append(f"  password  {password}   (kept in {password_file})")
    lines += [
        f"  The certificate is self-signed ({config.tls.cert}):",
        "  accept it when the mail client asks.",
        "",
    ]
    return "\n".join(lines) + "\n"


def _is_wildcard(bind: str) -> bool:
    try:
        return ipaddress.ip_address(bind).is_unspecified
    except ValueError:
        return False  # a host name


def _read_or_create_password(path: Path) -> tuple[str, bool]:
    """The password kept in `path`, or a new random one written there (0600). The flag says
    whether it is new."""
    with contextlib.suppress(FileNotFoundError):
        password = path.read_text(encoding="utf-8").strip()
        if password:
            return password, False
    # Letters and digits only: easy to copy from a terminal and to type into a phone.
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(password + "\n")
    return password, True
