"""The pure pieces: bare line endings, From:/Bcc: handling, enhanced codes, DSN status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from roost.smtp.dsn import status_of
from roost.smtp.message import bare_line_ending, header_addresses, received_header, without_bcc
from roost.smtp.protocol import with_enhanced_code

HEADER = (
    b"From: Alice <alice@example.org>, bob@example.org\r\n"
    b"Bcc: eve@remote.test,\r\n mallory@remote.test\r\n"
    b"Subject: x\r\n"
    b"\r\n"
)


@pytest.mark.parametrize(
    ("data", "bare"),
    [
        (b"a\r\nb\r\n", False),
        (b"", False),
        (b"a\nb\r\n", True),
        (b"a\rb\r\n", True),
        (b"a\r\r\n", True),
        (b"a\r\n\n", True),
        (b"a\r", True),
    ],
)
def test_bare_line_ending(data: bytes, bare: bool) -> None:
    assert bare_line_ending(data) is bare


def test_header_addresses() -> None:
    assert header_addresses(HEADER + b"body\r\n", "from") == [
        "alice@example.org",
        "bob@example.org",
    ]
    assert header_addresses(HEADER + b"From: carol@x.test\r\n", "to") == []


def test_without_bcc_removes_folded_bcc_only() -> None:
    assert without_bcc(HEADER + b"Bcc: in the body\r\n") == (
        b"From: Alice <alice@example.org>, bob@example.org\r\n"
        b"Subject: x\r\n"
        b"\r\n"
        b"Bcc: in the body\r\n"
    )
    plain = b"Subject: y\r\n\r\nbody\r\n"
    assert without_bcc(plain) is plain


def test_received_header_keeps_client_text_on_one_line() -> None:
    header = received_header(
        helo="evil\r\nX-Injected: 1",
        peer="[192.0.2.1]",
        by="mx.test",
        protocol="ESMTPS",
        queue_id="ABC",
        recipient="bob@example.org",
        when=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert header == (
        b"Received: from evilX-Injected: 1 ([192.0.2.1])\r\n"
        b"\tby mx.test (Roost) with ESMTPS\r\n"
        b"\tid ABC for <bob@example.org>;\r\n"
        b"\tTue, 02 Jan 2024 03:04:05 +0000\r\n"
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("250 OK", "250 2.0.0 OK"),
        ("503 Error: need RCPT command", "503 5.5.1 Error: need RCPT command"),
        ("550 5.1.1 no such user", "550 5.1.1 no such user"),
        ("220 mx.test ESMTP", "220 mx.test ESMTP"),
        ("354 End data", "354 End data"),
        ("452 Mailbox full", "452 4.0.0 Mailbox full"),
    ],
)
def test_enhanced_codes(reply: str, expected: str) -> None:
    assert with_enhanced_code(reply) == expected


def test_dsn_status() -> None:
    assert status_of("550 5.1.1 No such user") == "5.1.1"
    assert status_of("451 try later") == "4.0.0"
    assert status_of("554 rejected") == "5.0.0"
