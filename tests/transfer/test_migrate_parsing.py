"""What roost migrate reads from a source's responses (imaplib's raw lines): LIST lines
in their several shapes, names in modified UTF-7, FETCH flags and dates, source URLs."""

from __future__ import annotations

import imaplib
from datetime import datetime, timedelta, timezone

import pytest

from roost.transfer.migrate import _flags, _internaldate, _parse_list, _roost_name, parse_source


def test_list_lines_quoted_atom_literal_and_nil_delimiter() -> None:
    lines: list[object] = [
        b'(\\HasNoChildren) "." INBOX',
        b'(\\HasNoChildren \\Sent) "/" "Sent Items"',
        (b'(\\HasChildren) "." {10}', b"Projects.A"),
        b'(\\Noselect) NIL "Top \\"quoted\\""',
        None,
    ]
    assert list(_parse_list(lines)) == [
        (b"\\HasNoChildren", b".", b"INBOX"),
        (b"\\HasNoChildren \\Sent", b"/", b"Sent Items"),
        (b"\\HasChildren", b".", b"Projects.A"),
        (b"\\Noselect", None, b'Top "quoted"'),
    ]


def test_names_become_roosts() -> None:
    plain = imaplib.IMAP4.__new__(imaplib.IMAP4)  # only utf8_enabled is read
    plain.utf8_enabled = False
    assert _roost_name(b"Projects.2024", b".", plain) == "Projects/2024"
    assert _roost_name(b"Entw&APw-rfe.Alt", b".", plain) == "Entwürfe/Alt"
    assert _roost_name(b"inbox", b"/", plain) == "INBOX"
    utf8 = imaplib.IMAP4.__new__(imaplib.IMAP4)
    utf8.utf8_enabled = True
    assert _roost_name("Entwürfe/R&D".encode(), b"/", utf8) == "Entwürfe/R&D"


def test_fetch_flags_and_dates() -> None:
    head = b'3 (UID 7 FLAGS (\\Seen \\Recent $Label1 bad"word) INTERNALDATE " 5-Jan-2021 10:00:00 +0100" BODY[] {12}'
    assert _flags(head) == {"\\Seen", "$Label1"}
    assert _internaldate(head) == datetime(2021, 1, 5, 10, tzinfo=timezone(timedelta(hours=1)))
    assert _flags(b"3 (UID 7)") == frozenset()
    assert _internaldate(b'3 (INTERNALDATE "yesterday")') is None


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "tls"),
    [
        (
            "imaps://alice%40example.org@old.example.org",
            "old.example.org",
            993,
            "alice@example.org",
            True,
        ),
        ("imap://bob@127.0.0.1:1143", "127.0.0.1", 1143, "bob", False),
    ],
)
def test_source_urls(url: str, host: str, port: int, user: str, tls: bool) -> None:
    source = parse_source(url)
    assert (source.host, source.port, source.user, source.tls) == (host, port, user, tls)


@pytest.mark.parametrize("url", ["https://a@b", "imaps://old.example.org", "alice@host"])
def test_bad_source_urls(url: str) -> None:
    with pytest.raises(ValueError, match="imaps://user@host"):
        parse_source(url)
