"""The socket side the line protocols share (IMAP, POP3): one connection over asyncio
streams, the listeners that own the sockets and the connections they accepted, and the
handshake of implicit TLS.

Each protocol's server module subclasses these for what is its own (IMAP's COMPRESS, each
protocol's goodbye) and keeps its read loop; everything here is written once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from roost.auth.plaintext import is_loopback
from roost.auth.throttle import Throttle, ThrottlePolicy
from roost.config import Config
from roost.sessions import LiveSession, Sessions
from roost.tls import discard_unread

__all__ = ["READ_SIZE", "TLS_HANDSHAKE_TIMEOUT", "Listeners", "StreamConnection", "handshake"]

READ_SIZE = 65536
TLS_HANDSHAKE_TIMEOUT = 30
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class StreamConnection:
    """A client's connection: what a session needs from the socket side."""

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
        """The client's next bytes; b"" at end of stream."""
        self._quickack()
        return await self.reader.read(READ_SIZE)

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

    def outgoing(self, data: bytes) -> bytes:
        """Bytes as they go on the wire (IMAP deflates them once COMPRESS is on)."""
        return data

    async def write(self, data: bytes) -> None:
        self.writer.write(self.outgoing(data))
        await self.writer.drain()

    async def start_tls(self) -> None:
        assert self.tls is not None
        discard_unread(self.reader)  # RFC 9051 §6.2.1, RFC 2595 §4
        await self.writer.start_tls(self.tls, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        self.secure = True

    def farewell(self, reason: str) -> bytes:
        """What the protocol says when the server ends the connection on its own."""
        raise NotImplementedError

    def goodbye(self, reason: str) -> None:
        """Ends the connection from outside (shutdown, roost kick): the farewell, written at
        once between two of the session's writes, then close."""
        with contextlib.suppress(Exception):
            self.writer.write(self.outgoing(self.farewell(reason)))
        self.writer.close()


class Listeners:
    """Owns the listening sockets and every connection they accept; a subclass serves
    each connection (`serve_connection`)."""

    def __init__(
        self, *, config: Config, sessions: Sessions | None, throttle: Throttle | None = None
    ) -> None:
        self.config = config
        self.sessions = sessions if sessions is not None else Sessions()
        # Failed logins, server-wide (roost.auth.throttle); roost.app shares one with SMTP.
        self.throttle = throttle or Throttle(ThrottlePolicy.from_config(config))
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
        raise NotImplementedError

    async def close(self) -> None:
        """Stops listening and closes every connection still open (the sessions' goodbyes
        went out through the session table before this)."""
        for server in self._servers:
            server.close()
        for writer in list(self._connections):
            writer.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()


async def handshake(conn: StreamConnection, live: LiveSession) -> bool:
    """Implicit TLS (IMAPS, POP3S): the handshake before the greeting. A failure is one
    WARNING line (roost.sessions), never a traceback."""
    try:
        await conn.start_tls()
    except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
        live.tls_failed(exc)
        return False
    return True
