"""roost.smtp.sent.with_bcc: where the Bcc: field of the server's Sent copy goes."""

from __future__ import annotations

import pytest

from roost.smtp.sent import with_bcc


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"To: a@x\r\n\r\nbody\r\n", b"To: a@x\r\nBcc: b@y, c@z\r\n\r\nbody\r\n"),
        (b"To: a@x\n\nbody\n", b"To: a@x\nBcc: b@y, c@z\n\nbody\n"),
        (b"\r\nbody only\r\n", b"Bcc: b@y, c@z\r\n\r\nbody only\r\n"),
        (b"To: a@x\r\n", b"To: a@x\r\nBcc: b@y, c@z\r\n"),
        (b"To: a@x", b"To: a@x\r\nBcc: b@y, c@z\r\n"),
    ],
)
def test_the_field_ends_the_header(data: bytes, expected: bytes) -> None:
    assert with_bcc(data, ["b@y", "c@z"]) == expected


def test_no_blind_recipients_leaves_the_message_alone() -> None:
    data = b"To: a@x\r\n\r\nbody\r\n"
    assert with_bcc(data, []) is data
