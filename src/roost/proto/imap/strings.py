"""IMAP string rendering: atom, quoted string or literal, whichever the octets allow.

RFC 9051 §4.3: a quoted string carries 7-bit text without CR, LF or NUL (with `\\` and
`"` escaped); anything else goes in a literal `{n}\\r\\n` followed by the n octets.
8-bit UTF-8 may be quoted only for a client that enabled UTF8=ACCEPT (RFC 9051 §6.3.1),
so that is opt-in. NUL can be sent in neither form and is dropped.
"""

from __future__ import annotations

import re

# RFC 9051 §9: QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials
_QUOTABLE = re.compile(rb"[\x01-\x09\x0b\x0c\x0e-\x7f]*")
_QUOTABLE_UTF8 = re.compile(rb"[\x01-\x09\x0b\x0c\x0e-\xff]*")
# RFC 9051 §9: ASTRING-CHAR = ATOM-CHAR / resp-specials; ATOM-CHAR excludes
# "(" ")" "{" SP CTL "%" "*" DQUOTE "\" and "]".
_ASTRING = re.compile(rb"[!#$&'+-\[\]-z|}~]+")


def _octets(s: str | bytes) -> bytes:
    data = s.encode("utf-8", "replace") if isinstance(s, str) else s
    return data.replace(b"\x00", b"")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def render_string(s: str | bytes, *, utf8: bool = False) -> bytes:
    """A quoted string if the octets allow it, else a literal (RFC 9051 §4.3)."""
    data = _octets(s)
    if _QUOTABLE.fullmatch(data) or (utf8 and _QUOTABLE_UTF8.fullmatch(data) and _is_utf8(data)):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return b"{%d}\r\n%s" % (len(data), data)


def render_nstring(s: str | bytes | None, *, utf8: bool = False) -> bytes:
    """NIL for None, else render_string."""
    return b"NIL" if s is None else render_string(s, utf8=utf8)


def render_astring(s: str | bytes, *, utf8: bool = False) -> bytes:
    """A bare atom when every octet is an ASTRING-CHAR, else render_string.

    "NIL" is quoted all the same, so that no client mistakes it for nil.
    """
    data = _octets(s)
    if _ASTRING.fullmatch(data) and data.upper() != b"NIL":
        return data
    return render_string(data, utf8=utf8)
