"""The socket side the line protocols share (IMAP, POP3): one connection over asyncio
streams, the listeners that own the sockets and the connections they accepted, and the
handshake of implicit TLS.

Each protocol's server module subclasses these for what is its own (IMAP's COMPRESS, each
protocol's goodbye) and keeps its read loop; everything here is written once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from roost.auth.connections import ConnectionLimits, Place
from roost.auth.plaintext import is_loopback
from roost.auth.throttle import Throttle, ThrottlePolicy
from roost.config import Config
from roost.sessions import LiveSession, Sessions
from roost.tls import discard_unread

__all__ = [
    "READ_SIZE",
    "TLS_HANDSHAKE_TIMEOUT",
    "AcceptErrors",
    "HandshakeFailed",
    "Listeners",
    "StreamConnection",
    "handshake",
]

log = logging.getLogger("roost.streams")

READ_SIZE = 65536
TOO_MANY_FROM_ADDRESS = "Too many connections from your address; try again later"
TLS_HANDSHAKE_TIMEOUT = 30
# Seconds a closing connection may take to flush what it has to send (the goodbye).
CLOSE_WAIT = 2.0
# Seconds the connections' tasks get to finish at shutdown, once told to stop.
STOP_WAIT = 3.0
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class HandshakeFailed(ConnectionError):
    """A TLS handshake (STARTTLS or implicit TLS) that did not complete: refused, reset,
    timed out. Its cause is the one WARNING line the session logs (`LiveSession.tls_failed`)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


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
        self._upgrade: asyncio.Future[None] | None = None
        self._tls_broken = False  # a STARTTLS handshake that did not complete
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
        # Nothing may be read between the discard and the upgrade: bytes read in between
        # would stay in the stream's buffer, neither discarded nor seen by TLS (a lost
        # handshake, or cleartext taken as if it came over TLS). The upgrade resumes reading.
        discard_unread(self.reader)  # RFC 9051 §6.2.1, RFC 2595 §4
        transport = self.writer.transport
        assert isinstance(transport, asyncio.ReadTransport)
        transport.pause_reading()
        # A task of its own, so that goodbye() can cancel it (see there).
        upgrade = asyncio.ensure_future(
            self.writer.start_tls(self.tls, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        )
        self._upgrade = upgrade
        self._tls_broken = True
        try:
            await upgrade
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            raise ConnectionAbortedError("closed by the server during the TLS handshake") from None
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
            raise HandshakeFailed(exc) from exc
        finally:
            self._upgrade = None
        self._tls_broken = False
        self.secure = True

    async def close(self) -> None:
        """Closes the connection and waits (briefly) until it is closed. After a handshake
        that did not complete the stream never hears that its transport closed (the TLS
        layer took it over), so there is nothing to wait for."""
        self.writer.close()
        if self._tls_broken:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_WAIT):
                await self.writer.wait_closed()

    def farewell(self, reason: str) -> bytes:
        """What the protocol says when the server ends the connection on its own."""
        raise NotImplementedError

    def goodbye(self, reason: str) -> None:
        """Ends the connection from outside (shutdown, roost kick): the farewell, written at
        once between two of the session's writes, then close. In the middle of a TLS
        handshake there is nothing to say it with (it would go out in the clear, into the
        client's handshake): the connection is only closed."""
        if self._upgrade is not None:
            # Python 3.11's StreamWriter.start_tls breaks the writer when its transport is
            # closed under it (the handshake "completes" with no transport); cancelling
            # the upgrade closes the transport cleanly and leaves the writer whole.
            self._upgrade.cancel()
            return
        with contextlib.suppress(Exception):
            self.writer.write(self.outgoing(self.farewell(reason)))
        self.writer.close()


class Listeners:
    """Owns the listening sockets and every connection they accept; a subclass serves
    each connection (`serve_connection`)."""

    def __init__(
        self,
        *,
        config: Config,
        sessions: Sessions | None,
        throttle: Throttle | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions if sessions is not None else Sessions()
        self.reuse_port = False  # other workers listen on the same ports (roost.serve)
        # Failed logins and connections per address and account, server-wide
        # (roost.auth.throttle, roost.auth.connections); roost.app shares them with SMTP.
        self.throttle = throttle or Throttle(ThrottlePolicy.from_config(config))
        self.limits = limits or ConnectionLimits.from_config(config)
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    async def listen(self, port: int, *, implicit_tls: bool) -> asyncio.Server:
        server = await asyncio.start_server(
            self._handler(implicit_tls=implicit_tls),
            self.config.bind,
            port,
            # Implicit TLS is started by the handler, so a failed handshake is logged.
            limit=READ_SIZE,
            reuse_port=self.reuse_port or None,
        )
        self._servers.append(server)
        return server

    def _handler(
        self, *, implicit_tls: bool
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._connections.add(writer)
            self._tasks.add(task)
            try:
                await self.serve_connection(reader, writer, secure=implicit_tls)
            except asyncio.CancelledError:
                if not self._closing:
                    raise
                # Cancelled by close() at shutdown: the connection is closed, and asyncio
                # would log a cancelled connection task as an error.
                writer.close()
            finally:
                self._connections.discard(writer)
                self._tasks.discard(task)

        return handle

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, secure: bool
    ) -> None:
        raise NotImplementedError

    async def admit(
        self, conn: StreamConnection, live: LiveSession, *, secure: bool
    ) -> Place | None:
        """The connection's place in the connection limits (roost.auth.connections), after
        the handshake of implicit TLS. None when it has none: it was told why (if the
        handshake went through), and the caller closes it."""
        place = self.limits.connect(live.peer)
        if secure and not await handshake(conn, live):
            if place is not None:
                place.close()
            return None
        if place is None:
            live.protocol_error(TOO_MANY_FROM_ADDRESS)
            with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
                await conn.write(conn.farewell(TOO_MANY_FROM_ADDRESS))
        return place

    async def close(self) -> None:
        """Stops listening and closes every connection still open (the sessions' goodbyes
        went out through the session table before this), then waits for the connections'
        tasks: STOP_WAIT seconds at most, after which those left (a session in the middle
        of a store call, say) are cancelled. Whatever clients do, this returns within a
        few seconds."""
        self._closing = True
        for server in self._servers:
            server.close()
        for writer in list(self._connections):
            writer.close()
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=STOP_WAIT)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=STOP_WAIT)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()


async def handshake(conn: StreamConnection, live: LiveSession) -> bool:
    """Implicit TLS (IMAPS, POP3S): the handshake before the greeting. A failure is one
    WARNING line (roost.sessions), never a traceback."""
    try:
        await conn.start_tls()
    except HandshakeFailed as exc:
        live.tls_failed(exc.cause)
        return False
    except ConnectionError:  # the server is stopping
        return False
    return True


class AcceptErrors:
    """Running out of file descriptors, as one line a minute instead of a flood.

    asyncio's accept loop, when accept() fails with EMFILE, ENFILE, ENOBUFS or ENOMEM, stops
    accepting on that socket for a second (the connections wait in the kernel's backlog)
    and hands the error to the loop's exception handler, which logs a traceback, once for
    every accept it tries in that turn: up to the listen backlog, every second, on every
    listener (8,000 tracebacks a second, 738 MB of log in 4 minutes). Installed as the
    loop's exception handler, this says so once (WARNING, no traceback) and then once a
    minute with how many refusals there were; anything else goes to the handler before it.
    """

    MESSAGE = "socket.accept() out of system resource"
    EVERY = 60.0  # seconds between two lines while it lasts

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.previous = loop.get_exception_handler()
        self.refused = 0
        self._last: float | None = None

    @classmethod
    def install(cls, loop: asyncio.AbstractEventLoop) -> AcceptErrors:
        handler = cls(loop)
        loop.set_exception_handler(handler)
        return handler

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != self.MESSAGE:
            if self.previous is not None:
                self.previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        self.refused += 1
        now = loop.time()
        if self._last is not None and now - self._last < self.EVERY:
            return
        self._last = now
        error = context.get("exception")
        log.warning(
            "cannot accept connections: %s; they wait, and accepting resumes each second "
            "(%d refused accepts so far; raise LimitNOFILE if this lasts)",
            getattr(error, "strerror", None) or error,
            self.refused,
        )
