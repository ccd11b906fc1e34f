"""roost.proto.imap.binary_parts: parts holding NUL stored in base64 (RFC 3516 §4.2)."""

from __future__ import annotations

import base64

from roost.proto.imap.binary_parts import without_nul
from roost.proto.mime_parts import parse_message
from roost.proto.mime_text import decode_body


def test_a_message_without_nul_is_left_alone() -> None:
    data = b"Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xe4\r\n"
    assert without_nul(data) is data


def test_a_single_part_message_is_encoded_and_says_so() -> None:
    data = (
        b"From: user@domain.org\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n\x00\xe4\n\r\n\n\n"
    )
    out = without_nul(data)
    assert out == (
        b"From: user@domain.org\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"\x00\xe4\n\r\n\n\n")
    )
    _, root = parse_message(out)
    assert root.encoding == "BASE64"
    assert decode_body(out[root.body_start : root.end], root.encoding) == b"\x00\xe4\n\r\n\n\n"


def test_only_the_parts_with_nul_change_in_a_multipart() -> None:
    blob = bytes(range(256)) * 2
    data = (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\n\r\n" + blob + b"\r\n--b--\r\n"
    )
    out = without_nul(data)
    assert b"\0" not in out
    _, root = parse_message(out)
    text, binary = root.children
    assert out[text.body_start : text.end] == b"hello"
    assert binary.encoding == "BASE64"
    lines = out[binary.body_start : binary.end].split(b"\r\n")
    assert max(map(len, lines)) == 76
    assert decode_body(out[binary.body_start : binary.end], binary.encoding) == blob
    assert out.endswith(b"\r\n--b--\r\n")


# What BINARY[n] returns of a quoted-printable part (imaptest fetch-binary-mime-qp).
QP = (
    b"hello  \r\nbar=\r\n\r\nfoo\t=\r\nbar\r\nfoo\t \t= \r\n=62\r\nfoo = \t\r\nbar\r\n"
    b"foo =\r\n=62\r\nfoo  \r\nbar=\r\n\r\nfoo_bar\r\n"
)


def test_quoted_printable_drops_trailing_space_and_breaks_softly_after_spaces() -> None:
    assert decode_body(QP, "quoted-printable") == (
        b"hello\r\nbar\r\nfoo\tbar\r\nfoo\t \tb\r\nfoo bar\r\nfoo b\r\nfoo\r\nbar\r\nfoo_bar\r\n"
    )


def test_quoted_printable_escapes() -> None:
    assert decode_body(b"a=3Db=\r\nc=ZZ d=4\r\n=e9=", "quoted-printable") == (
        b"a=bc=ZZ d=4\r\n\xe9"
    )
