"""roost.proto.mime: offsets, sections, envelopes and text, on realistic and hostile mail."""

from __future__ import annotations

import base64
import quopri

from hypothesis import given, settings
from hypothesis import strategies as st

from roost.proto import mime_text
from roost.proto.addresses import parse_addresses
from roost.proto.mime import (
    MAX_DEPTH,
    MAX_PARTS,
    Address,
    Part,
    body_text,
    decode_body,
    decoded_headers,
    deserialize_parts,
    find_section,
    header_fields,
    parse_message,
    preview,
    section_range,
    serialize_parts,
    split_header,
)

PDF = base64.encodebytes(b"%PDF-1.4 fake pdf " * 10).replace(b"\n", b"\r\n")

INNER = (
    b"From: Inner Sender <inner@example.net>\r\n"
    b"Subject: the forwarded one\r\n"
    b"Date: Wed, 2 Jul 2003 08:00:00 +0000\r\n"
    b"\r\n"
    b"Forwarded body line 1\r\n"
    b"Forwarded body line 2\r\n"
)

# multipart/mixed: 1 = multipart/alternative (1.1 text/plain QP, 1.2 text/html base64),
# 2 = application/pdf attachment, 3 = message/rfc822 (non-multipart inside).
MIXED = (
    b"Return-Path: <alice@example.com>\r\n"
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: Bob <bob@example.org>, carol@example.org\r\n"
    b'Cc: Friends: dave@example.net, "Eve, E." <eve@example.net>;\r\n'
    b"Subject: =?UTF-8?B?UmU6IGNhZsOp?= and\r\n"
    b" =?ISO-8859-1?Q?cr=E8me?=\r\n"
    b"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
    b"Message-ID:  <mixed-1@example.com> \r\n"
    b"In-Reply-To: <parent@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer=_b"\r\n'
    b"\r\n"
    b"This is a multi-part message in MIME format.\r\n"
    b"--outer=_b\r\n"
    b"Content-Type: multipart/alternative; boundary=inner\r\n"
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 tomorrow at 3?=\r\n"
    b" See you.\r\n"
    b"> earlier text\r\n"
    b"Alice\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    + base64.encodebytes(
        "<html><head><style>p {}</style></head><body><p>Café &amp; cake</p></body></html>".encode()
    ).replace(b"\n", b"\r\n")
    + b"--inner--\r\n"
    b"\r\n"
    b"--outer=_b\r\n"
    b'Content-Type: application/pdf; name="report.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="report.pdf"; size=180\r\n'
    b"Content-Language: en, fr\r\n"
    b"Content-Location: http://example.com/report.pdf\r\n"
    b"\r\n" + PDF + b"--outer=_b\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"Content-Description: forwarded message\r\n"
    b"\r\n" + INNER + b"--outer=_b--\r\n"
    b"epilogue\r\n"
)


def between(data: bytes, r: tuple[int, int] | None) -> bytes:
    assert r is not None
    return data[r[0] : r[1]]


def check_offsets(part: Part, lo: int, hi: int) -> None:
    """Every part lies inside its parent, in order, with its header before its body."""
    assert lo <= part.start <= part.body_start <= part.end <= hi
    previous = part.body_start
    for child in part.children:
        assert child.start >= previous
        check_offsets(child, previous, part.end)
        previous = child.end
    if part.message is not None:
        assert (part.message.start, part.message.end) == (part.body_start, part.end)
        check_offsets(part.message, part.body_start, part.end)


# --- header splitting ------------------------------------------------------------------


def test_split_header_crlf_lf_and_none() -> None:
    assert split_header(b"A: b\r\n\r\nbody") == 8
    assert split_header(b"A: b\n\nbody") == 6
    assert split_header(b"A: b\n\r\nbody") == 7
    assert split_header(b"\r\nbody") == 2
    assert split_header(b"A: b\r\nC: d\r\n") == 12  # no blank line: all header
    assert split_header(b"") == 0


def test_header_fields_keeps_folding_order_and_ends_with_blank_line() -> None:
    header = MIXED[: split_header(MIXED)]
    got = header_fields(header, {"subject", "to"}, exclude=False)
    assert got == (
        b"To: Bob <bob@example.org>, carol@example.org\r\n"
        b"Subject: =?UTF-8?B?UmU6IGNhZsOp?= and\r\n"
        b" =?ISO-8859-1?Q?cr=E8me?=\r\n"
        b"\r\n"
    )


def test_header_fields_not_and_missing_terminator() -> None:
    header = b"A: 1\r\nB: 2\r\nb: 3\r\nC: 4"  # no blank line, last line unterminated
    assert header_fields(header, {"b"}, exclude=True) == b"A: 1\r\nC: 4\r\n\r\n"
    assert header_fields(header, {"b"}, exclude=False) == b"B: 2\r\nb: 3\r\n\r\n"
    assert header_fields(header, {"x"}, exclude=False) == b"\r\n"


def test_decoded_headers_unfolds_and_decodes_rfc2047() -> None:
    text = decoded_headers(MIXED[: split_header(MIXED)])
    assert "subject: Re: café and crème\n" in text
    assert "message-id: <mixed-1@example.com>\n" in text
    assert text.startswith("return-path: <alice@example.com>\n")


def test_decoded_headers_joins_split_multibyte_words() -> None:
    # RFC 2047 §6.2: white space between encoded-words is dropped; a character may
    # straddle two words.
    header = b"Subject: =?utf-8?B?Q2Fmw6k=?= =?utf-8?Q?_=E2=82?= =?utf-8?Q?=AC?= x\r\n\r\n"
    assert decoded_headers(header) == "subject: Café € x\n"


def test_decoded_headers_survives_unknown_charset_and_8bit() -> None:
    header = "Subject: =?x-unknown?Q?abc?= Grüße\r\n\r\n".encode()
    assert decoded_headers(header) == "subject: abc Grüße\n"
    assert decoded_headers(b"Subject: \xe9t\xe9\r\n\r\n") == "subject: été\n"  # Latin-1


# --- the part tree -----------------------------------------------------------------------


def test_mixed_structure() -> None:
    envelope, root = parse_message(MIXED)
    check_offsets(root, 0, len(MIXED))
    assert (root.type, root.subtype, root.param("boundary")) == ("multipart", "mixed", "outer=_b")
    alternative, pdf, forwarded = root.children
    plain, html = alternative.children
    assert (plain.type, plain.subtype, plain.encoding, plain.lines) == (
        "text",
        "plain",
        "QUOTED-PRINTABLE",
        4,
    )
    assert html.subtype == "html" and html.encoding == "BASE64"
    assert pdf.params == (("name", "report.pdf"),)
    assert pdf.disposition == ("attachment", (("filename", "report.pdf"), ("size", "180")))
    assert pdf.language == ("en", "fr")
    assert pdf.location == "http://example.com/report.pdf"
    assert pdf.lines is None
    assert between(MIXED, (pdf.body_start, pdf.end)) == PDF.removesuffix(b"\r\n")
    assert forwarded.description == "forwarded message"
    assert forwarded.message is not None and forwarded.envelope is not None
    assert between(MIXED, (forwarded.body_start, forwarded.end)) == INNER.removesuffix(b"\r\n")
    assert forwarded.lines == 6
    assert forwarded.envelope.subject == "the forwarded one"
    assert envelope.subject == "=?UTF-8?B?UmU6IGNhZsOp?= and =?ISO-8859-1?Q?cr=E8me?="


def test_envelope_addresses_and_groups() -> None:
    envelope, _ = parse_message(MIXED)
    alice = Address("Alice Example", None, "alice", "example.com")
    assert envelope.from_ == envelope.sender == envelope.reply_to == (alice,)
    assert envelope.to == (
        Address("Bob", None, "bob", "example.org"),
        Address(None, None, "carol", "example.org"),
    )
    # RFC 3501 §7.4.2: a group is bracketed by (NIL NIL name NIL) and (NIL NIL NIL NIL).
    assert envelope.cc == (
        Address(None, None, "Friends", None),
        Address(None, None, "dave", "example.net"),
        Address("Eve, E.", None, "eve", "example.net"),
        Address(None, None, None, None),
    )
    assert envelope.bcc == ()
    assert envelope.date == "Tue, 1 Jul 2003 10:52:37 +0200"
    assert envelope.message_id == "<mixed-1@example.com>"
    assert envelope.in_reply_to == "<parent@example.com>"


def test_address_oddities() -> None:
    header = (
        b"From: john@example.com (John Doe)\r\n"
        b"To: undisclosed-recipients:;\r\n"
        b"Cc: <@relay1.example,@relay2.example:user@example.com>, localonly, <>\r\n"
        b'Bcc: Joe Q. Public <joe@[192.0.2.1]>, "quoted\\"name" <q@x>\r\n'
        b"Sender: \r\n"
        b"\r\n"
    )
    envelope, _ = parse_message(header)
    assert envelope.from_ == (Address("John Doe", None, "john", "example.com"),)
    assert envelope.sender == envelope.from_  # empty Sender: defaults to From
    assert envelope.to == (
        Address(None, None, "undisclosed-recipients", None),
        Address(None, None, None, None),
    )
    assert envelope.cc == (
        Address(None, "@relay1.example,@relay2.example", "user", "example.com"),
        Address(None, None, "localonly", "MISSING_DOMAIN"),
        Address(None, None, "MISSING_MAILBOX", "MISSING_DOMAIN"),
    )
    assert envelope.bcc == (
        Address("Joe Q. Public", None, "joe", "[192.0.2.1]"),
        Address('quoted"name', None, "q", "x"),
    )


def test_unterminated_group_is_closed() -> None:
    envelope, _ = parse_message(b"To: team: a@b, c@d\r\n\r\n")
    assert envelope.to[0] == Address(None, None, "team", None)
    assert envelope.to[-1] == Address(None, None, None, None)
    assert len(envelope.to) == 4


def test_defaults_without_content_type() -> None:
    data = b"Subject: hi\r\n\r\nline 1\r\nline 2"
    _, root = parse_message(data)
    assert (root.type, root.subtype, root.params, root.encoding) == (
        "text",
        "plain",
        (("charset", "us-ascii"),),
        "7BIT",
    )
    assert root.lines == 2  # the unterminated last line counts
    assert (root.start, root.body_start, root.end) == (0, 15, len(data))


def test_bare_lf_message() -> None:
    data = (
        b"From: a@b\nContent-Type: multipart/mixed; boundary=XYZ\n\n"
        b"--XYZ\nContent-Type: text/plain\n\none\ntwo\n--XYZ\n\nno header\n--XYZ--\n"
    )
    _, root = parse_message(data)
    check_offsets(root, 0, len(data))
    first, second = root.children
    assert between(data, (first.body_start, first.end)) == b"one\ntwo"
    assert between(data, (first.start, first.body_start)) == b"Content-Type: text/plain\n\n"
    assert first.lines == 2
    assert between(data, (second.body_start, second.end)) == b"no header"
    assert second.start == second.body_start - 1


def test_no_blank_line_message() -> None:
    data = b"From: a@b\r\nSubject: no body\r\n"
    envelope, root = parse_message(data)
    assert root.body_start == root.end == len(data)
    assert envelope.subject == "no body"
    assert section_range(root, (), "TEXT") == (len(data), len(data))


def test_unterminated_multipart_ends_at_end_of_data() -> None:
    data = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n--b\r\n\r\nlast"
    _, root = parse_message(data)
    assert [between(data, (c.body_start, c.end)) for c in root.children] == [b"first", b"last"]


def test_multipart_without_boundary_is_text() -> None:
    data = b"Content-Type: multipart/mixed\r\n\r\n--b\r\nhello\r\n"
    _, root = parse_message(data)
    assert (root.type, root.subtype, root.children, root.lines) == ("text", "plain", (), 2)


def test_multipart_without_delimiters_gets_one_empty_part() -> None:
    data = b"Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts here\r\n"
    _, root = parse_message(data)
    (only,) = root.children
    assert (only.type, only.subtype, only.size, only.lines) == ("text", "plain", 0, 0)


def test_longer_boundary_is_not_a_delimiter() -> None:
    # The outer boundary "b" is a prefix of "bb"; only whole delimiter lines count.
    data = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: multipart/mixed; boundary=bb\r\n\r\n--bb\r\n\r\ninner\r\n--bb--\r\n"
        b"--b--\r\n"
    )
    _, root = parse_message(data)
    (nested,) = root.children
    (inner,) = nested.children
    assert between(data, (inner.body_start, inner.end)) == b"inner"


def test_digest_parts_default_to_message_rfc822() -> None:
    data = (
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
        b"Subject: one\r\n\r\nbody one\r\n--d\r\nContent-Type: text/plain\r\n\r\nplain\r\n--d--\r\n"
    )
    _, root = parse_message(data)
    digest_item, plain = root.children
    assert (digest_item.type, digest_item.subtype) == ("message", "rfc822")
    assert digest_item.envelope is not None and digest_item.envelope.subject == "one"
    assert (plain.type, plain.subtype) == ("text", "plain")


def test_content_type_parameters() -> None:
    data = (
        b'Content-Type: Text/HTML (comment) ; Charset = "ISO-8859-1" ;\r\n'
        b' title*0*=us-ascii\'en\'This%20is; title*1*=%20fun; name="a \\"b\\"; c"\r\n'
        b"Content-Transfer-Encoding: Base64 (why not)\r\n"
        b"Content-ID: <id@x>\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\r\n"
    )
    _, root = parse_message(data)
    assert (root.type, root.subtype) == ("text", "html")
    assert root.params == (
        ("charset", "ISO-8859-1"),
        ("title*", "us-ascii'en'This%20is%20fun"),
        ("name", 'a "b"; c'),
    )
    assert root.encoding == "BASE64"
    assert (root.id, root.md5) == ("<id@x>", "Q2hlY2sgSW50ZWdyaXR5IQ==")


def test_invalid_content_type_means_text_plain() -> None:
    _, root = parse_message(b"Content-Type: garbage\r\n\r\nx")
    assert (root.type, root.subtype, root.params) == ("text", "plain", (("charset", "us-ascii"),))


def test_nesting_bomb_is_cut_at_max_depth() -> None:
    depth = 5 * MAX_DEPTH
    level = b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n"
    data = b"".join(level % (i, i) for i in range(depth))
    _, root = parse_message(data)
    levels, part = 0, root
    while part.children:
        part, levels = part.children[0], levels + 1
    assert levels == MAX_DEPTH
    assert (part.type, part.subtype) == ("application", "octet-stream")


def test_message_rfc822_nesting_bomb() -> None:
    data = b"Content-Type: message/rfc822\r\n\r\n" * (5 * MAX_DEPTH)
    _, root = parse_message(data)
    check_offsets(root, 0, len(data))


def test_part_count_is_bounded() -> None:
    data = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\nx\r\n" * (
        2 * MAX_PARTS
    )
    _, root = parse_message(data)
    assert len(root.children) < MAX_PARTS
    check_offsets(root, 0, len(data))


# --- section numbering and ranges (RFC 9051 §6.4.5) --------------------------------------


def test_find_section_numbering() -> None:
    _, root = parse_message(MIXED)
    alternative, pdf, forwarded = root.children
    assert find_section(root, (1,)) is alternative
    assert find_section(root, (1, 2)) is alternative.children[1]
    assert find_section(root, (2,)) is pdf
    assert find_section(root, (3,)) is forwarded
    # The forwarded message is not multipart: 3.1 is its body.
    assert find_section(root, (3, 1)) is forwarded.message
    for missing in ((0,), (4,), (2, 1), (1, 3), (3, 2), (3, 1, 1), (1, 1, 1)):
        assert find_section(root, missing) is None


def test_find_section_in_non_multipart_message() -> None:
    _, root = parse_message(b"Subject: x\r\n\r\nbody")
    assert find_section(root, (1,)) is root
    assert find_section(root, (2,)) is None
    assert find_section(root, (1, 1)) is None


def test_section_ranges() -> None:
    _, root = parse_message(MIXED)
    header_end = split_header(MIXED)
    assert section_range(root, (), "") == (0, len(MIXED))
    assert section_range(root, (), "HEADER") == (0, header_end)
    assert section_range(root, (), "HEADER.FIELDS") == (0, header_end)
    assert section_range(root, (), "TEXT") == (header_end, len(MIXED))
    assert section_range(root, (), "MIME") is None
    assert between(MIXED, section_range(root, (1, 1), "")).startswith(b"Caf=C3=A9")
    assert between(MIXED, section_range(root, (1, 1), "MIME")) == (
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    assert between(MIXED, section_range(root, (3,), "")) == INNER.removesuffix(b"\r\n")
    inner_header_end = split_header(INNER)
    assert between(MIXED, section_range(root, (3,), "HEADER")) == INNER[:inner_header_end]
    assert between(MIXED, section_range(root, (3,), "TEXT")) == (
        b"Forwarded body line 1\r\nForwarded body line 2"
    )
    assert between(MIXED, section_range(root, (3, 1), "")) == (
        b"Forwarded body line 1\r\nForwarded body line 2"
    )
    assert section_range(root, (2,), "HEADER") is None  # not a message/rfc822
    assert section_range(root, (2,), "TEXT") is None
    assert section_range(root, (9,), "") is None


def test_body_1_of_single_part_message() -> None:
    data = b"Subject: x\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    _, root = parse_message(data)
    assert between(data, section_range(root, (1,), "")) == b"hello\r\n"
    assert between(data, section_range(root, (1,), "MIME")) == data[: split_header(data)]


# --- decoding, text and preview -------------------------------------------------------------


def test_decode_body() -> None:
    assert decode_body(b"aGVsbG8g\r\nd29ybGQ=\r\n", "BASE64") == b"hello world"
    assert decode_body(b"aGVsbG8", "base64") == b"hello"  # missing padding tolerated
    assert decode_body(b"a=3Db=\r\nc=\r\n", "quoted-printable") == b"a=bc"
    assert decode_body(b"raw\x00\xff", "8bit") == b"raw\x00\xff"
    assert decode_body(b"raw", " Binary ") == b"raw"
    assert decode_body(b"x", "x-uuencode") is None


def test_preview_prefers_plain_and_drops_quotes() -> None:
    _, root = parse_message(MIXED)
    assert preview(MIXED, root) == "Café tomorrow at 3? See you. Alice"


def test_preview_falls_back_to_html() -> None:
    data = (
        b"Content-Type: text/html; charset=iso-8859-1\r\n\r\n"
        b"<html><head><title>T</title><script>var x = '<p>';</script></head>"
        b"<body><p>Gr\xfc&szlig;e</p>  <div>a &lt; b</div><!-- hidden --></body></html>"
    )
    _, root = parse_message(data)
    assert preview(data, root) == "Grüße a < b"


def test_preview_is_at_most_256_characters_and_skips_attachments() -> None:
    data = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nnot me\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\n" + b"word " * 200 + b"\r\n--b--\r\n"
    )
    _, root = parse_message(data)
    text = preview(data, root)
    assert len(text) == 256 and text.startswith("word word")
    image = b"Content-Type: image/png\r\n\r\nxx"
    assert preview(image, parse_message(image)[1]) == ""


@given(st.lists(st.sampled_from(["> quoted", "word", "  ", "é" * 40, "x" * 300, "", "a b\tc"])))
def test_preview_is_the_start_of_the_unquoted_words(lines: list[str]) -> None:
    body = "\r\n".join(lines).encode()
    data = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
    unquoted = [line for line in lines if not line.lstrip().startswith(">")]
    assert preview(data, parse_message(data)[1]) == " ".join(" ".join(unquoted).split())[:256]


@given(
    st.lists(st.sampled_from(["> quoted", "word", "  ", "é" * 40, "x" * 300, "", "a b\tc"])),
    st.integers(min_value=1, max_value=400),
    st.sampled_from(["7bit", "base64", "quoted-printable"]),
)
def test_a_preview_from_the_first_octets_is_the_whole_texts(
    lines: list[str], first: int, encoding: str
) -> None:
    # roost.proto.mime_text._preview_of reads a prefix first: whatever the cut, and the
    # transfer encoding, it gives the preview of the whole text.
    body = "\r\n".join(lines).encode()
    if encoding == "base64":
        encoded = base64.encodebytes(body)
    elif encoding == "quoted-printable":
        encoded = quopri.encodestring(body)
    else:
        encoded = body
    data = (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
        + encoding.encode()
        + b"\r\n\r\n"
        + encoded
    )
    root = parse_message(data)[1]
    unquoted = [line for line in lines if not line.lstrip().startswith(">")]
    whole = " ".join(" ".join(unquoted).split())[:256]
    assert mime_text._preview_of(data, root, first) == whole


def test_body_text_covers_every_text_part() -> None:
    _, root = parse_message(MIXED)
    text = body_text(MIXED, root)
    assert "Café tomorrow at 3? See you." in text
    assert "Café & cake" in text
    assert "p {}" not in text
    assert "Forwarded body line 2" in text
    assert "PDF" not in text


# --- storage form ----------------------------------------------------------------------------


def test_serialize_round_trip() -> None:
    _, root = parse_message(MIXED)
    blob = serialize_parts(root)
    assert deserialize_parts(blob) == root
    assert len(blob) < len(MIXED)


# --- properties ------------------------------------------------------------------------------

LINES = st.sampled_from(
    [
        b"--b\r\n",
        b"--b--\r\n",
        b"--c\n",
        b"--c--\n",
        b"\r\n",
        b"\n",
        b"text\r\n",
        b"Content-Type: multipart/mixed; boundary=c\r\n",
        b"Content-Type: multipart/digest; boundary=b\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: text/plain; charset=utf-8\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Subject: =?utf-8?q?x?=\r\n",
        b"To: g: a@b, <c@d>;\r\n",
        b" folded\r\n",
        b"\x00\xff\r\n",
    ]
)
MIME_LIKE = st.lists(LINES, max_size=40).map(
    lambda lines: b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"".join(lines)
)


def check_message(data: bytes) -> None:
    _, root = parse_message(data)
    check_offsets(root, 0, len(data))
    assert root.start == 0 and root.end == len(data)
    assert deserialize_parts(serialize_parts(root)) == root
    preview(data, root)
    body_text(data, root)
    decoded_headers(data[: root.body_start])
    header_fields(data[: root.body_start], {"subject"}, exclude=True)


@given(st.binary(max_size=2000))
def test_any_bytes_parse_within_bounds(data: bytes) -> None:
    check_message(data)


@settings(max_examples=300)
@given(MIME_LIKE)
def test_mime_like_bytes_parse_within_bounds(data: bytes) -> None:
    check_message(data)


@given(st.text(max_size=300))
def test_any_header_text_parses(text: str) -> None:
    check_message(("From: " + text + "\r\nTo: " + text + "\r\n\r\n").encode("utf-8", "replace"))


# Address lists, plain and not: the search text must name every address as local@domain
# whether decoded_headers parses the field or sees that it is written plainly already.
_ADDRESS_CHARS = st.sampled_from(list("ab.-_+=!#$%&'*/?^`{|}~é\t ()\"\\[]:;<>@,"))
_WORD = st.lists(_ADDRESS_CHARS, max_size=6).map("".join)
_SPEC = st.builds(lambda local, domain: f"{local}@{domain}", _WORD, _WORD)
_ITEM = st.one_of(
    _SPEC,
    st.builds(lambda name, spec: f"{name}<{spec}>", _WORD, _SPEC),
    st.builds(lambda name, spec: f"{name} <{spec}>", _WORD, _SPEC),
    st.builds(lambda name, spec: f'"{name}" <{spec}>', _WORD, _SPEC),
    _WORD,
)


@settings(max_examples=2000)
@given(st.lists(_ITEM, min_size=1, max_size=3).map(", ".join))
def test_decoded_headers_name_every_address(value: str) -> None:
    text = decoded_headers(b"To: " + value.encode() + b"\r\n\r\n")
    for address in parse_addresses(value.strip()):
        if address.mailbox is not None and address.host is not None:
            assert f"{address.mailbox}@{address.host}" in text


def test_decoded_headers_add_addresses_written_with_comments() -> None:
    text = decoded_headers(b"From: Al <al (x) @ (y) example.org>\r\nTo: b@example.org\r\n\r\n")
    assert text == "from: Al <al (x) @ (y) example.org> al@example.org\nto: b@example.org\n"
