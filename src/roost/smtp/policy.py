"""What every Roost SMTP/LMTP policy shares: its services, EHLO, MAIL and the DATA checks.

aiosmtpd calls `handle_<COMMAND>(server, session, envelope, ...)` on the policy object;
a hook that returns a reply must record what it accepted in the envelope itself.
Envelope addresses are kept normalised (`local@domain`, lower-cased; "" for the null
reverse-path <>).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from roost.auth.accounts import normalise_address
from roost.auth.connections import ConnectionLimits
from roost.auth.throttle import Throttle
from roost.config import Config
from roost.sessions import Sessions
from roost.smtp.message import bare_line_ending, message_id, received_header
from roost.spool import MemoryBudget
from roost.store.api import Store

__all__ = ["SMUGGLING_REPLY", "Policy", "Services", "new_queue_id"]

SMUGGLING_REPLY = (
    "550 5.6.0 Message refused: it contains a bare CR or LF; lines must end with CRLF "
    "(RFC 5321 section 2.3.8)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    store: Store
    config: Config
    wake_queue: Callable[[], None]  # the outbound queue has new entries
    # The server's live sessions, log lines and metrics (roost.sessions).
    sessions: Sessions = field(default_factory=Sessions)
    # The server-wide budget of message bytes in memory (roost.spool); None: one of its own.
    inflight: MemoryBudget | None = None
    # Failed logins, server-wide (roost.auth.throttle); None: none are throttled.
    throttle: Throttle | None = None
    # Connections per address and per account (roost.auth.connections); None: one of its own.
    limits: ConnectionLimits | None = None


def new_queue_id() -> str:
    return secrets.token_hex(8).upper()


class Policy:
    """The shared hooks; subclasses add RCPT and DATA."""

    offers_auth = False  # inbound SMTP and LMTP never take passwords

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self.config = services.config

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        lines = [r for r in responses if self.offers_auth or not r.startswith("250-AUTH")]
        # aiosmtpd reads pipelined commands in order and answers each one (RFC 2920).
        return [*lines[:-1], "250-PIPELINING", "250-ENHANCEDSTATUSCODES", lines[-1]]

    def too_many_recipients(self, envelope: Envelope) -> str | None:
        """RFC 5321 §4.5.3.1.8: at least 100 recipients must be taken; past the configured
        limit, 452 (the client sends the rest in another transaction)."""
        if len(envelope.rcpt_tos) >= self.config.max_recipients:
            return "452 4.5.3 Too many recipients; send the others in another transaction"
        return None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        sender = parse_path(address)
        if sender is None:
            return "553 5.1.7 Malformed sender address"
        refusal = await self.check_sender(session, sender)
        if refusal is not None:
            return refusal
        envelope.mail_from = sender or "<>"  # aiosmtpd takes an empty mail_from as "none yet"
        envelope.mail_options.extend(options)
        return "250 2.1.0 Sender OK"

    async def check_sender(self, session: Session, sender: str) -> str | None:
        """A refusal of this reverse-path, or None."""
        return None

    def check_data(self, envelope: Envelope) -> tuple[bytes, str | None]:
        """(the message, a refusal or None): RFC 5321 §2.3.8 is enforced here."""
        data = envelope.original_content or b""
        if bare_line_ending(data):
            return data, SMUGGLING_REPLY
        return data, None

    def log_delivery(
        self, server: SMTP, envelope: Envelope, recipient: str, data: bytes, reply: str
    ) -> None:
        """One log line (and metric) per recipient's delivery into a local mailbox."""
        live = getattr(server, "live", None)
        self.services.sessions.delivery(
            protocol=getattr(server, "label", "smtp"),
            session=live.id if live is not None else None,
            sender=sender_of(envelope),
            recipient=recipient,
            size=len(data),
            message_id=message_id(data),
            reply=reply,
        )

    def received(
        self, server: SMTP, session: Session, protocol: str, queue_id: str, recipient: str | None
    ) -> bytes:
        secure = bool(getattr(server, "is_secure", lambda: False)())
        keyword = protocol + ("S" if secure else "") + ("A" if session.authenticated else "")
        return received_header(
            helo=session.host_name or "",
            peer=_peer_text(session.peer),
            by=self.config.hostname,
            protocol=keyword,
            queue_id=queue_id,
            recipient=recipient,
            when=datetime.now(UTC),
        )


def sender_of(envelope: Envelope) -> str:
    mail_from = envelope.mail_from or ""
    return "" if mail_from == "<>" else mail_from


def parse_path(address: str) -> str | None:
    """The normalised address of a MAIL/RCPT path ("" for <>), None if it is malformed."""
    if address in ("<>", ""):
        return ""
    try:
        return normalise_address(address)
    except ValueError:
        return None


def _peer_text(peer: Any) -> str:
    if isinstance(peer, tuple) and peer:
        return f"[{peer[0]}]"
    return "local"
