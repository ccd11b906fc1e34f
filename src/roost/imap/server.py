"""The IMAP listeners: the only IMAP code that touches sockets.

Thin by design: read a chunk, feed the session, repeat. During IDLE the connection waits
for two things at once — the client's next bytes (DONE) and the notifier's hint — and
sends a keepalive when neither came for `idle_keepalive` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from typing import Any

from roost import streams
from roost.auth.connections import ConnectionLimits
from roost.auth.throttle import Throttle
from roost.config import Config
from roost.errors import ProtocolError
from roost.imap.session import Session
from roost.notify.api import Notifier
from roost.proto.deflate import Deflate
from roost.proto.imap.responses import untagged_status
from roost.sessions import Sessions, peer_text
from roost.spool import MemoryBudget
from roost.store.api import Store

log = logging.getLogger("roost.imap")

# RFC 9051 §5.4: an inactivity autologout timer must be at least 30 minutes.
AUTOLOGOUT = 30 * 60
# Issue 9: a connection must log in within this many seconds of connecting, so a stranger
# cannot hold one open (a byte at a time, or not at all) past it.
LOGIN_WINDOW = 60


class StreamConnection(streams.StreamConnection):
    """An IMAP connection: the shared one, with COMPRESS=DEFLATE (RFC 4978)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tls: ssl.SSLContext | None,
        *,
        secure: bool,
    ) -> None:
        super().__init__(reader, writer, tls, secure=secure)
        self.deflate: Deflate | None = None

    @property
    def compressing(self) -> bool:
        return self.deflate is not None

    async def read(self) -> bytes:
        """The client's next bytes (inflated once COMPRESS is on); b"" at end of stream."""
        if self.deflate is None:
            return await super().read()
        while not self.deflate.pending:
            data = await super().read()
            if not data:
                return b""
            out = self.deflate.decompress(data)
            if out:
                return out
        return self.deflate.more()

    def outgoing(self, data: bytes) -> bytes:
        return data if self.deflate is None else self.deflate.compress(data)

    def start_compression(self, buffered: bytes) -> bytes:
        """COMPRESS DEFLATE: from now on both directions are deflated. `buffered` is what the
        client already sent after the command (compressed); returns it inflated."""
        self.deflate = Deflate()
        return self.deflate.decompress(buffered) if buffered else b""

    def farewell(self, reason: str) -> bytes:
        # RFC 9051 §7.1.5: an untagged BYE, then the server closes the connection.
        return untagged_status("BYE", reason)


class ImapServer(streams.Listeners):
    """Owns the IMAP listening sockets and every connection they accept."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        config: Config,
        tls: ssl.SSLContext | None,
        sessions: Sessions | None = None,
        inflight: MemoryBudget | None = None,
        throttle: Throttle | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        super().__init__(config=config, sessions=sessions, throttle=throttle, limits=limits)
        self.store = store
        self.notifier = notifier
        self.tls = tls
        # Message bytes in memory, server-wide (roost.spool); shared with SMTP by roost.app.
        self.inflight = inflight or MemoryBudget(config.max_inflight_bytes)

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
            inflight=self.inflight,
            throttle=self.throttle,
        )
        login_by = asyncio.get_running_loop().time() + LOGIN_WINDOW
        place = None
        try:
            place = await self.admit(conn, live, secure=secure)
            if place is None:
                return
            session.place = place
            await session.greet()
            while not session.closed:
                try:
                    data = await self._next_input(session, conn, login_by)
                except TimeoutError:
                    # RFC 9051 §7.1.5: BYE, then the server closes the connection.
                    with contextlib.suppress(ConnectionError, ssl.SSLError):
                        await session.send(untagged_status("BYE", "Autologout; idle too long"))
                        await session.flush()
                    break
                if not data:
                    break
                await session.feed(data)
        except streams.HandshakeFailed as exc:  # a STARTTLS handshake that failed
            live.tls_failed(exc.cause)
        except ssl.SSLError as exc:  # a TLS record that failed after it
            live.tls_failed(exc)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except ProtocolError as exc:  # undecodable compressed input: nothing to resync to
            live.protocol_error(exc.text)
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await session.send(untagged_status("BYE", exc.text))
                await session.flush()
        finally:
            if place is not None:
                place.close()
            session.close()
            live.close()
            await conn.close()

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
