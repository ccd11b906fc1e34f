"""One POP3 connection's state machine (RFC 1939 §3) and command dispatch.

Theory of operation
-------------------
The server feeds the session raw bytes (`feed`); the session's Receiver turns them into
events, and each command is answered in order (clients may pipeline, RFC 2449 §6.6).
`COMMANDS` is the one table: for each command, its handler and the states that may run it.
A handler returns the whole reply as bytes (a multi-line one already dot-stuffed), which
the session writes in chunks with back-pressure (STLS answers before the handshake
itself, and returns nothing more to send).

    AUTHORIZATION --USER/PASS or AUTH ok--> TRANSACTION --QUIT--> UPDATE (closes)
          |                                      |
          +--QUIT (closes, nothing changes)      +--connection lost: closes, nothing changes

Entering TRANSACTION takes the maildrop snapshot (roost.pop3.maildrop); only QUIT from
TRANSACTION writes deletions to the store, so a dropped connection deletes nothing.

Errors are mapped once here: ProtocolError -> -ERR with its text, MailError -> -ERR with
an RFC 2449/3206 response code where one fits, anything else is a bug -> logged with its
traceback, -ERR [SYS/TEMP] with a fixed text.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from roost.auth.connections import Place
from roost.auth.plaintext import password_allowed
from roost.auth.throttle import Throttle
from roost.config import Config
from roost.errors import MailError, MailErrorKind, ProtocolError
from roost.pop3 import authorization, transaction
from roost.pop3.maildrop import Maildrop, WireSizes
from roost.proto.pop3 import commands as p
from roost.proto.pop3.receiver import NEED_DATA, BadCommand, RawLine, Receiver
from roost.proto.pop3.responses import err, ok
from roost.sessions import LiveSession
from roost.store.api import Account, Store

log = logging.getLogger("roost.pop3")

WRITE_CHUNK = 64 * 1024


class State(enum.Enum):
    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    UPDATE = "update"


class Connection(Protocol):
    """What the session needs from the socket side."""

    secure: bool  # TLS is active
    loopback: bool  # the peer is on this machine

    async def write(self, data: bytes) -> None: ...
    async def start_tls(self) -> None: ...


Handler = Callable[[Any, Any], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class Rule:
    handler: Handler
    states: frozenset[State]


_AUTHORIZATION = frozenset({State.AUTHORIZATION})
_TRANSACTION = frozenset({State.TRANSACTION})
_BOTH = _AUTHORIZATION | _TRANSACTION

# Which state may run which command, and what runs it (RFC 1939 §4-§7, RFC 2449 §5,
# RFC 2595 §4, RFC 5034 §4).
COMMANDS: dict[type[p.Command], Rule] = {
    p.Capa: Rule(authorization.capa, _BOTH),
    p.Noop: Rule(transaction.noop, _TRANSACTION),
    p.Quit: Rule(transaction.quit_, _BOTH),
    p.Stls: Rule(authorization.stls, _AUTHORIZATION),
    p.User: Rule(authorization.user, _AUTHORIZATION),
    p.Pass: Rule(authorization.pass_, _AUTHORIZATION),
    p.Auth: Rule(authorization.auth, _AUTHORIZATION),
    p.Stat: Rule(transaction.stat, _TRANSACTION),
    p.List: Rule(transaction.list_, _TRANSACTION),
    p.Uidl: Rule(transaction.uidl, _TRANSACTION),
    p.Retr: Rule(transaction.retr, _TRANSACTION),
    p.Top: Rule(transaction.top, _TRANSACTION),
    p.Dele: Rule(transaction.dele, _TRANSACTION),
    p.Rset: Rule(transaction.rset, _TRANSACTION),
}

# RFC 2449 §8 / RFC 3206 response codes for the store's refusals that have one.
_CODES = {
    MailErrorKind.IN_USE: "IN-USE",
    MailErrorKind.AUTH_FAILED: "AUTH",
    MailErrorKind.LIMIT: "SYS/TEMP",
    MailErrorKind.UNAVAILABLE: "SYS/TEMP",  # RFC 3206 §4: a temporary system failure
}


class Session:
    def __init__(
        self,
        *,
        store: Store,
        config: Config,
        connection: Connection,
        tls_available: bool,
        sizes: WireSizes,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        live: LiveSession | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.throttle = throttle  # failed logins, server-wide (roost.auth.throttle)
        # This connection's place in the per-address and per-account counts (set by the
        # server; roost.auth.connections); None: not counted.
        self.place: Place | None = None
        # The operator's view of this connection: log lines, metrics (roost.sessions).
        self.live = live if live is not None else LiveSession(protocol="pop3", peer="local")
        self.store = store
        self.config = config
        self.conn = connection
        self.tls_available = tls_available
        self.sizes = sizes
        self.sleep = sleep  # the delay after a wrong password
        self.receiver = Receiver(max_line=config.max_line_length)
        self.state = State.AUTHORIZATION
        self.account: Account | None = None
        self.maildrop: Maildrop | None = None
        self.user: str | None = None  # USER given, PASS expected
        self.failures = 0  # wrong passwords on this connection
        self.closed = False

    # --- I/O entry points ---------------------------------------------------------
    async def greet(self) -> None:
        await self.send(ok("Roost POP3 ready"))

    async def feed(self, data: bytes) -> None:
        self.receiver.receive_data(data)
        while not self.closed:
            event = self.receiver.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, BadCommand):
                self.live.protocol_error(event.text)
                reply = err(event.text)
            elif isinstance(event, RawLine):
                reply = await self._guard(authorization.finish_auth(self, event.line))
            else:
                reply = await self._command(event)
            await self.send(reply)
            if self.state is State.UPDATE:
                self.close()  # RFC 1939 §6: after QUIT's reply, whatever it was

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(data), WRITE_CHUNK):
            await self.conn.write(bytes(view[start : start + WRITE_CHUNK]))

    # --- dispatch -------------------------------------------------------------------
    async def _command(self, command: p.Command) -> bytes:
        rule = COMMANDS[type(command)]
        if self.state not in rule.states:
            return err("Log in first" if self.state is State.AUTHORIZATION else "Already logged in")
        started = time.monotonic()
        reply = await self._guard(rule.handler(self, command))
        self.live.command(type(command).__name__.upper(), time.monotonic() - started)
        return reply

    async def _guard(self, call: Awaitable[bytes]) -> bytes:
        try:
            return await call
        except (ConnectionError, ssl.SSLError):
            raise  # the connection failed (a reset, an STLS handshake): not a bug
        except ProtocolError as exc:
            return err(exc.text)
        except MailError as exc:
            code = _CODES.get(exc.kind)
            return err(f"[{code}] {exc.text}" if code else exc.text)
        except Exception:
            log.exception("bug while handling a POP3 command")
            return err("[SYS/TEMP] Internal error; the incident was logged")

    # --- helpers for handlers --------------------------------------------------------
    def may_authenticate(self) -> bool:
        """RFC 2595 §4: no cleartext passwords on the wire, except from this machine."""
        return password_allowed(
            secure=self.conn.secure,
            loopback=self.conn.loopback,
            allow_on_loopback=self.config.allow_plaintext_auth_on_loopback,
        )

    def logged_in(self, account: Account, maildrop: Maildrop) -> None:
        self.account = account
        self.maildrop = maildrop
        self.state = State.TRANSACTION

    def enter_update(self) -> None:
        self.state = State.UPDATE

    def close(self) -> None:
        """The connection ends: the DELE marks go with the snapshot, unapplied."""
        self.maildrop = None
        self.closed = True
