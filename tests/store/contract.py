"""The Store contract's helpers: `@contract` and the messages and accounts tests start from.

Each contract test is an `async def` taking an opened store; `@contract` runs it once per
engine in ENGINES, through the `open_store` fixture of conftest.py. There is no
pytest-asyncio: the decorator drives the coroutine with asyncio.run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import pytest

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, MailboxId, ModSeq, ParsedMessage, Uid
from roost.store.api import Account, Mailbox, NewMessage, Store

OpenStore = Callable[[], Awaitable[Store]]
StoreTest = Callable[[Store], Coroutine[Any, Any, None]]

MISSING_ACCOUNT = AccountId(10**6)
MISSING_MAILBOX = MailboxId(10**6)

# The engines every contract test runs on (the open_store fixture of conftest.py).
ENGINES = ("sqlite", "postgresql")


def contract(body: StoreTest) -> Callable[[OpenStore], None]:
    def test(open_store: OpenStore) -> None:
        async def main() -> None:
            store = await open_store()
            try:
                await body(store)
            finally:
                await store.close()

        asyncio.run(main())

    test.__name__ = body.__name__
    test.__doc__ = body.__doc__
    return test


# ----- helpers ----------------------------------------------------------------------


def make(
    subject: str = "Hello",
    body: str = "Hello world",
    *,
    sender: str = "alice@example.org",
    sent: datetime | None = None,
    flags: Sequence[str] = (),
    internaldate: datetime | None = None,
) -> NewMessage:
    """A message and a hand-made ParsedMessage (the store treats rendered parts as opaque)."""
    headers = [("From", sender), ("To", "bob@example.org"), ("Subject", subject)]
    if sent is not None:
        headers.append(("Date", format_datetime(sent)))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    data = (head + body + "\r\n").encode()
    parsed = ParsedMessage(
        size=len(data),
        header_size=len(head.encode()),
        envelope=f'(NIL "{subject}")'.encode(),
        bodystructure=b'("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 1 1 NIL NIL NIL)',
        body=b'("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 1 1)',
        parts=b"\x00parts",
        preview=body[:256],
        headers_text="\n".join(f"{name}: {value}" for name, value in headers),
        body_text=body,
        sent_date=sent,
        message_id=f"<{subject}@example.org>",
    )
    return NewMessage(data=data, parsed=parsed, flags=frozenset(flags), internaldate=internaldate)


async def account_inbox(store: Store, address: str = "bob@example.org") -> tuple[Account, Mailbox]:
    account = await store.create_account(address, "hash")
    return account, await store.find_mailbox(account.id, "INBOX")


async def uid_list(store: Store, mailbox: MailboxId) -> tuple[list[Uid], ModSeq]:
    uids, modseq = await store.uids(mailbox)
    return list(uids), modseq


async def append(store: Store, mailbox: Mailbox, *messages: NewMessage) -> list[Uid]:
    return list((await store.append(mailbox.id, messages or (make(),))).uids)


async def highest(store: Store, mailbox: Mailbox) -> ModSeq:
    return (await store.get_mailbox(mailbox.id)).highestmodseq


async def flags_of(store: Store, mailbox: Mailbox) -> dict[Uid, frozenset[str]]:
    uids, _ = await store.uids(mailbox.id)
    return {f.uid: f.flags for f in await store.fetch_flags(mailbox.id, uids)}


async def refused(kind: MailErrorKind, call: Awaitable[object]) -> None:
    with pytest.raises(MailError) as caught:
        await call
    assert caught.value.kind is kind
