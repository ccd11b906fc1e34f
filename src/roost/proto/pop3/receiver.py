"""Framing of client input into POP3 commands (RFC 1939 §3, RFC 2449 §4).

Theory of operation
-------------------
A POP3 client sends one command per line and, after "AUTH PLAIN" without an initial
response, one SASL response line (RFC 5034 §4). The receiver splits lines at LF (a CR
before it is dropped; some clients send bare LF) and hands each to the parser:

    receive_data(bytes)  ->  next_event()  ->  NEED_DATA
                                               | Command     (a parsed command)
                                               | BadCommand  (answer -ERR; keep going)
                                               | RawLine     (the SASL response the
                                                              session asked for)

Clients may pipeline (RFC 2449 §6.6): several commands in one read come out one by one,
in order. The limit lives here: a line longer than `max_line` is refused without keeping
it (what is buffered goes; the rest is skipped up to the next LF), so memory never grows
with the line. `discard_buffered` forgets everything not yet read, for STLS (RFC 2595 §4:
commands pipelined after STLS may have been injected by a man in the middle).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from roost.proto.errors import ProtocolError
from roost.proto.pop3.commands import Command, parse_command

__all__ = ["NEED_DATA", "BadCommand", "Event", "RawLine", "Receiver"]


class _Need(enum.Enum):
    NEED_DATA = "need-data"


NEED_DATA = _Need.NEED_DATA


@dataclass(frozen=True, slots=True)
class BadCommand:
    text: str


@dataclass(frozen=True, slots=True)
class RawLine:
    line: bytes  # without CRLF


Event = Command | BadCommand | RawLine | _Need


class Receiver:
    def __init__(self, *, max_line: int = 8192) -> None:
        self.max_line = max_line
        self._buffer = bytearray()
        self._skipping = False  # discarding the rest of an over-long line
        self._raw_line = False

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def expect_raw_line(self) -> None:
        """The next line is a SASL response, not a command."""
        self._raw_line = True

    def discard_buffered(self) -> None:
        """STLS: nothing sent before the handshake may be taken as a command."""
        self._buffer.clear()
        self._skipping = False
        self._raw_line = False

    def next_event(self) -> Event:
        while True:
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
                    self._buffer.clear()
                    self._skipping = True
                    return self._too_long()
                return NEED_DATA
            if end > self.max_line:
                del self._buffer[: end + 1]
                return self._too_long()
            line = bytes(self._buffer[:end]).removesuffix(b"\r")
            del self._buffer[: end + 1]
            return self._line(line)

    def _line(self, line: bytes) -> Event:
        if self._raw_line:
            self._raw_line = False
            return RawLine(line)
        try:
            return parse_command(line)
        except ProtocolError as exc:
            return BadCommand(exc.text)

    def _too_long(self) -> BadCommand:
        self._raw_line = False  # an over-long SASL response fails the exchange
        return BadCommand(f"line longer than {self.max_line} octets")
