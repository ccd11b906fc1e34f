"""What a mail client must be told: which host, port and TLS mode serve each protocol.

Derived from the configuration once, for the three client-setup formats (roost.http
.autoconfig, .autodiscover, .mobileconfig) and `roost dns`. The ports are those Roost
listens on: on a server configured with the standard ports, the standard ones. Implicit
TLS comes first in each protocol (RFC 8314 §3 and §5.1: preferred over STARTTLS); a port set
to 0 is not offered.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from roost.config import Config

__all__ = ["Endpoint", "Protocol", "Security", "endpoints"]


class Protocol(enum.Enum):
    IMAP = "imap"
    POP3 = "pop3"
    SUBMISSION = "smtp"


class Security(enum.Enum):
    TLS = "tls"  # TLS from the first byte (RFC 8314)
    STARTTLS = "starttls"


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    protocol: Protocol
    host: str
    port: int
    security: Security


def endpoints(config: Config) -> list[Endpoint]:
    """Every enabled client-facing listener, implicit TLS first within each protocol."""
    ports = config.ports
    table = (
        (Protocol.IMAP, ports.imaps, Security.TLS),
        (Protocol.IMAP, ports.imap, Security.STARTTLS),
        (Protocol.POP3, ports.pop3s, Security.TLS),
        (Protocol.POP3, ports.pop3, Security.STARTTLS),
        (Protocol.SUBMISSION, ports.submissions, Security.TLS),
        (Protocol.SUBMISSION, ports.submission, Security.STARTTLS),
    )
    return [
        Endpoint(protocol=protocol, host=config.hostname, port=port, security=security)
        for protocol, port, security in table
        if port
    ]


def first(found: list[Endpoint], protocol: Protocol) -> Endpoint | None:
    return next((e for e in found if e.protocol is protocol), None)
