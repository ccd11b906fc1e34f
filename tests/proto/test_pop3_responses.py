"""POP3 responses, and messages as RETR and TOP send them: CRLF, dot-stuffing, sizes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.pop3.responses import (
    canonical,
    continuation,
    dot_stuff,
    err,
    multiline,
    ok,
    top,
    wire_size,
)


def unstuff(response: bytes) -> bytes:
    """What a client makes of a multi-line response's lines (RFC 1939 §3)."""
    assert response.endswith(b"\r\n.\r\n") or response == b".\r\n", response
    lines = response[:-3].split(b"\r\n")[:-1] if response != b".\r\n" else []
    out = []
    for line in lines:
        assert line != b".", "a lone dot inside the response would end it"
        out.append(line[1:] if line.startswith(b".") else line)
    return b"".join(line + b"\r\n" for line in out)


def test_status_lines() -> None:
    assert ok() == b"+OK\r\n"
    assert ok("2 320") == b"+OK 2 320\r\n"
    assert err("no such message") == b"-ERR no such message\r\n"
    assert err("line\r\nbreak") == b"-ERR line break\r\n"  # never a second line
    long = err("x" * 1000)
    assert len(long) == 512 and long.endswith(b"...\r\n")
    assert continuation() == b"+ \r\n"
    assert continuation(b"hi") == b"+ aGk=\r\n"


def test_multiline_listing() -> None:
    assert (
        multiline("2 messages", ["1 120", "2 200"]) == b"+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"
    )
    assert multiline("none", []) == b"+OK none\r\n.\r\n"


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        (b"", b""),
        (b"A: b\r\n\r\nbody\r\n", b"A: b\r\n\r\nbody\r\n"),
        (b"A: b\n\nbody\n", b"A: b\r\n\r\nbody\r\n"),  # bare LF
        (b"A: b\r\n\r\nno line end", b"A: b\r\n\r\nno line end\r\n"),
        (b"A: b\n\r\nmixed\n", b"A: b\r\n\r\nmixed\r\n"),
        (b"lone\rCR\r\n", b"lone\rCR\r\n"),  # a bare CR is data
        (b"ends in CR\r", b"ends in CR\r\r\n"),
    ],
)
def test_canonical_and_its_size(stored: bytes, sent: bytes) -> None:
    assert canonical(stored) == sent
    assert wire_size(stored) == len(sent)


@pytest.mark.parametrize(
    ("message", "stuffed"),
    [
        (b"", b".\r\n"),
        (b"A: b\r\n\r\n.\r\n", b"A: b\r\n\r\n..\r\n.\r\n"),  # a lone dot
        (b".starts\r\nx\r\n..two\r\n", b"..starts\r\nx\r\n...two\r\n.\r\n"),
        (b"x\r\n.\r\n.\r\n", b"x\r\n..\r\n..\r\n.\r\n"),
        (b"a.b\r\n", b"a.b\r\n.\r\n"),  # only at the start of a line
    ],
)
def test_dot_stuffing(message: bytes, stuffed: bytes) -> None:
    assert dot_stuff(message) == stuffed
    assert unstuff(stuffed) == message


MESSAGE = b"From: a\r\nSubject: s\r\n\r\nline 1\r\nline 2\r\n.line 3\r\n"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (0, b"From: a\r\nSubject: s\r\n\r\n"),
        (1, b"From: a\r\nSubject: s\r\n\r\nline 1\r\n"),
        (3, MESSAGE),
        (4, MESSAGE),  # more lines than the body has: all of it
        (2**31, MESSAGE),
    ],
)
def test_top(lines: int, expected: bytes) -> None:
    assert top(MESSAGE, lines) == expected


def test_top_of_odd_messages() -> None:
    assert top(b"From: a\r\nNo body\r\n", 0) == b"From: a\r\nNo body\r\n"
    assert top(b"\r\nbody only\r\nmore\r\n", 1) == b"\r\nbody only\r\n"
    assert top(b"", 5) == b""


# Messages as they may be stored: any mix of CRLF, bare LF, CR, dots and text.
_stored = st.lists(
    st.sampled_from([b"\r\n", b"\n", b"\r", b".", b"..", b"x", b"Subject: y", b" ", b"\r\n.\r\n"]),
    max_size=30,
).map(b"".join)


@given(_stored)
def test_properties_of_sent_messages(stored: bytes) -> None:
    sent = canonical(stored)
    assert wire_size(stored) == len(sent)
    assert canonical(sent) == sent
    assert sent == b"" or sent.endswith(b"\r\n")
    assert sent.replace(b"\r\n", b"").count(b"\n") == 0  # no bare LF is left
    assert unstuff(dot_stuff(sent)) == sent  # the client gets exactly the sized octets


@given(_stored, st.integers(min_value=0, max_value=40))
def test_top_is_a_prefix_made_of_whole_lines(stored: bytes, lines: int) -> None:
    sent = canonical(stored)
    part = top(sent, lines)
    assert sent.startswith(part)
    assert part == b"" or part.endswith(b"\r\n")
    assert top(sent, lines + 1).startswith(part)
