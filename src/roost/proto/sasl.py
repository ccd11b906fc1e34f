"""SASL as every protocol carries it: base64 responses and the PLAIN mechanism (RFC 4616).

IMAP (RFC 9051 §6.2.2, SASL-IR RFC 4959), SMTP (RFC 4954) and POP3 (RFC 5034) frame the
exchange differently, but each sends the client's response as one base64 line, "=" for an
empty initial response, and each reads PLAIN's "authzid NUL authcid NUL passwd" the same
way. The framing stays with each protocol; this module is the part they share.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from roost.proto.errors import ProtocolError

__all__ = ["PlainCredentials", "decode_response", "parse_plain"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlainCredentials:
    authzid: str  # "" when the client acts as itself
    authcid: str
    password: str

    @property
    def acts_for_another(self) -> bool:
        """The client asks to act as someone other than the user it authenticates as;
        Roost allows no proxy authorization."""
        return bool(self.authzid) and self.authzid.lower() != self.authcid.lower()


def decode_response(response: bytes | str) -> bytes:
    """A client's base64 response; "=" is the empty initial response (RFC 4959 §3,
    RFC 4954 §4, RFC 5034 §4). ProtocolError if it is not strict base64."""
    text = response.encode("ascii", "replace") if isinstance(response, str) else response
    if text == b"=":
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("invalid base64 in SASL response") from None


def parse_plain(message: bytes) -> PlainCredentials | None:
    """RFC 4616 §2: [authzid] NUL authcid NUL passwd, in UTF-8. None when the message is
    not of that form, which fails the authentication (the protocol says how)."""
    parts = message.split(b"\0")
    if len(parts) != 3 or not parts[1]:
        return None
    try:
        authzid, authcid, password = (part.decode("utf-8") for part in parts)
    except UnicodeDecodeError:
        return None
    return PlainCredentials(authzid=authzid, authcid=authcid, password=password)
