"""CATENATE (RFC 4469 §5) and CANCELUPDATE (RFC 5267 §5) through the receiver, and the IMAP
URLs CATENATE names (RFC 5092)."""

from __future__ import annotations

import pytest

from roost.proto.imap import commands as c
from roost.proto.imap.imapurl import MessageUrl, parse_message_url
from roost.proto.imap.receiver import BadCommand
from tests.proto.test_imap_receiver import events, parse_one


def test_catenate_text_and_url_parts() -> None:
    line = (
        b"a APPEND Sent (\\Seen) CATENATE (TEXT {4+}\r\nHi: "
        b' URL "/INBOX;UIDVALIDITY=7/;UID=20/;SECTION=1" TEXT {2+}\r\nxy)\r\n'
    )
    assert parse_one(line) == c.Append(
        tag="a",
        mailbox="Sent",
        messages=(
            c.AppendMessage(
                flags=("\\Seen",),
                internaldate=None,
                data=c.Catenate(
                    parts=(
                        c.CatenateText(data=b"Hi: "),
                        c.CatenateUrl(url="/INBOX;UIDVALIDITY=7/;UID=20/;SECTION=1"),
                        c.CatenateText(data=b"xy"),
                    )
                ),
            ),
        ),
    )


def test_catenate_beside_a_plain_message_in_multiappend() -> None:
    line = b'a APPEND Box catenate (url "/Box/;uid=1") (\\Answered) {2+}\r\nhi\r\n'
    assert parse_one(line) == c.Append(
        tag="a",
        mailbox="Box",
        messages=(
            c.AppendMessage(
                flags=(),
                internaldate=None,
                data=c.Catenate(parts=(c.CatenateUrl(url="/Box/;uid=1"),)),
            ),
            c.AppendMessage(flags=("\\Answered",), internaldate=None, data=b"hi"),
        ),
    )


@pytest.mark.parametrize(
    "line",
    [
        b"a APPEND Box CATENATE ()\r\n",
        b"a APPEND Box CATENATE (TEXT hello)\r\n",
        b'a APPEND Box CATENATE (FILE "x")\r\n',
        b'a APPEND Box CATENATE URL "/Box/;uid=1"\r\n',
    ],
)
def test_malformed_catenate_is_bad(line: bytes) -> None:
    [event] = events(line)
    assert isinstance(event, BadCommand)


def test_urls_of_messages_and_their_parts() -> None:
    assert parse_message_url("/Box%20One;UIDVALIDITY=9/;UID=3/;SECTION=header") == MessageUrl(
        mailbox="Box One",
        uidvalidity=9,
        uid=3,
        section=c.Section(specifier="HEADER"),
        partial=None,
    )
    url = parse_message_url("imap://alice@example.org/INBOX/Sub/;uid=20/;section=1.2.MIME")
    assert (url.mailbox, url.uid, url.section) == (
        "INBOX/Sub",
        20,
        c.Section(path=(1, 2), specifier="MIME"),
    )
    assert parse_message_url("/A/;UID=1/;PARTIAL=10.5").partial == (10, 5)
    assert parse_message_url("/A/;UID=1/;PARTIAL=10").partial == (10, None)


@pytest.mark.parametrize(
    "url",
    ["", "/A", "/A/;UID=0", "/A/;UID=x", "/A/;UID=1/;SECTION=bogus", "A/;UID=1", "/A/;UID=1;x"],
)
def test_what_names_no_message(url: str) -> None:
    with pytest.raises(ValueError):
        parse_message_url(url)


# CANCELUPDATE (RFC 5267 §5) lives beside CATENATE here: both came with issue 11.
def test_cancelupdate_and_search_return_update() -> None:
    assert parse_one(b'a CANCELUPDATE "s1" "s2"\r\n') == c.CancelUpdate(tag="a", tags=("s1", "s2"))
    for line in (b"a CANCELUPDATE\r\n", b"a CANCELUPDATE s1\r\n"):  # tag-string = string
        [bad] = events(line)
        assert isinstance(bad, BadCommand)
    search = parse_one(b"s SEARCH RETURN (UPDATE CONTEXT COUNT) SEEN\r\n")
    assert isinstance(search, c.Search) and search.returns == ("UPDATE", "CONTEXT", "COUNT")
