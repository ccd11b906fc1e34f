"""The cursor the IMAP grammar rules read with (RFC 9051 §9 formal syntax).

The input is the receiver's segments: line text with literal payloads between them (a
literal always ends its line). A `Cursor` walks them; each grammar rule is a small
function. Everything malformed raises ProtocolError carrying the tag once it is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from roost.proto.errors import ProtocolError
from roost.proto.imap.seqset import SeqSet


@dataclass(frozen=True, slots=True)
class Literal:
    data: bytes
    binary: bool = False


class Spool(Protocol):
    """Where the receiver writes a large literal as it arrives (the session gives it a
    temporary file). The codec only writes; the session reads it back."""

    def write(self, data: bytes, /) -> int: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def read(self, size: int = -1, /) -> bytes: ...
    def flush(self) -> None: ...


@dataclass(frozen=True, slots=True, eq=False)
class SpooledLiteral:
    """A literal too large to keep in memory (an APPENDed message): its octets are in
    `spool`. Only a message may be one; as any other string it is refused."""

    spool: Spool
    size: int
    binary: bool = False


# ABNF, RFC 9051 §9:
#   atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
#   ATOM-CHAR     = <any CHAR except atom-specials>; ASTRING-CHAR = ATOM-CHAR / resp-specials
#   list-char     = ATOM-CHAR / list-wildcards / resp-specials
# 8-bit octets are let through (UTF-8 in IMAP4rev2); the session decides what they mean.
ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\\]]+')
ASTRING_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\]+')
LIST_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f"\\]+')
TAG = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\+]+')
# No client needs more, and a keyword is stored with every message that carries it.
MAX_TAG = 1024
MAX_ATOM = 1024
# quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR is a CHAR (%x01-7F, no NUL) or UTF-8.
_QUOTED = re.compile(rb'"((?:[^"\\\r\n\x00]|\\["\\])*)"')
_NUMBER = re.compile(rb"\d{1,20}")
_SEQSET = re.compile(rb"[\d*:,]+|\$")
_FETCH_NAME = re.compile(rb"[A-Za-z0-9.]+")
_SECTION_PART = re.compile(rb"\d+(?:\.\d+)*")
BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_DATE = re.compile(rb"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_DATETIME = re.compile(
    rb'"([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"'
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MAX_NUMBER = 2**32 - 1
MAX_NUMBER64 = 2**63 - 1


class Cursor:
    """A read position over the segments of one command."""

    def __init__(self, segments: Sequence[bytes | Literal | SpooledLiteral]) -> None:
        self.segments = segments
        self.index = 0
        self.pos = 0
        self.tag: str | None = None
        first = segments[0]
        self.line: bytes = first if isinstance(first, bytes) else b""

    def fail(self, text: str) -> ProtocolError:
        return ProtocolError(text, tag=self.tag)

    def peek(self) -> bytes:
        return self.line[self.pos : self.pos + 1]

    def at_end(self) -> bool:
        return self.pos >= len(self.line) and self.index + 1 >= len(self.segments)

    def end(self) -> None:
        if not self.at_end():
            rest = self.line[self.pos : self.pos + 20].decode("utf-8", "replace")
            raise self.fail(f"unexpected characters at the end: {rest!r}")

    def take(self, token: bytes) -> bool:
        """Consumes `token` (case-insensitive) if it comes next."""
        end = self.pos + len(token)
        if self.line[self.pos : end].upper() == token:
            self.pos = end
            return True
        return False

    def expect(self, token: bytes, what: str | None = None) -> None:
        if not self.take(token):
            raise self.fail(f"expected {what or token.decode()!r}")

    def sp(self) -> None:
        self.expect(b" ", "space")

    def match(self, pattern: re.Pattern[bytes], what: str) -> bytes:
        m = pattern.match(self.line, self.pos)
        if m is None:
            raise self.fail(f"expected {what}")
        self.pos = m.end()
        return m.group()

    def literal(self) -> Literal | SpooledLiteral | None:
        if self.pos >= len(self.line) and self.index + 1 < len(self.segments):
            payload = self.segments[self.index + 1]
            assert isinstance(payload, Literal | SpooledLiteral)
            self.index += 2
            nxt = self.segments[self.index] if self.index < len(self.segments) else b""
            self.line = nxt if isinstance(nxt, bytes) else b""
            self.pos = 0
            return payload
        return None

    # --- strings
    def string_bytes(self, atom: re.Pattern[bytes] | None = None, what: str = "string") -> bytes:
        lit = self.literal()
        if isinstance(lit, SpooledLiteral):
            raise self.fail(f"a literal of {lit.size} octets is too large for a {what}")
        if lit is not None:
            # literal = "{" number64 "}" CRLF *CHAR8, and CHAR8 is %x01-ff: no NUL.
            if b"\x00" in lit.data:
                raise self.fail(f"NUL in a {what}")
            return lit.data
        if self.peek() == b'"':
            m = _QUOTED.match(self.line, self.pos)
            if m is None:
                raise self.fail("unterminated or invalid quoted string")
            self.pos = m.end()
            return re.sub(rb"\\(.)", rb"\1", m.group(1))
        if atom is None:
            raise self.fail(f"expected {what}")
        return self.match(atom, what)

    def text(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("string is not valid UTF-8") from None

    def astring(self, what: str = "astring") -> str:
        return self.text(self.string_bytes(ASTRING_ATOM, what))

    def string(self, what: str = "string") -> str:
        return self.text(self.string_bytes(None, what))

    def nstring(self) -> str | None:
        if self.take(b"NIL"):
            return None
        return self.string()

    def atom(self, what: str = "atom") -> str:
        raw = self.match(ATOM, what)
        if len(raw) > MAX_ATOM:
            raise self.fail(f"{what} longer than {MAX_ATOM} octets")
        return raw.decode("utf-8", "replace")

    def mailbox(self) -> str:
        return self.astring("mailbox name")

    def list_mailbox(self) -> str:
        return self.text(self.string_bytes(LIST_ATOM, "mailbox pattern"))

    def number(self, limit: int = MAX_NUMBER, *, nonzero: bool = False) -> int:
        n = int(self.match(_NUMBER, "number"))
        if n > limit or (nonzero and n == 0):
            raise self.fail("number out of range")
        return n

    def seqset(self) -> SeqSet:
        raw = self.match(_SEQSET, "sequence set")
        try:
            return SeqSet.parse(raw)
        except ProtocolError as exc:
            raise self.fail(exc.text) from None

    def parenthesised(self, item: Callable[[], object]) -> None:
        """ "(" [item *(SP item)] ")" calling item() for each."""
        self.expect(b"(")
        if self.take(b")"):
            return
        item()
        while not self.take(b")"):
            self.sp()
            item()

    def flag(self) -> str:
        if self.take(b"\\"):
            if self.take(b"*"):
                return "\\*"
            return "\\" + self.atom("flag")
        return self.atom("flag")

    def flag_list(self) -> tuple[str, ...]:
        flags: list[str] = []
        self.parenthesised(lambda: flags.append(self.flag()))
        return tuple(flags)


def date_time(cur: Cursor) -> datetime:
    m = _DATETIME.match(cur.line, cur.pos)
    if m is None:
        raise cur.fail('expected date-time "dd-Mon-yyyy hh:mm:ss +zzzz"')
    cur.pos = m.end()
    day, mon, year, hh, mm, ss, sign, zh, zm = (g.decode() for g in m.groups())
    month = _month(cur, mon)
    offset = timedelta(hours=int(zh), minutes=int(zm))
    try:
        return datetime(
            int(year),
            month,
            int(day),
            int(hh),
            int(mm),
            int(ss),
            tzinfo=timezone(-offset if sign == "-" else offset),
        )
    except ValueError:
        raise cur.fail("invalid date-time") from None


def search_date(cur: Cursor) -> date:
    quoted = cur.take(b'"')
    m = _DATE.match(cur.line, cur.pos)
    if m is None:
        raise cur.fail("expected date dd-Mon-yyyy")
    cur.pos = m.end()
    if quoted:
        cur.expect(b'"')
    day, mon, year = (g.decode() for g in m.groups())
    try:
        return date(int(year), _month(cur, mon), int(day))
    except ValueError:
        raise cur.fail("invalid date") from None


def _month(cur: Cursor, name: str) -> int:
    try:
        return MONTHS.index(name.upper()) + 1
    except ValueError:
        raise cur.fail(f"invalid month {name!r}") from None


def partial_range(cur: Cursor) -> tuple[int, int]:
    """RFC 9394 §4 partial-range as (first, last) as sent, negative counting from the end
    (-1 is the last result); 500:400 means 400:500."""
    negative = cur.take(b"-")
    first = cur.number(nonzero=True)
    cur.expect(b":")
    if negative:
        cur.expect(b"-", "a negative range end")
    last = cur.number(nonzero=True)
    return (-first, -last) if negative else (first, last)
