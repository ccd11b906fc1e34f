"""The POP3 receiver: lines in, commands out (whole, byte by byte, with trailing data),
limits, SASL response lines and STLS's discard."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.pop3 import commands as p
from roost.proto.pop3.receiver import NEED_DATA, BadCommand, Event, RawLine, Receiver


def events(
    data: bytes, *, chunk: int | None = None, receiver: Receiver | None = None
) -> list[Event]:
    r = receiver or Receiver()
    out: list[Event] = []
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        r.receive_data(piece)
        while (event := r.next_event()) is not NEED_DATA:
            out.append(event)
    return out


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"STAT\r\n", p.Stat()),
        (b"STAT\n", p.Stat()),  # bare LF
        (b"RETR 2\r\n", p.Retr(msg=2)),
        (b"PASS with space\r\n", p.Pass(password="with space")),
        (b"PASS ends in CR\r\r\n", p.Pass(password="ends in CR\r")),
        (b"BOGUS\r\n", BadCommand("unknown command BOGU")),
        (b"RETR x\r\n", BadCommand("expected a number")),
    ],
)
def test_whole_byte_by_byte_and_with_trailing_data(data: bytes, expected: Event) -> None:
    assert events(data) == [expected]
    assert events(data, chunk=1) == [expected]
    assert events(data + b"NOOP\r\n") == [expected, p.Noop()]
    assert events(data + b"NOO") == [expected]  # the rest waits for its line end


def test_pipelined_commands_come_out_in_order() -> None:
    data = b"USER a@b.c\r\nPASS x\r\nSTAT\r\nLIST\r\nUIDL\r\nQUIT\r\n"
    expected = [p.User(name="a@b.c"), p.Pass(password="x"), p.Stat(), p.List(), p.Uidl(), p.Quit()]
    assert events(data) == expected
    assert events(data, chunk=7) == expected


def test_an_over_long_line_is_refused_without_being_kept() -> None:
    r = Receiver(max_line=100)
    r.receive_data(b"USER " + b"x" * 200)  # no line end yet: refused at once
    assert r.next_event() == BadCommand("line longer than 100 octets")
    assert len(r._buffer) == 0
    for _ in range(100):  # the rest of it is skipped as it arrives, never kept
        r.receive_data(b"y" * 1000)
        assert r.next_event() is NEED_DATA
        assert len(r._buffer) == 0
    r.receive_data(b"yyy\r\nNOOP\r\n")
    assert r.next_event() == p.Noop()
    assert r.next_event() is NEED_DATA


def test_an_over_long_line_that_arrives_whole() -> None:
    r = Receiver(max_line=100)
    assert events(b"PASS " + b"x" * 200 + b"\r\nSTAT\r\n", receiver=r) == [
        BadCommand("line longer than 100 octets"),
        p.Stat(),
    ]
    assert events(b"PASS " + b"x" * 90 + b"\r\n", receiver=r) == [p.Pass(password="x" * 90)]


def test_sasl_response_line() -> None:
    r = Receiver()
    assert events(b"AUTH PLAIN\r\n", receiver=r) == [p.Auth(mechanism="PLAIN")]
    r.expect_raw_line()
    assert events(b"AGFAYgBj\r\nSTAT\r\n", receiver=r) == [RawLine(b"AGFAYgBj"), p.Stat()]
    r.expect_raw_line()
    assert events(b"*\r\n", chunk=1, receiver=r) == [RawLine(b"*")]


def test_an_over_long_sasl_response_ends_the_exchange() -> None:
    r = Receiver(max_line=100)
    r.expect_raw_line()
    assert events(b"A" * 300 + b"\r\nSTAT\r\n", receiver=r) == [
        BadCommand("line longer than 100 octets"),
        p.Stat(),  # a command again, not a response
    ]


def test_discard_buffered_forgets_what_was_pipelined() -> None:
    r = Receiver()
    r.receive_data(b"STLS\r\nUSER mallory@example.org\r\nPASS x\r\n")
    assert r.next_event() == p.Stls()
    r.discard_buffered()
    assert r.next_event() is NEED_DATA
    assert events(b"CAPA\r\n", receiver=r) == [p.Capa()]


def test_discard_also_ends_skipping_and_raw_lines() -> None:
    r = Receiver(max_line=100)
    r.receive_data(b"x" * 500)
    assert isinstance(r.next_event(), BadCommand)
    r.expect_raw_line()
    r.discard_buffered()
    assert events(b"NOOP\r\n", receiver=r) == [p.Noop()]


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=50))
def test_arbitrary_bytes_give_only_events(data: bytes, chunk: int) -> None:
    r = Receiver(max_line=64)
    got = events(data, chunk=chunk, receiver=r)
    assert all(isinstance(e, p.Command | BadCommand) for e in got)
    assert len(r._buffer) <= 64 + chunk
    # Chunking never changes what comes out, except for where an over-long line is cut.
    if b"\n" not in data or all(len(line) <= 64 for line in data.split(b"\n")):
        assert got == events(data, receiver=Receiver(max_line=64))
