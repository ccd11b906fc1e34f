"""ENVELOPE / BODY / BODYSTRUCTURE rendering and the IMAP string helpers."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from roost.proto.imap.bodystructure import render_bodystructure, render_envelope
from roost.proto.imap.strings import render_astring, render_nstring, render_string
from roost.proto.mime import Address, Envelope, parse_message


def line_block(count: int, total: int) -> bytes:
    """`count` CRLF-ended lines of exactly `total` octets."""
    width = total // count
    lines = [b"x" * (width - 2) + b"\r\n"] * (count - 1)
    return b"".join(lines) + b"x" * (total - width * (count - 1) - 2) + b"\r\n"


def test_rfc3501_body_example() -> None:
    # RFC 3501 §7.4.2, the BODYSTRUCTURE example (it shows no extension data, i.e. BODY).
    data = (
        b"MIME-Version: 1.0\r\nContent-Type: MULTIPART/MIXED; BOUNDARY=x\r\n\r\n--x\r\n"
        b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n"
        + line_block(23, 1152)
        + b"\r\n--x\r\n"
        b'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME="cc.diff"\r\n'
        b"Content-ID: <960723163407.20117h@cac.washington.edu>\r\n"
        b"Content-Description: Compiler diff\r\n"
        b"Content-Transfer-Encoding: BASE64\r\n\r\n" + line_block(73, 4554) + b"\r\n--x--\r\n"
    )
    _, root = parse_message(data)
    assert render_bodystructure(root, extensible=False) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")'
    )


def test_rfc3501_envelope_example() -> None:
    # RFC 3501 §6.4.5 FETCH example.
    data = (
        b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
        b"From: Terry Gray <gray@cac.washington.edu>\r\n"
        b"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
        b"To: imap@cac.washington.edu\r\n"
        b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
        b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
        b"\r\n"
    )
    envelope, _ = parse_message(data)
    assert render_envelope(envelope) == (
        b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'((NIL NIL "imap" "cac.washington.edu")) '
        b'((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) '
        b'NIL NIL "<B27397-0100000@cac.washington.edu>")'
    )


def test_envelope_groups_literals_and_nil() -> None:
    envelope = Envelope(
        subject="caf\u00e9",
        from_=(Address('Say "hi"', None, "a", "b"),),
        to=(Address(None, None, "undisclosed-recipients", None), Address(None, None, None, None)),
    )
    assert render_envelope(envelope) == (
        b'(NIL {5}\r\ncaf\xc3\xa9 (("Say \\"hi\\"" NIL "a" "b")) NIL NIL '
        b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)'
    )


NESTED = (
    b"From: a@example.com\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b'Content-Type: multipart/alternative; boundary="b2"\r\n'
    b"\r\n"
    b"--b2\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hi\r\n"
    b"--b2\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"<p>Hi</p>\r\n"
    b"--b2--\r\n"
    b"\r\n"
    b"--b1\r\n"
    b'Content-Type: image/png; name="dot.png"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="dot.png"\r\n'
    b"Content-ID: <dot@x>\r\n"
    b"\r\n"
    b"iVBORw0KGgo=\r\n"
    b"--b1\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: c@example.com\r\n"
    b"Subject: inner\r\n"
    b"\r\n"
    b"inner body\r\n"
    b"--b1--\r\n"
)

INNER_ENVELOPE = (
    b'(NIL "inner" ((NIL NIL "c" "example.com")) ((NIL NIL "c" "example.com")) '
    b'((NIL NIL "c" "example.com")) NIL NIL NIL NIL NIL)'
)


def test_nested_bodystructure() -> None:
    _, root = parse_message(NESTED)
    assert render_bodystructure(root, extensible=True) == (
        b"("
        b'(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 2 1 NIL NIL NIL NIL)'
        b'("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 9 1 NIL NIL NIL NIL)'
        b' "ALTERNATIVE" ("BOUNDARY" "b2") NIL NIL NIL)'
        b'("IMAGE" "PNG" ("NAME" "dot.png") "<dot@x>" NIL "BASE64" 12 NIL'
        b' ("ATTACHMENT" ("FILENAME" "dot.png")) NIL NIL)'
        b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 49 ' + INNER_ENVELOPE + b' ("TEXT" "PLAIN"'
        b' ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)'
        b' "MIXED" ("BOUNDARY" "b1") NIL NIL NIL)'
    )


def test_nested_body_has_no_extension_data() -> None:
    _, root = parse_message(NESTED)
    assert render_bodystructure(root, extensible=False) == (
        b"("
        b'(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 2 1)'
        b'("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 9 1) "ALTERNATIVE")'
        b'("IMAGE" "PNG" ("NAME" "dot.png") "<dot@x>" NIL "BASE64" 12)'
        b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 49 ' + INNER_ENVELOPE + b' ("TEXT" "PLAIN"'
        b' ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 1) 4)'
        b' "MIXED")'
    )


def test_language_md5_location_and_literal_parameter() -> None:
    data = (
        'Content-Type: application/pdf; name="résumé.pdf"\r\n'
        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
        "Content-Language: en, de\r\n"
        "Content-Location: http://x/y\r\n\r\nPDF"
    ).encode()
    _, root = parse_message(data)
    assert render_bodystructure(root, extensible=True) == (
        b'("APPLICATION" "PDF" ("NAME" {12}\r\nr\xc3\xa9sum\xc3\xa9.pdf) NIL NIL "7BIT" 3 '
        b'"Q2hlY2sgSW50ZWdyaXR5IQ==" NIL ("en" "de") "http://x/y")'
    )


def test_empty_message() -> None:
    _, root = parse_message(b"")
    assert render_bodystructure(root, extensible=True) == (
        b'("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)'
    )


# --- strings -------------------------------------------------------------------------------


def test_render_string_forms() -> None:
    assert render_string("plain") == b'"plain"'
    assert render_string("") == b'""'
    assert render_string('a "b" \\c') == b'"a \\"b\\" \\\\c"'
    assert render_string("two\r\nlines") == b"{10}\r\ntwo\r\nlines"
    assert render_string("caf\u00e9") == b"{5}\r\ncaf\xc3\xa9"
    assert render_string("caf\u00e9", utf8=True) == b'"caf\xc3\xa9"'
    assert render_string(b"\xff", utf8=True) == b"{1}\r\n\xff"  # not UTF-8
    assert render_string(b"a\x00b") == b'"ab"'  # NUL cannot be sent at all


def test_render_nstring_and_astring() -> None:
    assert render_nstring(None) == b"NIL"
    assert render_nstring("NIL") == b'"NIL"'
    assert render_astring("INBOX") == b"INBOX"
    assert render_astring("Sent]") == b"Sent]"
    assert render_astring("nil") == b'"nil"'
    assert render_astring("two words") == b'"two words"'
    assert render_astring("a*") == b'"a*"'
    assert render_astring("") == b'""'


def read_string(data: bytes) -> bytes:
    """A minimal reader of one quoted string or literal, as a client would."""
    if data.startswith(b'"'):
        assert data.endswith(b'"')
        return re.sub(rb"\\(.)", rb"\1", data[1:-1], flags=re.DOTALL)
    match = re.match(rb"\{(\d+)\}\r\n", data)
    assert match is not None
    body = data[match.end() :]
    assert len(body) == int(match.group(1))
    return body


@given(st.binary())
def test_render_string_reads_back(data: bytes) -> None:
    assert read_string(render_string(data)) == data.replace(b"\x00", b"")


@given(st.text())
def test_render_astring_reads_back(text: str) -> None:
    rendered = render_astring(text)
    expected = text.encode("utf-8", "replace").replace(b"\x00", b"")
    if rendered[:1] in (b'"', b"{"):
        assert read_string(rendered) == expected
    else:
        assert rendered == expected and b" " not in rendered
