"""The live sessions of this server, as an operator sees them, and their log lines.

Theory of operation
-------------------
Every connection a listener accepts opens a `LiveSession` in the server's `Sessions`
table: a short random id, the protocol, the peer address, and once it logs in the account
(and the client's name, from IMAP ID). The protocol code reports what happens at the few
points where it happens (login succeeded, failed or refused; a command answered; a
protocol error; the connection's end); the LiveSession turns each into one log line
(roost.logs) and the matching metrics (roost.metrics). The table answers `roost status`
and `roost kick` (through roost.http.control), and ends every session at shutdown: each
protocol registers a `stop(reason)` that says goodbye its own way (IMAP `* BYE`, POP3
`-ERR`, SMTP `421`) and closes the connection.

Log lines (all carry session=, protocol=, peer=):

    connect                                                        INFO
    login ok        account= mechanism=                            INFO
    login failed    user= mechanism= reason=                       WARNING (fail2ban)
    logout          account= duration= commands=                   INFO
    protocol error  text=                                          DEBUG
    tls failed      error=                                         WARNING, no traceback

Deliveries, submissions and relay attempts are server-wide events (`Sessions.delivery`,
...), carrying the session id when a session made them.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from roost.logs import event
from roost.metrics import Metrics

__all__ = ["LiveSession", "SessionInfo", "Sessions", "peer_text"]

log = logging.getLogger("roost.sessions")

Stop = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionInfo:
    """One line of `roost status`."""

    id: str
    protocol: str
    peer: str
    account: str | None
    client: str | None
    since: datetime
    commands: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "protocol": self.protocol,
            "peer": self.peer,
            "account": self.account,
            "client": self.client,
            "since": self.since.isoformat(timespec="seconds"),
            "commands": self.commands,
        }


def peer_text(peername: object) -> str:
    """The peer's address from a socket's peername: the IP for TCP, "local" for a Unix
    socket (an MTA on this machine)."""
    if isinstance(peername, tuple) and peername:
        return str(peername[0])
    return "local"


class LiveSession:
    """One connection, from accept to close."""

    def __init__(
        self,
        *,
        protocol: str,
        peer: str,
        table: Sessions | None = None,
        stop: Stop | None = None,
    ) -> None:
        self.id = secrets.token_hex(4)
        self.protocol = protocol
        self.peer = peer
        self.account: str | None = None
        self.client: str | None = None
        self.commands = 0
        self.since = datetime.now(UTC)
        self._started = time.monotonic()
        self._table = table
        self._stop = stop
        self._closed = False
        self.metrics = table.metrics if table is not None else None
        self._log = logging.getLogger(f"roost.{protocol}")

    def _event(self, level: int, name: str, **fields: str | int | float | None) -> None:
        event(
            self._log,
            level,
            name,
            session=self.id,
            protocol=self.protocol,
            peer=self.peer,
            **fields,
        )

    # --- what the protocol reports
    def connected(self) -> None:
        self._event(logging.INFO, "connect")
        if self.metrics is not None:
            self.metrics.connections.labels(self.protocol).inc()
            self.metrics.sessions.labels(self.protocol).inc()

    def login_ok(self, account: str, mechanism: str) -> None:
        self.account = account
        self._event(logging.INFO, "login ok", account=account, mechanism=mechanism)
        if self.metrics is not None:
            self.metrics.logins.labels(self.protocol, "ok").inc()

    def login_failed(self, user: str, mechanism: str, reason: str) -> None:
        """A refused login, in the form deploy/fail2ban/roost.conf matches."""
        self._event(logging.WARNING, "login failed", user=user, mechanism=mechanism, reason=reason)
        if self.metrics is not None:
            self.metrics.logins.labels(self.protocol, "failed").inc()

    def login_refused(self, account: str, mechanism: str, service: str) -> None:
        """Right password, but the account may not use this service: no fail2ban match."""
        self._event(
            logging.INFO,
            "login refused",
            account=account,
            mechanism=mechanism,
            reason=f"no {service} service for this account",
        )
        if self.metrics is not None:
            self.metrics.logins.labels(self.protocol, "refused").inc()

    def named(self, client: str) -> None:
        """The client said who it is (IMAP ID, RFC 2971)."""
        self.client = client
        self._event(logging.INFO, "client", client=client)

    def command(self, name: str, seconds: float) -> None:
        self.commands += 1
        if self.metrics is not None:
            self.metrics.commands.labels(self.protocol, name).observe(seconds)

    def protocol_error(self, text: str) -> None:
        self._event(logging.DEBUG, "protocol error", text=text)

    def tls_failed(self, error: BaseException) -> None:
        self._event(logging.WARNING, "tls failed", error=_tls_error(error))
        if self.metrics is not None:
            self.metrics.tls_failures.labels(self.protocol).inc()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        duration = time.monotonic() - self._started
        self._event(
            logging.INFO,
            "logout" if self.account else "disconnect",
            account=self.account,
            duration=round(duration, 3),
            commands=self.commands,
        )
        if self._table is not None:
            self._table.forget(self)
        if self.metrics is not None:
            self.metrics.sessions.labels(self.protocol).dec()

    def stop(self, reason: str) -> None:
        """Ends the session from outside (kick, shutdown): its protocol's goodbye."""
        if self._stop is not None and not self._closed:
            self._stop(reason)

    def info(self) -> SessionInfo:
        return SessionInfo(
            id=self.id,
            protocol=self.protocol,
            peer=self.peer,
            account=self.account,
            client=self.client,
            since=self.since,
            commands=self.commands,
        )


def _tls_error(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "handshake timed out"
    reason = getattr(error, "reason", None)
    return str(reason) if reason else (str(error) or type(error).__name__)


class Sessions:
    """The live sessions of this server process, and its server-wide events."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics if metrics is not None else Metrics()
        self._live: dict[str, LiveSession] = {}

    def open(self, protocol: str, peer: str, stop: Stop | None = None) -> LiveSession:
        session = LiveSession(protocol=protocol, peer=peer, table=self, stop=stop)
        self._live[session.id] = session
        session.connected()
        return session

    def forget(self, session: LiveSession) -> None:
        self._live.pop(session.id, None)

    def list(self) -> list[SessionInfo]:
        return sorted((s.info() for s in self._live.values()), key=lambda i: i.since)

    def kick(self, account: str, reason: str = "Disconnected by the administrator") -> int:
        """Ends every session logged in as account; returns how many."""
        chosen = [s for s in self._live.values() if s.account == account]
        for session in chosen:
            log.info("kicking session %s of %s", session.id, account)
            session.stop(reason)
        return len(chosen)

    def tls_failed(self, protocol: str, peer: str, error: BaseException) -> None:
        """A TLS handshake failed before any session began (implicit TLS)."""
        session = LiveSession(protocol=protocol, peer=peer)
        session.metrics = self.metrics
        session.tls_failed(error)

    def stop_all(self, reason: str) -> None:
        for session in list(self._live.values()):
            session.stop(reason)

    # --- server-wide events
    def delivery(
        self,
        *,
        protocol: str,
        session: str | None,
        sender: str,
        recipient: str,
        size: int,
        message_id: str | None,
        reply: str,
    ) -> None:
        ok = reply.startswith("2")
        result = "delivered" if ok else ("deferred" if reply.startswith("4") else "refused")
        event(
            logging.getLogger("roost.delivery"),
            logging.INFO if ok else logging.WARNING,
            "delivery",
            session=session,
            protocol=protocol,
            sender=sender or "<>",
            recipient=recipient,
            size=size,
            message_id=message_id,
            result=result,
            reply=reply,
        )
        self.metrics.deliveries.labels(protocol, result).inc()

    def submission(
        self,
        *,
        session: str,
        account: str,
        sender: str,
        recipients: int,
        size: int,
        message_id: str | None,
        result: str,
    ) -> None:
        event(
            logging.getLogger("roost.submission"),
            logging.INFO if result == "accepted" else logging.WARNING,
            "submission",
            session=session,
            account=account,
            sender=sender or "<>",
            recipients=recipients,
            size=size,
            message_id=message_id,
            result=result,
        )
        self.metrics.submissions.labels(result).inc()

    def relay(self, *, sender: str, recipient: str, attempt: int, reply: str) -> None:
        code = reply[:1]
        result = {"2": "sent", "4": "deferred"}.get(code, "failed")
        event(
            logging.getLogger("roost.relay"),
            logging.INFO if result == "sent" else logging.WARNING,
            "relay",
            sender=sender or "<>",
            recipient=recipient,
            attempt=attempt,
            result=result,
            reply=reply,
        )
        self.metrics.relays.labels(result).inc()
