"""REPLACE and UID REPLACE (RFC 8508 §6) through the receiver: whole, byte by byte, trailing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from roost.proto.imap import commands as c
from roost.proto.imap.receiver import BadCommand, NeedLiteral
from tests.proto.test_imap_receiver import events, parse_one


def test_replace_with_flags_date_and_nonsynchronizing_literal() -> None:
    line = b'a REPLACE 4 Drafts (\\Seen \\Draft) "05-Jan-2024 10:00:00 +0100" {5+}\r\nhello\r\n'
    assert parse_one(line) == c.Replace(
        tag="a",
        uid=False,
        number=4,
        mailbox="Drafts",
        message=c.AppendMessage(
            flags=("\\Seen", "\\Draft"),
            internaldate=datetime(2024, 1, 5, 10, tzinfo=timezone(timedelta(hours=1))),
            data=b"hello",
        ),
    )


def test_uid_replace_star_and_bare_literal() -> None:
    assert parse_one(b"a uid replace * INBOX {2+}\r\nhi\r\n") == c.Replace(
        tag="a",
        uid=True,
        number=None,
        mailbox="INBOX",
        message=c.AppendMessage(flags=(), internaldate=None, data=b"hi"),
    )


def test_replace_synchronizing_literal_asks_for_it() -> None:
    first = events(b"a UID REPLACE 7 INBOX {3}\r\n")
    assert first == [NeedLiteral(3)]
    got = events(b"a UID REPLACE 7 INBOX {3}\r\nabc\r\n")
    assert got[-1] == c.Replace(
        tag="a",
        uid=True,
        number=7,
        mailbox="INBOX",
        message=c.AppendMessage(flags=(), internaldate=None, data=b"abc"),
    )


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"a REPLACE 1 INBOX\r\n", "space"),
        (b"a REPLACE 1 INBOX hello\r\n", "literal"),
        (b"a REPLACE 0 INBOX {1+}\r\nx\r\n", ""),
        (b"a REPLACE 1:2 INBOX {1+}\r\nx\r\n", ""),
        (b"a REPLACE 1 INBOX {1+}\r\nx {1+}\r\ny\r\n", "unexpected"),
    ],
)
def test_bad_replace_is_bad_with_its_tag(line: bytes, fragment: str) -> None:
    event = events(line)[-1]
    assert isinstance(event, BadCommand)
    assert event.tag == "a"
    assert fragment in event.text
