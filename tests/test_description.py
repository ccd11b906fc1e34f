"""A message's stored description is protocol-neutral (issue 10): its envelope fields and
MIME part tree alone give back IMAP's ENVELOPE, BODYSTRUCTURE and BODY byte for byte, so
the rendered IMAP bytes the store keeps are a cache of the description, not the truth."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from roost.delivery import analyse, render_imap
from roost.proto import mime
from roost.store.api import MessageField, NewMessage
from roost.store.engines.sqlite import SqliteStore
from tests.proto.test_bodystructure import INNER_ENVELOPE, NESTED
from tests.proto.test_mime import INNER, MIME_LIKE, MIXED

MIME_CORPUS = [MIXED, INNER, NESTED, INNER_ENVELOPE, b"no header at all\r\n", b"Subject: x\r\n"]


def described_again(data: bytes) -> None:
    parsed = analyse(data)
    assert parsed.envelope_fields is not None
    envelope = mime.deserialize_envelope(parsed.envelope_fields)
    root = mime.deserialize_parts(parsed.parts)
    assert render_imap(envelope, root) == (parsed.envelope, parsed.bodystructure, parsed.body)
    assert mime.serialize_envelope(envelope) == parsed.envelope_fields


def test_the_corpus_renders_again_from_its_description() -> None:
    for data in MIME_CORPUS:
        described_again(data)


_HEADER = st.sampled_from(
    [
        b"From: =?utf-8?q?Andr=C3=A9?= <andre@example.org>, bob@example.org\r\n",
        b"To: undisclosed-recipients:;\r\n",
        b"Cc: a (comment) <c@d.example>\r\n",
        b"Subject: =?iso-8859-1?q?caf=E9?=\r\n",
        b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n",
        b"Message-ID: <x@y>\r\nIn-Reply-To: <w@y>\r\n",
        b'Content-Type: multipart/mixed; boundary="b"\r\n',
        b"Content-Type: text/html; charset=utf-8\r\n",
    ]
)


@settings(max_examples=60)
@given(st.lists(_HEADER, max_size=6), st.binary(max_size=200))
def test_any_message_renders_again_from_its_description(headers: list[bytes], body: bytes) -> None:
    described_again(b"".join(headers) + b"\r\n" + body.replace(b"\r", b"") + b"\r\n--b--\r\n")


@settings(max_examples=60)
@given(MIME_LIKE)
def test_any_part_tree_renders_again_from_its_description(data: bytes) -> None:
    described_again(data)


def test_the_store_keeps_the_description(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            account = await store.create_account("a@example.org", "hash")
            inbox = await store.find_mailbox(account.id, "INBOX")
            data = MIME_CORPUS[0]
            await store.append(inbox.id, [NewMessage(data=data, parsed=analyse(data))])
            [row] = await store.fetch_fields(inbox.id, [1], [MessageField.ENVELOPE_FIELDS])
            assert row[1] == analyse(data).envelope_fields
        finally:
            await store.close()

    asyncio.run(main())
