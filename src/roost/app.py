"""Wiring: the only place that picks concrete backends and starts the listeners."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from roost.config import Config
from roost.imap.server import ImapServer
from roost.notify.local import LocalNotifier
from roost.store.sqlite import SqliteStore
from roost.tls import ensure_certificate, server_context

log = logging.getLogger("roost")


async def run(config: Config, ready: Callable[[], None] | None = None) -> None:
    """Serves until cancelled. Logs one line per listener once it accepts connections."""
    ensure_certificate(config.tls.cert, config.tls.key, config.hostname)
    tls = server_context(config.tls.cert, config.tls.key)
    store = await SqliteStore.open(config.data_dir)
    imap = ImapServer(store=store, notifier=LocalNotifier(), config=config, tls=tls)
    try:
        for port, implicit, label in (
            (config.ports.imap, False, "IMAP (STARTTLS)"),
            (config.ports.imaps, True, "IMAPS (TLS)"),
        ):
            if port:
                server = await imap.listen(port, implicit_tls=implicit)
                for sock in server.sockets:
                    host, bound = sock.getsockname()[:2]
                    log.info("%s listening on %s port %d", label, host, bound)
        if ready is not None:
            ready()
        await asyncio.Event().wait()
    finally:
        await imap.close()
        await store.close()
