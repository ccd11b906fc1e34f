"""GETACL, SETACL, DELETEACL, LISTRIGHTS and MYRIGHTS (RFC 4314 §9 formal syntax) through the
receiver: whole, byte by byte and with trailing data (parse_one), bad input, a round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.imap import commands as c
from roost.proto.imap.receiver import BadCommand, NeedLiteral
from tests.proto.test_imap_receiver import events, parse_one

CASES: list[tuple[bytes, c.Command]] = [
    (b"a GETACL INBOX\r\n", c.GetAcl(tag="a", mailbox="INBOX")),
    (
        b'a getacl "Other Users/alice/Projects"\r\n',
        c.GetAcl(tag="a", mailbox="Other Users/alice/Projects"),
    ),
    (b"a MYRIGHTS Sent\r\n", c.MyRights(tag="a", mailbox="Sent")),
    (
        b"a SETACL INBOX bob@example.org lrs\r\n",
        c.SetAcl(tag="a", mailbox="INBOX", identifier="bob@example.org", rights="lrs"),
    ),
    (
        b'a SETACL INBOX "bob@example.org" "-w"\r\n',
        c.SetAcl(tag="a", mailbox="INBOX", identifier="bob@example.org", rights="-w"),
    ),
    (
        b'a SETACL INBOX bob@example.org ""\r\n',
        c.SetAcl(tag="a", mailbox="INBOX", identifier="bob@example.org", rights=""),
    ),
    (
        b"a DELETEACL INBOX bob@example.org\r\n",
        c.DeleteAcl(tag="a", mailbox="INBOX", identifier="bob@example.org"),
    ),
    (
        b"a LISTRIGHTS INBOX bob@example.org\r\n",
        c.ListRights(tag="a", mailbox="INBOX", identifier="bob@example.org"),
    ),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_parses(line: bytes, expected: c.Command) -> None:
    assert parse_one(line) == expected


def test_identifier_as_a_literal() -> None:
    assert events(b"a DELETEACL INBOX {3}\r\nbob\r\n") == [
        NeedLiteral(3),
        c.DeleteAcl(tag="a", mailbox="INBOX", identifier="bob"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        b"a GETACL\r\n",
        b"a GETACL INBOX extra\r\n",
        b"a MYRIGHTS\r\n",
        b"a SETACL INBOX bob\r\n",
        b"a SETACL INBOX\r\n",
        b"a SETACL INBOX bob lr extra\r\n",
        b"a DELETEACL INBOX\r\n",
        b"a LISTRIGHTS INBOX\r\n",
        b"a LISTRIGHTS INBOX bob lr\r\n",
        b"a UID GETACL INBOX\r\n",
    ],
)
def test_malformed_acl_commands_are_bad(line: bytes) -> None:
    [event] = events(line)
    assert isinstance(event, BadCommand) and event.tag == "a"


_ATOM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz@.+-", min_size=1, max_size=20)


@given(_ATOM, _ATOM, st.text(alphabet="lrswipkxtea", max_size=11))
def test_setacl_round_trip(mailbox: str, identifier: str, rights: str) -> None:
    line = f'a SETACL "{mailbox}" "{identifier}" "{rights}"\r\n'.encode()
    expected = c.SetAcl(tag="a", mailbox=mailbox, identifier=identifier, rights=rights)
    assert events(line) == [expected]
