"""POP3 command lines: parsed into dataclasses, rendered back (RFC 1939, 2449, 5034)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.errors import ProtocolError
from roost.proto.pop3 import commands as p
from roost.proto.pop3.commands import parse_command, render_command

CASES: list[tuple[bytes, p.Command]] = [
    (b"USER alice@example.org", p.User(name="alice@example.org")),
    (b"user alice@example.org", p.User(name="alice@example.org")),
    (b"PASS secret", p.Pass(password="secret")),
    (b"PASS  two  spaces ", p.Pass(password=" two  spaces ")),  # RFC 1939 §7
    (b"Pass caf\xc3\xa9", p.Pass(password="caf\u00e9")),
    (b"AUTH", p.Auth()),
    (b"AUTH plain", p.Auth(mechanism="PLAIN")),
    (
        b"AUTH PLAIN AGFsaWNlAHNlY3JldA==",
        p.Auth(mechanism="PLAIN", initial=b"AGFsaWNlAHNlY3JldA=="),
    ),
    (b"AUTH PLAIN =", p.Auth(mechanism="PLAIN", initial=b"=")),
    (b"CAPA", p.Capa()),
    (b"stls", p.Stls()),
    (b"STAT", p.Stat()),
    (b"LIST", p.List()),
    (b"LIST ", p.List()),  # a trailing space, as some clients send
    (b"LIST 3", p.List(msg=3)),
    (b"UIDL", p.Uidl()),
    (b"uidl 12", p.Uidl(msg=12)),
    (b"RETR 1", p.Retr(msg=1)),
    (b"DELE 0", p.Dele(msg=0)),  # no such message: the session says so
    (b"TOP 1 0", p.Top(msg=1, lines=0)),
    (b"TOP 2 2147483647", p.Top(msg=2, lines=2147483647)),
    (b"NOOP", p.Noop()),
    (b"RSET", p.Rset()),
    (b"QUIT", p.Quit()),
]


@pytest.mark.parametrize(("line", "command"), CASES)
def test_parse(line: bytes, command: p.Command) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"", "empty command"),
        (b"HELO", "unknown command HELO"),
        (b"APOP alice digest", "unknown command APOP"),
        (b"\xff\xfe", "unknown command ?"),
        (b"RETR", "RETR takes 1 argument"),
        (b"RETR 1 2", "RETR takes 1 argument"),
        (b"RETR one", "expected a number"),
        (b"RETR -1", "expected a number"),
        (b"RETR 99999999999", "expected a number"),
        (b"TOP 1", "TOP takes 2 arguments"),
        (b"TOP 1 x", "expected a number"),
        (b"LIST 1 2", "LIST takes 0 to 1 argument"),
        (b"STAT 1", "STAT takes no arguments"),
        (b"QUIT now", "QUIT takes no arguments"),
        (b"USER", "USER takes 1 argument"),
        (b"USER a b", "USER takes 1 argument"),
        (b"PASS", "expected a password"),
        (b"PASS ", "expected a password"),
        (b"PASS a\x00b", "expected a password"),
        (b"AUTH PL\xc3\xa9IN", "unexpected characters"),
        (b"AUTH PLAIN a b", "AUTH takes 0 to 2 arguments"),
    ],
)
def test_refused(line: bytes, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        parse_command(line)


@pytest.mark.parametrize(("line", "command"), CASES)
def test_render_is_what_a_client_sends(line: bytes, command: p.Command) -> None:
    assert parse_command(render_command(command).removesuffix(b"\r\n")) == command


@given(st.binary(max_size=60))
def test_arbitrary_lines_raise_only_protocol_errors(line: bytes) -> None:
    try:
        command = parse_command(line)
    except ProtocolError:
        return
    assert parse_command(render_command(command).removesuffix(b"\r\n")) == command


_numbers = st.integers(min_value=0, max_value=9_999_999_999)
# Parameters as clients send them: bytes without spaces, CR, LF or NUL.
_words = st.binary(min_size=1, max_size=30).filter(
    lambda b: not any(c in b for c in b" \t\r\n\x00\x0b\x0c")
)
_text = _words.map(lambda b: b.decode("utf-8", "surrogateescape"))
_commands = st.one_of(
    st.builds(p.User, name=_text),
    st.builds(
        p.Pass,
        password=st.binary(min_size=1, max_size=30)
        .filter(lambda b: not any(c in b for c in b"\r\n\x00"))
        .map(lambda b: b.decode("utf-8", "surrogateescape")),
    ),
    st.builds(
        p.Auth,
        mechanism=st.none() | st.sampled_from(["PLAIN", "LOGIN", "X-1"]),
        initial=st.none(),
    ),
    st.builds(p.Auth, mechanism=st.just("PLAIN"), initial=st.sampled_from([b"=", b"AGEAYg=="])),
    st.builds(p.List, msg=st.none() | _numbers),
    st.builds(p.Uidl, msg=st.none() | _numbers),
    st.builds(p.Retr, msg=_numbers),
    st.builds(p.Dele, msg=_numbers),
    st.builds(p.Top, msg=_numbers, lines=_numbers),
    st.sampled_from([p.Capa(), p.Stls(), p.Stat(), p.Noop(), p.Rset(), p.Quit()]),
)


@given(_commands)
def test_parse_render_round_trip(command: p.Command) -> None:
    line = render_command(command)
    assert line.endswith(b"\r\n") and b"\n" not in line[:-2]
    assert parse_command(line[:-2]) == command
