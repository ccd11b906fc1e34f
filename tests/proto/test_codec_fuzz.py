"""Mutation fuzzing of every codec besides IMAP's (issue 9; IMAP's is test_imap_fuzz.py).

Arbitrary bytes rarely get past a parser's first check, so each codec here is also fed
real inputs (sessions, documents, messages, names and addresses as clients and peers send
them) mutated by up to six edits: a byte flipped, a run deleted, a token of the grammar or
a piece of another seed inserted, a run repeated, the input cut short, a number replaced by
a boundary value. Each codec must
raise only its own protocol error and nothing else:

- POP3: `parse_command` raises only ProtocolError; the Receiver, fed whole and in pieces,
  returns only commands and BadCommand and keeps its buffer bounded.
- ActiveSync: WBXML `decode` raises only WbxmlError; every request parser (Sync, Ping,
  FolderSync, ...) given any decoded document, or any tree of real tag names, raises only
  ProtocolError; the request line (plain and base64 forms) likewise.
- MIME: parsing and describing a message (part tree, envelope, BODYSTRUCTURE, preview,
  search text, decoded headers) never raises, and every offset stays inside the message.
- Modified UTF-7 (mailbox names): `decode` raises only ProtocolError.
- Addresses: ENVELOPE's `parse_addresses` never raises; SMTP's `parse_path` answers None
  for what it cannot read, and `header_addresses` never raises.
- SASL: `decode_response` raises only ProtocolError, `parse_plain` never raises.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from roost.proto.addresses import parse_addresses
from roost.proto.eas import requests as eas
from roost.proto.eas.query import parse_request_line
from roost.proto.eas.wbxml import Element, WbxmlError, decode, encode
from roost.proto.errors import ProtocolError
from roost.proto.imap.bodystructure import render_bodystructure, render_envelope
from roost.proto.imap.mutf7 import decode as mutf7_decode
from roost.proto.mime import parse_message
from roost.proto.pop3.commands import Command, parse_command
from roost.proto.pop3.receiver import BadCommand, Receiver
from roost.proto.sasl import decode_response, parse_plain
from roost.smtp.message import header_addresses
from roost.smtp.policy import parse_path
from tests.proto.eas.test_wbxml import _trees
from tests.proto.test_mime import check_message

MUTATIONS = settings(max_examples=400, deadline=None)


def mutated(seeds: list[bytes], tokens: list[bytes]) -> st.SearchStrategy[bytes]:
    """A seed changed by up to six edits, each drawn from the seeds and the grammar."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 6))):
            at = draw(st.integers(0, len(data)))
            edit = draw(st.integers(0, 6))
            if edit == 0 and data:  # flip a byte
                at = min(at, len(data) - 1)
                data[at] = draw(st.integers(0, 255))
            elif edit == 1:  # delete a run
                del data[at : at + draw(st.integers(1, 16))]
            elif edit == 2:  # insert a token of the grammar
                data[at:at] = draw(st.sampled_from(tokens))
            elif edit == 3:  # insert a piece of another seed
                other = draw(st.sampled_from(seeds))
                start = draw(st.integers(0, len(other)))
                data[at:at] = other[start : start + draw(st.integers(1, 64))]
            elif edit == 4:  # repeat a run
                run = bytes(data[at : at + draw(st.integers(1, 8))])
                data[at:at] = run * draw(st.integers(1, 50))
            elif edit == 5:  # cut short
                del data[at:]
            elif runs := list(re.finditer(rb"\d+", data)):  # a number made interesting
                run = draw(st.sampled_from(runs))
                data[run.start() : run.end()] = draw(st.sampled_from(NUMBERS))
        return bytes(data)

    return build()


NUMBERS = [b"0", b"-1", b"4294967295", b"4294967296", b"99999999999999999999", b"1e9", b"\xff"]

# --- POP3

POP3_SESSION = [
    b"CAPA\r\n",
    b"USER alice@example.org\r\n",
    b"PASS correct horse battery staple\r\n",
    b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
    b"AUTH\r\n",
    b"STAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 1\r\n",
    b"RETR 1\r\nTOP 1 10\r\nDELE 3\r\nRSET\r\nNOOP\r\nQUIT\r\n",
    b"STLS\r\n",
]
POP3_TOKENS = [b" ", b"\r\n", b"\n", b"\r", b"\x00", b"=", b"AUTH ", b"TOP ", b"LIST ", b"USER "]


@MUTATIONS
@given(mutated(POP3_SESSION, POP3_TOKENS))
def test_pop3_command_parser_raises_only_protocol_error(data: bytes) -> None:
    for line in data.split(b"\r\n"):
        try:
            parse_command(line)
        except ProtocolError:
            pass


@MUTATIONS
@given(mutated([b"".join(POP3_SESSION), *POP3_SESSION], POP3_TOKENS), st.integers(1, 40))
def test_pop3_receiver_gives_only_events(data: bytes, piece: int) -> None:
    receiver = Receiver(max_line=64)
    for start in range(0, len(data), piece):
        receiver.receive_data(data[start : start + piece])
        while True:
            event = receiver.next_event()
            if not isinstance(event, Command | BadCommand):
                break  # needs more
        assert len(receiver._buffer) <= 64 + piece


# --- ActiveSync: WBXML and the requests


def A(tag: str, *children: Element, value: str | None = None, ns: str = "AirSync") -> Element:
    return Element(ns, tag, children, value)


EAS_DOCUMENTS = [
    A(
        "Sync",
        A(
            "Collections",
            A(
                "Collection",
                A("SyncKey", value="S1.2.3.0.0"),
                A("CollectionId", value="5"),
                A("GetChanges", value="1"),
                A("WindowSize", value="100"),
                A(
                    "Options",
                    A("FilterType", value="3"),
                    A("BodyPreference", A("Type", value="2", ns="AirSyncBase"), ns="AirSyncBase"),
                ),
                A(
                    "Commands",
                    A("Change", A("ServerId", value="5:12"), A("ApplicationData")),
                    A("Delete", A("ServerId", value="5:13")),
                    A("Fetch", A("ServerId", value="5:14")),
                ),
            ),
        ),
    ),
    Element(
        "Ping",
        "Ping",
        (
            Element("Ping", "HeartbeatInterval", (), "480"),
            Element(
                "Ping",
                "Folders",
                (
                    Element(
                        "Ping",
                        "Folder",
                        (Element("Ping", "Id", (), "5"), Element("Ping", "Class", (), "Email")),
                    ),
                ),
            ),
        ),
    ),
    Element("FolderHierarchy", "FolderSync", (Element("FolderHierarchy", "SyncKey", (), "0"),)),
    Element(
        "ItemOperations",
        "ItemOperations",
        (
            Element(
                "ItemOperations",
                "Fetch",
                (
                    Element("ItemOperations", "Store", (), "Mailbox"),
                    A("CollectionId", value="5"),
                    A("ServerId", value="5:12"),
                ),
            ),
        ),
    ),
]
EAS_SEEDS = [encode(document) for document in EAS_DOCUMENTS]
WBXML_TOKENS = [b"\x00", b"\x01", b"\x03", b"\x83", b"\x40", b"\x80", b"\xc3\xff\xff\xff\x7f"]
PARSERS: list[Callable[[Element], Any]] = [
    eas.parse_provision,
    eas.parse_folder_sync,
    eas.parse_sync,
    eas.parse_ping,
    eas.parse_item_operations,
    eas.parse_get_item_estimate,
    eas.parse_move_items,
    eas.parse_folder_change,
    eas.parse_search,
    eas.parse_settings,
    eas.parse_find,
    eas.parse_send_mail,
    eas.parse_smart,
]


def every_request_parser(document: Element) -> None:
    for parse in PARSERS:
        try:
            parse(document)
        except ProtocolError:
            pass


@MUTATIONS
@given(mutated(EAS_SEEDS, WBXML_TOKENS))
def test_wbxml_and_requests_raise_only_their_errors(data: bytes) -> None:
    try:
        document = decode(data)
    except WbxmlError:
        return
    every_request_parser(document)


# Values a number or a range is read from: "²" and "٣" are digits to str.isdigit(), and
# int() refuses the first.
VALUES = ["0", "-1", "4294967296", "99999999999999999999", "²", "٣", "1-²", "²-3", " 5 ", ""]


@st.composite
def revalued(draw: st.DrawFn) -> Element:
    """A real request with some of its values replaced."""

    def walk(element: Element) -> Element:
        value = element.value
        if not element.children and draw(st.booleans()):
            value = draw(st.sampled_from(VALUES) | st.text(max_size=8))
        return Element(element.namespace, element.tag, tuple(map(walk, element.children)), value)

    return walk(draw(st.sampled_from(EAS_DOCUMENTS)))


@settings(max_examples=300, deadline=None)
@given(_trees | revalued())
def test_requests_of_any_shape_raise_only_protocol_error(document: Element) -> None:
    every_request_parser(document)


QUERIES = [
    b"Cmd=Sync&User=alice%40example.org&DeviceId=ABC&DeviceType=iPhone&CollectionId=7",
    base64.b64encode(bytes([141, 0, 1, 4]) + b"4142" + b"\x04" + b"\x00\x00\x00\x00" + b"\x02SP"),
]


@MUTATIONS
@given(mutated(QUERIES, [b"&", b"=", b"%", b"%4", b"Cmd=", b"AAAA", b"/"]))
def test_request_lines_raise_only_protocol_error(data: bytes) -> None:
    headers = {"MS-ASProtocolVersion": "14.1", "X-MS-PolicyKey": "42"}
    try:
        parse_request_line(data.decode("latin-1"), headers)
    except ProtocolError:
        pass


# --- MIME

MESSAGES = [
    b'From: Alice <alice@example.org>\r\nTo: bob@example.org, "Carol C." <carol@x.test>\r\n'
    b"Subject: =?UTF-8?B?w6lsw6k=?= and =?ISO-8859-1?Q?caf=E9?=\r\nMessage-ID: <1@x>\r\n"
    b"Date: Sun, 06 Dec 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\npreamble\r\n--outer\r\n'
    b'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n--inner\r\n'
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
    b"\r\n\r\nhello =C3=A9t=C3=A9\r\n--inner\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n"
    b"--inner--\r\n--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody"
    b'\r\n--outer\r\nContent-Type: application/pdf; name="a.pdf"\r\n'
    b"Content-Disposition: attachment; filename*=UTF-8''%C3%A9.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--outer--\r\nepilogue\r\n",
    b"Subject: plain\nTo: undisclosed-recipients:;\nCc: group: a@b, c@d;\n\nbare LF body\n",
    b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: x\r\n\r\ny\r\n--d--",
]
MIME_TOKENS = [
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b"--outer",
    b"--inner--",
    b"Content-Type: multipart/mixed; boundary=outer\r\n",
    b"Content-Type: message/rfc822\r\n\r\n",
    b"=?UTF-8?Q?",
    b"?=",
    b"=?",
    b'"',
    b"(",
    b")",
    b"<",
    b">",
    b"@",
    b",",
    b";",
    b":",
    b"\\",
    b"charset=",
    b"*0*=",
    b"'",
]


@MUTATIONS
@given(mutated(MESSAGES, MIME_TOKENS))
def test_mime_description_never_raises(data: bytes) -> None:
    check_message(data)
    envelope, root = parse_message(data)
    render_envelope(envelope)
    render_bodystructure(root, True)


# --- modified UTF-7, addresses, SASL

MAILBOX_NAMES = [b"INBOX", b"Entw&APw-rfe", b"&ZeVnLIqe-/&U,BTFw-", b"a&-b", b"&AGEAYgBj-"]


@MUTATIONS
@given(mutated(MAILBOX_NAMES, [b"&", b"-", b"+", b",", b"/", b"&AAA-", b"&2D3eAA-"]))
def test_modified_utf7_raises_only_protocol_error(data: bytes) -> None:
    try:
        mutf7_decode(data.decode("latin-1"))
    except ProtocolError:
        pass


ADDRESSES = [
    b'"Alice A." <alice@example.org>, bob@example.org (Bob)',
    b"group: a@b.test, <@route,@r2:c@d.test>;, e@[192.0.2.1]",
    b"=?UTF-8?B?w6k=?= <x@y>, undisclosed-recipients:;",
    b'"quoted\\" local"@example.org',
]
ADDRESS_TOKENS = [b"<", b">", b"@", b",", b";", b":", b'"', b"\\", b"(", b")", b"[", b"]"]


@MUTATIONS
@given(mutated(ADDRESSES, ADDRESS_TOKENS))
def test_addresses_parse_without_raising(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    parse_addresses(text)
    header_addresses(b"To: " + data + b"\r\nCc: " + data + b"\r\n\r\n", "to")
    for path in (text, f"<{text}>"):
        assert parse_path(path) is None or isinstance(parse_path(path), str)


@MUTATIONS
@given(mutated([b"AGFsaWNlAHNlY3JldA==", b"=", b"*", b"YQBiAGM="], [b"=", b"+", b"/", b"\x00"]))
def test_sasl_raises_only_protocol_error(data: bytes) -> None:
    try:
        message = decode_response(data)
    except ProtocolError:
        return
    parse_plain(message)
