"""Framing of client input into commands (RFC 9051 §2.2, §4.3; RFC 7888 literals).

Theory of operation
-------------------
The client sends lines; a line ending in a literal header `{n}` (synchronizing), `{n+}`
(LITERAL+) or `~{n}` (BINARY) is followed by exactly n octets and then the rest of the
command. The receiver collects one command as segments — line text alternating with
literal payloads — and hands them to the parser once the command is complete, so nothing
is parsed twice. Its only look inside a line is for a trailing literal header.

    receive_data(bytes)  ->  next_event()  ->  NEED_DATA
                                               | NeedLiteral   (server answers "+ Ready")
                                               | Command       (a parsed command)
                                               | BadCommand    (answer BAD; keep going)
                                               | RawLine       (IDLE's DONE, SASL responses)
                                               | Fatal         (answer BYE; close)

Limits live here: a line longer than `max_line` is refused without keeping it (the rest
of it is skipped up to the next LF); a literal over `max_literal` is refused before any
of it is read (a synchronizing one is never sent by the client; a non-synchronizing one
ends the connection, RFC 7888 §4).

Memory stays bounded: once a command's literals would hold more than `spool_over` octets,
each further literal goes to a `Spool` the session provides (a temporary file) as it
arrives, and reaches the parser as a `SpooledLiteral` (issue 9). The receiver only writes
to it; what a spool is and when it is closed is the session's business.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from roost.proto.errors import ProtocolError
from roost.proto.imap.commands import Command
from roost.proto.imap.cursor import MAX_TAG, Literal, Spool, SpooledLiteral
from roost.proto.imap.parse import parse_command

_LITERAL_RE = re.compile(rb"(~?)\{(\d{1,20})(\+?)\}\Z")
_TAG_RE = re.compile(rb"[^\x00-\x20\x7f(){%*\"\\+]+")


class _Need(enum.Enum):
    NEED_DATA = "need-data"


NEED_DATA = _Need.NEED_DATA


@dataclass(frozen=True, slots=True)
class NeedLiteral:
    size: int


@dataclass(frozen=True, slots=True)
class BadCommand:
    tag: str | None  # None: no tag could be read; answer untagged BAD
    text: str


@dataclass(frozen=True, slots=True)
class RawLine:
    line: bytes  # without CRLF


@dataclass(frozen=True, slots=True)
class Fatal:
    text: str


Event = Command | NeedLiteral | BadCommand | RawLine | Fatal | _Need


class Receiver:
    def limit_literals(self, max_literal: int) -> None:
        """The largest literal taken from now on (a session raises it once the client has
        logged in: before that no command needs more than a few kilobytes)."""
        self.max_literal = max_literal
        # the whole command (lines and literals) is capped so MULTIAPPEND stays bounded
        self.max_command = 2 * max_literal + self.max_line

    def __init__(
        self,
        *,
        max_line: int = 65536,
        max_literal: int = 50 * 1024 * 1024,
        spool: Callable[[], Spool] | None = None,
        spool_over: int = 256 * 1024,
    ) -> None:
        self.max_line = max_line
        self.limit_literals(max_literal)
        self.spool = spool  # None: every literal is kept in memory
        self.spool_over = spool_over
        self._buffer = bytearray()
        self._segments: list[bytes | Literal | SpooledLiteral] = []
        self._command_size = 0
        self._in_memory = 0  # literal octets of this command kept in memory
        self._literal: int | None = None  # octets still expected for the current literal
        self._sink: Spool | None = None  # where the current literal goes, if not memory
        self._sink_size = 0
        self._binary = False
        self._skipping = False  # discarding the rest of an over-long line
        self._raw_line = False
        self._closed = False

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def expect_raw_line(self) -> None:
        """The next line is a continuation (IDLE's DONE, a SASL response), not a command."""
        self._raw_line = True

    def take_buffered(self) -> bytes:
        """COMPRESS: what the client sent after the command is compressed; hand it back."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def discard_buffered(self) -> None:
        """STARTTLS: nothing sent before the handshake may be taken as a command."""
        self._buffer.clear()
        self._reset()

    def next_event(self) -> Event:
        if self._closed:
            return NEED_DATA
        while True:
            if self._sink is not None:
                if not self._to_sink():
                    return NEED_DATA
                continue
            if self._literal is not None:
                if len(self._buffer) < self._literal:
                    return NEED_DATA
                payload = bytes(self._buffer[: self._literal])
                del self._buffer[: self._literal]
                self._segments.append(Literal(payload, binary=self._binary))
                self._literal = None
                continue
            end = self._buffer.find(b"\n")
            if self._skipping:
                if end < 0:
                    self._buffer.clear()
                    return NEED_DATA
                del self._buffer[: end + 1]
                self._skipping = False
                continue
            if end < 0:
                if len(self._buffer) > self.max_line:
                    return self._too_long()
                return NEED_DATA
            if end > self.max_line:
                return self._too_long(end + 1)
            line = bytes(self._buffer[:end]).removesuffix(b"\r")
            del self._buffer[: end + 1]
            event = self._line(line)
            if event is not None:
                return event

    def _to_sink(self) -> bool:
        """Moves what is buffered of a spooled literal to its spool; True once complete."""
        assert self._sink is not None and self._literal is not None
        take = min(len(self._buffer), self._literal)
        if take:
            self._sink.write(bytes(self._buffer[:take]))
            del self._buffer[:take]
            self._literal -= take
        if self._literal:
            return False
        self._segments.append(SpooledLiteral(self._sink, self._sink_size, binary=self._binary))
        self._sink = None
        self._literal = None
        return True

    def _line(self, line: bytes) -> Event | None:
        if self._raw_line and not self._segments:
            self._raw_line = False
            return RawLine(line)
        self._command_size += len(line)
        match = _LITERAL_RE.search(line)
        if match is None:
            segments = [*self._segments, line]
            self._reset()
            try:
                return parse_command(segments)
            except ProtocolError as exc:
                return BadCommand(exc.tag, exc.text)
        size = int(match.group(2))
        synchronizing = not match.group(3)
        self._segments.append(line[: match.start()])
        if size > self.max_literal or self._command_size + size > self.max_command:
            tag = self._tag()
            self._reset()
            if synchronizing:
                # RFC 9051 §7.1: the client waits for "+", so it never sends the octets.
                return BadCommand(tag, f"[TOOBIG] literal of {size} octets is over the limit")
            self._closed = True
            return Fatal(f"non-synchronizing literal of {size} octets is over the limit")
        self._command_size += size
        self._literal = size
        self._binary = bool(match.group(1))
        if self.spool is not None and self._in_memory + size > self.spool_over:
            self._sink = self.spool()
            self._sink_size = size
        else:
            self._in_memory += size
        return NeedLiteral(size) if synchronizing else None

    def _too_long(self, line_end: int | None = None) -> BadCommand:
        """Refuses an over-long line: drops it (up to line_end if its LF is here, else all
        that is buffered, skipping the rest as it arrives)."""
        tag = self._tag(self._buffer) if not self._segments else self._tag()
        if line_end is None:
            self._buffer.clear()
            self._skipping = True
        else:
            del self._buffer[:line_end]
        self._reset()
        return BadCommand(tag, f"line longer than {self.max_line} octets")

    def _tag(self, first: bytes | bytearray | None = None) -> str | None:
        if first is None:
            head = self._segments[0] if self._segments else b""
            first = head if isinstance(head, bytes) else b""
        match = _TAG_RE.match(first)
        if match is None or first[match.end() : match.end() + 1] != b" ":
            return None
        if match.end() > MAX_TAG:
            return None
        return match.group().decode("ascii", "replace")

    def _reset(self) -> None:
        self._segments = []
        self._command_size = 0
        self._in_memory = 0
        self._literal = None
        self._sink = None
        self._raw_line = False
