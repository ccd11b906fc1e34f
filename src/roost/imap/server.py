"""The IMAP listeners: the only IMAP code that touches sockets.

Thin by design: read a chunk, feed the session, repeat. During IDLE the connection waits
for two things at once — the client's next bytes (DONE) and the notifier's hint — and
sends a keepalive when neither came for `idle_keepalive` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any

from roost.auth.plaintext import is_loopback
from roost.config import Config
from roost.errors import ProtocolError
from roost.imap.session import Session
from roost.notify.api import Notifier
from roost.proto.deflate import Deflate
from roost.proto.imap.responses import untagged_status
from roost.sessions import LiveSession, Sessions, peer_text
from roost.store.api import Store
from roost.tls import discard_unread

log = logging.getLogger("roost.imap")

READ_SIZE = 65536
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only
# RFC 9051 §5.4: an inactivity autologout timer must be at least 30 minutes.
AUTOLOGOUT = 30 * 60
# Issue 9: a connection must log in within this many seconds of connecting, so a stranger
# cannot hold one open (a byte at a time, or not at all) past it.
LOGIN_WINDOW = 60
TLS_HANDSHAKE_TIMEOUT = 30


class StreamConnection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tls: ssl.SSLContext | None,
        *,
        secure: bool,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.tls = tls
        self.secure = secure
        self.loopback = is_loopback(writer.get_extra_info("peername"))
        self.deflate: Deflate | None = None

    @property
    def compressing(self) -> bool:
        return self.deflate is not None

    async def read(self) -> bytes:
        """The client's next bytes (inflated once COMPRESS is on); b"" at end of stream."""
        self._quickack()
        if self.deflate is None:
            return await self.reader.read(READ_SIZE)
        while not self.deflate.pending:
            data = await self.reader.read(READ_SIZE)
            if not data:
                return b""
            out = self.deflate.decompress(data)
            if out:
                return out
        return self.deflate.more()

    def _quickack(self) -> None:
        # Acknowledge what arrives at once rather than after Linux's delayed-ACK timer
        # (40 ms): a client that writes a literal and then its CRLF in two sends (imaplib,
        # IMAPClient) holds the CRLF back under Nagle until the literal is acknowledged, so
        # every APPEND waited those 40 ms. The kernel drops quick-ack mode by itself, hence
        # before every read.
        sock = self.writer.get_extra_info("socket")
        if sock is not None and _QUICKACK is not None and sock.family != socket.AF_UNIX:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    async def write(self, data: bytes) -> None:
        if self.deflate is not None:
            data = self.deflate.compress(data)
        self.writer.write(data)
        await self.writer.drain()

    def start_compression(self, buffered: bytes) -> bytes:
        """COMPRESS DEFLATE: from now on both directions are deflated. `buffered` is what the
        client already sent after the command (compressed); returns it inflated."""
        self.deflate = Deflate()
        return self.deflate.decompress(buffered) if buffered else b""

    async def start_tls(self) -> None:
        assert self.tls is not None
        discard_unread(self.reader)  # RFC 9051 §6.2.1: nothing sent before TLS counts after it
        await self.writer.start_tls(self.tls, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        self.secure = True

    def goodbye(self, reason: str) -> None:
        """Ends the connection from outside (shutdown, roost kick): RFC 9051 §7.1.5, an
        untagged BYE, then close. Written at once, between two of the session's writes."""
        data = untagged_status("BYE", reason)
        with contextlib.suppress(Exception):
            self.writer.write(self.deflate.compress(data) if self.deflate is not None else data)
        self.writer.close()


class ImapServer:
    """Owns the listening sockets and every connection they accept."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        config: Config,
        tls: ssl.SSLContext | None,
        sessions: Sessions | None = None,
    ) -> None:
        self.sessions = sessions if sessions is not None else Sessions()
        self.store = store
        self.notifier = notifier
        self.config = config
        self.tls = tls
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.StreamWriter] = set()

    async def listen(self, port: int, *, implicit_tls: bool) -> asyncio.Server:
        handler = self._handler(implicit_tls=implicit_tls)
        server = await asyncio.start_server(
            handler,
            self.config.bind,
            port,
            # Implicit TLS is started by the handler, so a failed handshake is logged.
            limit=READ_SIZE,
        )
        self._servers.append(server)
        return server

    def _handler(
        self, *, implicit_tls: bool
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._connections.add(writer)
            try:
                await self.serve_connection(reader, writer, secure=implicit_tls)
            finally:
                self._connections.discard(writer)

        return handle

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, secure: bool
    ) -> None:
        conn = StreamConnection(reader, writer, self.tls, secure=False)
        live = self.sessions.open(
            "imap", peer_text(writer.get_extra_info("peername")), stop=conn.goodbye
        )
        session = Session(
            store=self.store,
            notifier=self.notifier,
            config=self.config,
            connection=conn,
            tls_available=self.tls is not None,
            live=live,
        )
        login_by = asyncio.get_running_loop().time() + LOGIN_WINDOW
        try:
            if secure and not await _handshake(conn, live):
                return
            await session.greet()
            while not session.closed:
                try:
                    data = await self._next_input(session, conn, login_by)
                except TimeoutError:
                    # RFC 9051 §7.1.5: BYE, then the server closes the connection.
                    with contextlib.suppress(ConnectionError, ssl.SSLError):
                        await session.send(untagged_status("BYE", "Autologout; idle too long"))
                    break
                if not data:
                    break
                await session.feed(data)
        except ssl.SSLError as exc:  # a STARTTLS handshake that failed
            live.tls_failed(exc)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except ProtocolError as exc:  # undecodable compressed input: nothing to resync to
            live.protocol_error(exc.text)
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await session.send(untagged_status("BYE", exc.text))
        finally:
            session.close()
            live.close()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _next_input(self, session: Session, conn: StreamConnection, login_by: float) -> bytes:
        if session.account is None:  # before login: the whole window, whatever arrives
            async with asyncio.timeout_at(login_by):
                return await conn.read()
        if session.idling is None or session.listener is None:
            async with asyncio.timeout(AUTOLOGOUT):
                return await conn.read()
        return await self._idle(session, session.listener, conn)

    async def _idle(self, session: Session, listener: Any, conn: StreamConnection) -> bytes:
        read = asyncio.ensure_future(conn.read())
        try:
            while True:
                hinted = asyncio.ensure_future(listener.wait())
                try:
                    done, _ = await asyncio.wait(
                        {read, hinted},
                        timeout=self.config.idle_keepalive,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    hinted.cancel()
                if hinted in done:
                    started = time.monotonic()
                    await session.push()
                    self.sessions.metrics.push.observe(time.monotonic() - started)
                    if session.closed:
                        return b""
                if read in done:
                    return read.result()
                if not done:
                    await session.keepalive()
        finally:
            read.cancel()

    async def close(self) -> None:
        """Stops listening; every connection still open gets `* BYE` and is closed."""
        for server in self._servers:
            server.close()
        for writer in list(self._connections):
            writer.close()  # those the session table no longer has (closing already)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()


async def _handshake(conn: StreamConnection, live: LiveSession) -> bool:
    """Implicit TLS (port 993): the handshake before the greeting. A failure is one WARNING
    line (roost.sessions), never a traceback."""
    try:
        await conn.start_tls()
    except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
        live.tls_failed(exc)
        return False
    return True
