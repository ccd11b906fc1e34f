"""FETCH of header sections reads only each message's header from its blob (fetch.py,
_message_bytes), and answers byte for byte what reading the whole message answers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from roost.delivery import analyse
from roost.imap.commands import fetch
from roost.model import BlobId
from roost.store.api import NewMessage
from roost.store.mail.store import MailStore
from tests.imap.test_cached_fetch import answer, message
from tests.imap.transcript import Scene

HEADER_ITEMS = (
    "BODY.PEEK[HEADER]",
    "BODY.PEEK[HEADER.FIELDS (Subject From)]",
    "body.peek[header.fields.not (to date)]",
    "RFC822.HEADER",
    "BODY.PEEK[HEADER]<5.20>",
    "UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID REFERENCES)]",
)
WHOLE_ITEMS = ("BODY.PEEK[1.HEADER]", "BODY.PEEK[TEXT] BODY.PEEK[HEADER]", "RFC822.SIZE BODY[]")
ODD = (
    b"Subject: no body, no blank line\r\nFrom: a@example.org\r\n",
    b"Subject: bare LF\nFrom: b@example.org\n\nbody\n",
    b"\r\nno header at all\r\n",
)


def test_header_sections_read_only_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[list[int] | None] = []

    async def main() -> None:
        async with Scene(tmp_path) as s:
            rng = random.Random(9)
            inbox = await s.store.find_mailbox(s.account.id, "INBOX")
            odd = [NewMessage(data=data, parsed=analyse(data)) for data in ODD]
            await s.store.append(inbox.id, [message(n, rng) for n in range(40)] + odd)
            await s.login(1)
            one = s.clients["1"]
            await answer(one, "s SELECT INBOX")
            store_class = type(s.store)
            original = store_class.read_blobs

            async def spy(
                self: MailStore, blobs: Sequence[BlobId], *, prefixes: Sequence[int] | None = None
            ) -> list[bytes]:
                reads.append(None if prefixes is None else list(prefixes))
                return await original(self, blobs, prefixes=prefixes)

            monkeypatch.setattr(store_class, "read_blobs", spy)
            for number, items in enumerate(HEADER_ITEMS):
                reads.clear()
                headers = await answer(one, f"h{number} FETCH 1:* ({items})")
                assert reads and all(r is not None for r in reads), items
                with monkeypatch.context() as m:
                    m.setattr(fetch, "_header_only", lambda item: False)
                    whole = await answer(one, f"h{number} FETCH 1:* ({items})")
                assert headers == whole, items
                assert headers.count(b" FETCH (") == 43
            for number, items in enumerate(WHOLE_ITEMS):
                reads.clear()
                await answer(one, f"w{number} FETCH 1:* ({items})")
                assert reads and all(r is None for r in reads), items

    asyncio.run(main())
