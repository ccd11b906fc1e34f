"""POP3 responses as bytes, and a message as RETR and TOP send it (RFC 1939 §3, §11).

    single-line = ("+OK" / "-ERR") [SP text] CRLF     ; RFC 2449 §4: at most 512 octets
    multi-line  = single-line *(dot-stuffed line) "." CRLF
    continue    = "+" SP [base64] CRLF                ; RFC 5034 §4, a SASL challenge

A message travels as lines ended by CRLF. Roost keeps what it was given, so a message that
arrived with bare LF line ends is sent with CRLF, and one whose last line has no line end
gets one: `canonical` is that form, and `wire_size` its length, the size LIST and STAT
report (RFC 1939 §11: the octets the client will have once it undoes the dot-stuffing).
Then each line that begins with "." gets one more in front (`dot_stuff`), and "." CRLF
ends the response.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

__all__ = [
    "canonical",
    "continuation",
    "dot_stuff",
    "err",
    "multiline",
    "ok",
    "top",
    "wire_size",
]

MAX_RESPONSE_LINE = 512  # octets, CRLF included (RFC 2449 §4)
TERMINATOR = b".\r\n"

_BARE_LF = re.compile(rb"(?<!\r)\n")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def ok(text: str = "") -> bytes:
    return _status(b"+OK", text)


def err(text: str) -> bytes:
    return _status(b"-ERR", text)


def continuation(challenge: bytes = b"") -> bytes:
    """A SASL challenge, base64 (PLAIN's is empty: "+ " alone)."""
    return b"+ " + base64.b64encode(challenge) + b"\r\n"


def multiline(text: str, lines: Iterable[str]) -> bytes:
    """+OK text, then each line (a listing, capabilities), then the terminator."""
    body = b"".join(line.encode("utf-8") + b"\r\n" for line in lines)
    return ok(text) + dot_stuff(body)


def canonical(message: bytes) -> bytes:
    """The message as POP3 sends it before dot-stuffing: every line ended by CRLF."""
    out = _BARE_LF.sub(b"\r\n", message)
    if out and not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out


def wire_size(message: bytes) -> int:
    """len(canonical(message)), counted without building it."""
    bare_lf = message.count(b"\n") - message.count(b"\r\n")
    unended = 2 if message and not message.endswith(b"\n") else 0
    return len(message) + bare_lf + unended


def top(message: bytes, lines: int) -> bytes:
    """TOP: the header, the blank line and the first `lines` lines of the body of a
    canonical message; all of it when the body is shorter (RFC 1939 §7)."""
    if message.startswith(b"\r\n"):
        pos = 2  # no header fields at all
    else:
        blank = message.find(b"\r\n\r\n")
        if blank < 0:
            return message  # a header without a body
        pos = blank + 4
    for _ in range(lines):
        end = message.find(b"\n", pos)
        if end < 0:
            return message
        pos = end + 1
    return message[:pos]


def dot_stuff(message: bytes) -> bytes:
    """A canonical message as the lines of a multi-line response, terminator included:
    a line that begins with "." gets another in front (RFC 1939 §3)."""
    stuffed = message.replace(b"\n.", b"\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + TERMINATOR


def _status(status: bytes, text: str) -> bytes:
    if not text:
        return status + b"\r\n"
    # One line, and short enough: texts quote what the client sent at times.
    clean = _LINE_BREAKS.sub(" ", text).encode("utf-8", "replace")
    room = MAX_RESPONSE_LINE - len(status) - 3
    if len(clean) > room:
        clean = clean[: room - 3].decode("utf-8", "ignore").encode() + b"..."
    return status + b" " + clean + b"\r\n"
