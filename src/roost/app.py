"""Wiring: the only place that picks concrete backends and starts the listeners."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from roost.backends import open_store
from roost.config import Config, lmtp_socket_path
from roost.imap.server import ImapServer
from roost.notify.local import LocalNotifier
from roost.smtp.policy import Services
from roost.smtp.queue import QueueRunner
from roost.smtp.relay import SmtpRelay
from roost.smtp.server import SmtpServers
from roost.tls import ensure_certificate, server_context

log = logging.getLogger("roost")


async def run(config: Config, ready: Callable[[], None] | None = None) -> None:
    """Serves until cancelled. Logs one line per listener once it accepts connections."""
    ensure_certificate(config.tls.cert, config.tls.key, config.hostname)
    tls = server_context(config.tls.cert, config.tls.key)
    store = await open_store(config)
    notifier = LocalNotifier()
    imap = ImapServer(store=store, notifier=notifier, config=config, tls=tls)
    queue = QueueRunner(store=store, notifier=notifier, config=config, relay=SmtpRelay(config))
    services = Services(store=store, notifier=notifier, config=config, wake_queue=queue.wake)
    smtp = SmtpServers(services, tls)
    # aiosmtpd logs every command at INFO; Roost's own log lines say what matters.
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        async with asyncio.TaskGroup() as tasks:
            await _listen(config, imap, smtp)
            tasks.create_task(queue.run())
            if ready is not None:
                ready()
    finally:
        await smtp.close()
        await imap.close()
        await store.close()


async def _listen(config: Config, imap: ImapServer, smtp: SmtpServers) -> None:
    listeners = (
        (config.ports.imap, "IMAP (STARTTLS)", lambda p: imap.listen(p, implicit_tls=False)),
        (config.ports.imaps, "IMAPS (TLS)", lambda p: imap.listen(p, implicit_tls=True)),
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
