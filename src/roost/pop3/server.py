"""The POP3 listeners: the only POP3 code that touches sockets.

Thin by design: read a chunk, feed the session, repeat, until QUIT, the client closing, or
AUTOLOGOUT seconds without a command (RFC 1939 §3); the last two end the session without
the UPDATE state, so they delete nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from roost.auth.plaintext import is_loopback
from roost.config import Config
from roost.pop3.maildrop import WireSizes
from roost.pop3.session import Session
from roost.proto.pop3.responses import err
from roost.sessions import LiveSession, Sessions, peer_text
from roost.store.api import Store
from roost.tls import discard_unread

log = logging.getLogger("roost.pop3")

READ_SIZE = 65536
# RFC 1939 §3: an inactivity autologout timer must be at least 10 minutes.
AUTOLOGOUT = 10 * 60
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

    async def read(self) -> bytes:
        return await self.reader.read(READ_SIZE)

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def start_tls(self) -> None:
        assert self.tls is not None
        discard_unread(self.reader)  # RFC 2595 §4: nothing sent before TLS counts after it
        await self.writer.start_tls(self.tls, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        self.secure = True

    def goodbye(self, reason: str) -> None:
        """Ends the connection from outside (shutdown, roost kick). POP3 has no unsolicited
        reply; a -ERR (RFC 2449 §8.1.2, [SYS/TEMP]: a transient failure) is what clients
        print, and nothing marked DELE is removed (no UPDATE state)."""
        with contextlib.suppress(Exception):
            self.writer.write(err(f"[SYS/TEMP] {reason}"))
        self.writer.close()


class PopServer:
    """Owns the listening sockets and every connection they accept."""

    def __init__(
        self,
        *,
        store: Store,
        config: Config,
        tls: ssl.SSLContext | None,
        sessions: Sessions | None = None,
    ) -> None:
        self.sessions = sessions if sessions is not None else Sessions()
        self.store = store
        self.config = config
        self.tls = tls
        self.sizes = WireSizes()
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.StreamWriter] = set()

    async def listen(self, port: int, *, implicit_tls: bool) -> asyncio.Server:
        server = await asyncio.start_server(
            self._handler(implicit_tls=implicit_tls),
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
            "pop3", peer_text(writer.get_extra_info("peername")), stop=conn.goodbye
        )
        session = Session(
            store=self.store,
            config=self.config,
            connection=conn,
            tls_available=self.tls is not None,
            sizes=self.sizes,
            live=live,
        )
        try:
            if secure and not await _handshake(conn, live):
                return
            await session.greet()
            while not session.closed:
                async with asyncio.timeout(AUTOLOGOUT):
                    data = await conn.read()
                if not data:
                    break
                await session.feed(data)
        except ssl.SSLError as exc:  # an STLS handshake that failed
            live.tls_failed(exc)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            session.close()
            live.close()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._connections):
            writer.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()


async def _handshake(conn: StreamConnection, live: LiveSession) -> bool:
    """Implicit TLS (port 995): the handshake before the greeting. A failure is one WARNING
    line (roost.sessions), never a traceback."""
    try:
        await conn.start_tls()
    except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
        live.tls_failed(exc)
        return False
    return True
