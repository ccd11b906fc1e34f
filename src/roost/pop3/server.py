"""The POP3 listeners: the only POP3 code that touches sockets.

Thin by design: read a chunk, feed the session, repeat, until QUIT, the client closing, or
AUTOLOGOUT seconds without a command (RFC 1939 §3); the last two end the session without
the UPDATE state, so they delete nothing.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from roost import streams
from roost.auth.connections import ConnectionLimits
from roost.auth.throttle import Throttle
from roost.config import Config
from roost.pop3.maildrop import WireSizes
from roost.pop3.session import Session
from roost.proto.pop3.responses import err
from roost.sessions import Sessions, peer_text
from roost.store.api import Store

log = logging.getLogger("roost.pop3")

# RFC 1939 §3: an inactivity autologout timer must be at least 10 minutes.
AUTOLOGOUT = 10 * 60


class StreamConnection(streams.StreamConnection):
    """A POP3 connection: the shared one, with POP3's goodbye."""

    def farewell(self, reason: str) -> bytes:
        # POP3 has no unsolicited reply; a -ERR (RFC 2449 §8.1.2, [SYS/TEMP]: a transient
        # failure) is what clients print, and nothing marked DELE is removed (no UPDATE).
        return err(f"[SYS/TEMP] {reason}")


class PopServer(streams.Listeners):
    """Owns the POP3 listening sockets and every connection they accept."""

    def __init__(
        self,
        *,
        store: Store,
        config: Config,
        tls: ssl.SSLContext | None,
        sessions: Sessions | None = None,
        throttle: Throttle | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        super().__init__(config=config, sessions=sessions, throttle=throttle, limits=limits)
        self.store = store
        self.tls = tls
        self.sizes = WireSizes()

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
            throttle=self.throttle,
        )
        place = None
        try:
            place = await self.admit(conn, live, secure=secure)
            if place is None:
                return
            session.place = place
            await session.greet()
            while not session.closed:
                async with asyncio.timeout(AUTOLOGOUT):
                    data = await conn.read()
                if not data:
                    break
                await session.feed(data)
        except streams.HandshakeFailed as exc:  # an STLS handshake that failed
            live.tls_failed(exc.cause)
        except ssl.SSLError as exc:  # a TLS record that failed after it
            live.tls_failed(exc)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            if place is not None:
                place.close()
            session.close()
            live.close()
            await conn.close()
