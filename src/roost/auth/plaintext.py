"""When a password may travel in the clear: the one rule every protocol applies.

IMAP LOGIN and AUTHENTICATE PLAIN (RFC 9051 §6.2.3), SMTP AUTH (RFC 4954 §4) and POP3
USER/PASS and AUTH PLAIN (RFC 2595 §4) take a password only over TLS, or, if the
configuration allows it, from this machine, where there is no wire to listen on.
"""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback", "password_allowed"]


def is_loopback(peer: object) -> bool:
    """Whether a socket's peer name (asyncio's "peername" extra) is this machine."""
    if isinstance(peer, str | bytes):
        return True  # a Unix socket is this machine too
    try:
        return ipaddress.ip_address(peer[0]).is_loopback  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return False


def password_allowed(*, secure: bool, loopback: bool, allow_on_loopback: bool) -> bool:
    """A password may be sent over TLS, or from this machine if the configuration says so
    (`allow_plaintext_auth_on_loopback`)."""
    return secure or (loopback and allow_on_loopback)
