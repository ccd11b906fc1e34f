"""Rendering of server responses (RFC 9051 §7) to bytes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from roost.proto.imap.cursor import MONTHS as _MONTHS

CRLF = b"\r\n"


def tagged(tag: str, status: str, text: str, code: str | None = None) -> bytes:
    """`tag OK [CODE] text`; status is OK, NO or BAD."""
    return f"{tag} {status} {_code(code)}{_one_line(text)}\r\n".encode()


def untagged(text: str | bytes) -> bytes:
    body = text if isinstance(text, bytes) else text.encode()
    return b"* " + body + CRLF


def untagged_status(status: str, text: str, code: str | None = None) -> bytes:
    return f"* {status} {_code(code)}{_one_line(text)}\r\n".encode()


def continuation(text: str = "") -> bytes:
    return f"+ {_one_line(text)}\r\n".encode()


def flag_list(flags: Iterable[str]) -> str:
    return "(" + " ".join(sorted(flags, key=_flag_order)) + ")"


def internaldate(when: datetime) -> bytes:
    """RFC 9051 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day space-padded)."""
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    month = _MONTHS[when.month - 1].capitalize()
    return (
        f'"{when.day:2d}-{month}-{when.year:04d} {when:%H:%M:%S} {sign}{hh:02d}{mm:02d}"'
    ).encode()


def _flag_order(flag: str) -> tuple[int, str]:
    return (0 if flag.startswith("\\") else 1, flag)


def _code(code: str | None) -> str:
    return f"[{code}] " if code else ""


def _one_line(text: str) -> str:
    # Response text is a single line: never let a value smuggle a CRLF in.
    return text.replace("\r", " ").replace("\n", " ")
