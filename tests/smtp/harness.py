"""An in-process Roost SMTP/LMTP server for tests, and a scripted remote MX.

The server runs in an event loop on a background thread, so the tests drive it with
blocking clients (smtplib, raw sockets) and reach the store with `call(coroutine)`.
The queue runner is not started: a test runs one pass with `run_queue()`, so retries
happen when the test says, without sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
import socket
import ssl
import threading
from collections.abc import Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from roost.auth.passwords import hash_password
from roost.config import Config, load_config
from roost.model import SEEN
from roost.notify.local import LocalNotifier
from roost.smtp.policy import Services
from roost.smtp.queue import QueueRunner
from roost.smtp.relay import SmtpRelay
from roost.smtp.server import SmtpServers
from roost.store.api import Account, MessageMeta
from roost.store.engines.sqlite import SqliteStore
from roost.tls import ensure_certificate, server_context
from tests.e2e.conftest import free_port

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
_password_hash = hash_password(PASSWORD)


def client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Harness:
    def __init__(self, data_dir: Path, **settings: Any) -> None:
        base = load_config(None, {"ROOST_DATA_DIR": str(data_dir)}, hostname=lambda: "mx.test")
        self.config: Config = dataclasses.replace(base, **settings)
        self.clock_now: datetime | None = None
        self.mx_port = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.call(self._start())

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    async def _start(self) -> None:
        config = self.config
        ensure_certificate(config.tls.cert, config.tls.key, "localhost")
        self.notifier = LocalNotifier()
        self.store = await SqliteStore.open(config.data_dir, self.notifier)
        self.relay = SmtpRelay(config, resolver=self._resolve, mx_port=0)
        self.queue = QueueRunner(
            store=self.store,
            config=config,
            relay=self.relay,
            clock=self._clock,
        )
        self.wakes = 0
        services = Services(store=self.store, config=config, wake_queue=self._woken)
        self.servers = SmtpServers(services, server_context(config.tls.cert, config.tls.key))
        self.submission = _port(await self.servers.listen_submission(0, implicit_tls=False))
        self.submissions = _port(await self.servers.listen_submission(0, implicit_tls=True))
        self.smtp = _port(await self.servers.listen_inbound(0))
        self.lmtp = _port(await self.servers.listen_lmtp(0))
        self.lmtp_socket = config.data_dir / "lmtp.sock"
        await self.servers.listen_lmtp_socket(self.lmtp_socket)

    def _woken(self) -> None:
        self.wakes += 1

    def _clock(self) -> datetime:
        from roost.smtp.queue import _now

        return self.clock_now or _now()

    async def _resolve(self, domain: str) -> list[str]:
        self.relay.mx_port = self.mx_port
        return ["127.0.0.1"]

    def close(self) -> None:
        async def stop() -> None:
            await self.servers.close()
            await self.store.close()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    # --- accounts and mail

    def add_user(self, address: str) -> Account:
        return self.call(self.store.create_account(address, _password_hash))

    def messages(self, address: str, mailbox: str = "INBOX") -> list[tuple[MessageMeta, bytes]]:
        async def read() -> list[tuple[MessageMeta, bytes]]:
            account = await self.store.find_account(address)
            assert account is not None
            box = await self.store.find_mailbox(account.id, mailbox)
            uids, _ = await self.store.uids(box.id)
            metas = await self.store.fetch_meta(box.id, uids)
            return [(meta, await self.store.read_blob(meta.blob_id)) for meta in metas]

        return self.call(read())

    def queue_entries(self) -> list[Any]:
        return self.call(self.store.queue_entries())

    def run_queue(self) -> int:
        return self.call(self.queue.run_once())

    # --- clients

    def smtp_client(self, port: int) -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
        return client

    def submit_client(self, user: str, *, tls: bool = True) -> smtplib.SMTP:
        client = self.smtp_client(self.submission)
        client.ehlo()
        if tls:
            client.starttls(context=client_tls())
            client.ehlo()
        client.login(user, PASSWORD)
        return client


def _port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


SEEN_FLAG = SEEN


def raw_session(port: int, lines: Sequence[bytes], *, read_timeout: float = 5.0) -> bytes:
    """Sends each chunk after reading the server's reply to the previous one; returns the
    whole transcript from the server."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        received = _read_reply(sock)
        for chunk in lines:
            sock.sendall(chunk)
            received += _read_reply(sock)
        return received


def _read_reply(sock: socket.socket) -> bytes:
    """Reads until the buffer ends with a final reply line ("NNN " ...CRLF)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data
        if not chunk:
            return data
        data += chunk
        last = data.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        if data.endswith(b"\r\n") and len(last) >= 4 and last[3:4] == b" ":
            return data


class RemoteMx:
    """A second aiosmtpd, playing the remote MX or smarthost, with scripted replies."""

    def __init__(self, replies: Sequence[str] = (), port: int | None = None) -> None:
        self.replies = list(replies)  # DATA replies in turn; then 250
        self.received: list[Envelope] = []
        self.port = port or free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.replies.pop(0) if self.replies else "250 2.0.0 Accepted"
        if reply.startswith("2"):
            self.received.append(envelope)
        return reply

    def stop(self) -> None:
        self.controller.stop()
