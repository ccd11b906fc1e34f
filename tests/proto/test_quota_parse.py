"""GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208 §7 formal syntax) through the receiver:
whole, byte by byte and with trailing data (parse_one), bad input, and a round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.imap import commands as c
from roost.proto.imap.cursor import MAX_NUMBER64
from roost.proto.imap.receiver import BadCommand, NeedLiteral
from tests.proto.test_imap_receiver import events, parse_one

CASES: list[tuple[bytes, c.Command]] = [
    (b'a GETQUOTA ""\r\n', c.GetQuota(tag="a", root="")),
    (b"a getquota user.alice\r\n", c.GetQuota(tag="a", root="user.alice")),
    (b"a GETQUOTAROOT INBOX\r\n", c.GetQuotaRoot(tag="a", mailbox="INBOX")),
    (b'a GETQUOTAROOT "Sent Items"\r\n', c.GetQuotaRoot(tag="a", mailbox="Sent Items")),
    (
        b'a SETQUOTA "" (storage 512 MESSAGE 1000)\r\n',
        c.SetQuota(tag="a", root="", limits=(("STORAGE", 512), ("MESSAGE", 1000))),
    ),
    (b'a SETQUOTA "" ()\r\n', c.SetQuota(tag="a", root="", limits=())),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_parses(line: bytes, expected: c.Command) -> None:
    assert parse_one(line) == expected


def test_quota_root_as_a_literal() -> None:
    assert events(b"a GETQUOTA {0}\r\n\r\n") == [NeedLiteral(0), c.GetQuota(tag="a", root="")]


@pytest.mark.parametrize(
    "line",
    [
        b"a GETQUOTA\r\n",
        b"a GETQUOTAROOT\r\n",
        b'a GETQUOTA "" extra\r\n',
        b'a SETQUOTA ""\r\n',
        b'a SETQUOTA "" (STORAGE)\r\n',
        b'a SETQUOTA "" (STORAGE -1)\r\n',
        b'a SETQUOTA "" (STORAGE 1 MESSAGE)\r\n',
        b'a SETQUOTA "" STORAGE 1\r\n',
        b'a SETQUOTA "" (STORAGE 99999999999999999999)\r\n',
    ],
)
def test_malformed_quota_commands_are_bad(line: bytes) -> None:
    [event] = events(line)
    assert isinstance(event, BadCommand) and event.tag == "a"


_RESOURCE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=12)


@given(st.lists(st.tuples(_RESOURCE, st.integers(0, MAX_NUMBER64)), max_size=5))
def test_setquota_round_trip(limits: list[tuple[str, int]]) -> None:
    listed = " ".join(f"{name} {value}" for name, value in limits)
    line = f'a SETQUOTA "" ({listed})\r\n'.encode()
    assert events(line) == [c.SetQuota(tag="a", root="", limits=tuple(limits))]
