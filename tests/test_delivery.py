"""roost.delivery.analyse: everything FETCH and SEARCH need, computed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.delivery import analyse, sent_date
from roost.proto.imap.bodystructure import render_bodystructure
from roost.proto.mime import deserialize_parts, section_range

MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: =?utf-8?q?R=C3=A9union?=\r\n"
    b"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
    b"Message-ID:   <m1@example.com>  \r\n"
    b"Content-Type: multipart/alternative; boundary=alt\r\n"
    b"\r\n"
    b"--alt\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Bonjour =C3=A0 tous,\r\n"
    b"> old quote\r\n"
    b"la r=C3=A9union est lundi.\r\n"
    b"--alt\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>Bonjour</p>\r\n"
    b"--alt--\r\n"
)


def test_analyse_fills_every_field() -> None:
    parsed = analyse(MESSAGE)
    header_size = MESSAGE.index(b"\r\n\r\n") + 4
    assert parsed.size == len(MESSAGE)
    assert parsed.header_size == header_size
    assert parsed.envelope == (
        b'("Tue, 1 Jul 2003 10:52:37 +0200" "=?utf-8?q?R=C3=A9union?=" '
        b'(("Alice" NIL "alice" "example.com")) (("Alice" NIL "alice" "example.com")) '
        b'(("Alice" NIL "alice" "example.com")) ((NIL NIL "bob" "example.org")) '
        b'NIL NIL NIL "<m1@example.com>")'
    )
    root = deserialize_parts(parsed.parts)
    assert parsed.bodystructure == render_bodystructure(root, extensible=True)
    assert parsed.body == render_bodystructure(root, extensible=False)
    assert parsed.bodystructure.endswith(b' "ALTERNATIVE" ("BOUNDARY" "alt") NIL NIL NIL)')
    assert section_range(root, (), "HEADER") == (0, header_size)
    assert parsed.preview == "Bonjour à tous, la réunion est lundi."
    assert "subject: Réunion\n" in parsed.headers_text
    assert "la réunion est lundi." in parsed.body_text and "Bonjour\n" in parsed.body_text
    assert parsed.sent_date == datetime(2003, 7, 1, 10, 52, 37, tzinfo=timezone(timedelta(hours=2)))
    assert parsed.message_id == "<m1@example.com>"


def test_analyse_minimal_message() -> None:
    parsed = analyse(b"Subject: no body, no date")
    assert parsed.header_size == parsed.size
    assert parsed.sent_date is None and parsed.message_id is None
    assert parsed.preview == "" and parsed.body_text == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 7 Feb 1994 21:52:25 -0800 (PST)", datetime(1994, 2, 8, 5, 52, 25, tzinfo=UTC)),
        ("7 Feb 1994 21:52:25 -0000", datetime(1994, 2, 7, 21, 52, 25, tzinfo=UTC)),
        ("Mon, 7 Feb 1994 21:52:25 GMT", datetime(1994, 2, 7, 21, 52, 25, tzinfo=UTC)),
        ("yesterday", None),
        ("Mon, 99 Foo 1994 99:99:99 +9999", None),
        ("", None),
        (None, None),
    ],
)
def test_sent_date(value: str | None, expected: datetime | None) -> None:
    got = sent_date(value)
    assert got == expected
    assert got is None or got.tzinfo is not None


@given(st.binary(max_size=1000))
def test_analyse_never_raises(data: bytes) -> None:
    parsed = analyse(data)
    assert parsed.size == len(data)
    assert 0 <= parsed.header_size <= parsed.size
    assert len(parsed.preview) <= 256


@given(st.text(max_size=80))
def test_any_date_header_is_aware_or_none(value: str) -> None:
    parsed = analyse(("Date: " + value + "\r\n\r\n").encode("utf-8", "replace"))
    assert parsed.sent_date is None or parsed.sent_date.tzinfo is not None


def test_analyse_derives_sort_and_thread_keys() -> None:
    data = (
        b"From: =?utf-8?q?=C3=89mile?= <emile@example.com>\r\n"
        b"To: Team: bob@example.org, carol@example.org;\r\n"
        b"Cc: dave@example.org\r\n"
        b"Subject: Re: [list] =?utf-8?q?R=C3=A9union?= (fwd)\r\n"
        b"In-Reply-To: <parent@example.com>\r\n"
        b"References: <root@example.com>\r\n <parent@example.com>\r\n"
        b"\r\n"
        b"hi\r\n"
    )
    sort = analyse(data).sort
    assert sort.subject == "RéUNION"  # base subject, i;ascii-casemap folded
    assert sort.reply
    # A group sorts by its name, as Dovecot does (issue 11, imaptest sort-addresses).
    assert (sort.from_, sort.to, sort.cc) == ("EMILE", "TEAM", "DAVE")
    assert sort.display_from == "ÉMILE"  # decoded; only ASCII letters fold
    assert sort.display_to == "TEAM"
    assert sort.references == ("root@example.com", "parent@example.com")
    bare = analyse(b"In-Reply-To: <a@x> <b@x>\r\n\r\n").sort
    assert (bare.subject, bare.reply, bare.from_, bare.display_to) == ("", False, "", "")
    assert bare.references == ("a@x",)
