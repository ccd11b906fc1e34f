"""The store checks itself (roost.store.mail.check, `roost check`): counters, usage, UIDNEXT
and HIGHESTMODSEQ against the messages, on both engines; damaged message files (SQLite's)
reported, never served and never deleted by a repair."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roost.errors import MailError, MailErrorKind
from roost.model import Uid
from roost.store.api import FlagMode, MessageField, Store
from roost.store.engines.sqlite import SqliteStore
from roost.store.engines.sqlite.blobs import INLINE_LIMIT
from roost.store.mail.store import MailStore
from tests.store.contract import account_inbox, contract, make
from tests.store.ondisk import damage


async def sql(store: MailStore, statement: str) -> None:
    await store._engine.run(lambda tx: tx.execute(statement), write=True)


@contract
async def test_a_sound_store_is_clean(store: Store) -> None:
    assert isinstance(store, MailStore)
    _, inbox = await account_inbox(store)
    await store.append(inbox.id, [make("a"), make("b", flags=["\\Seen"])])
    await store.store_flags(inbox.id, [Uid(1)], FlagMode.ADD, frozenset({"\\Deleted"}))
    await store.expunge(inbox.id)
    report = await store.check()
    assert report.clean and report.blobs_checked == 1, report.findings


@contract
async def test_broken_counters_are_found_and_repaired(store: Store) -> None:
    assert isinstance(store, MailStore)
    _, inbox = await account_inbox(store)
    await store.append(inbox.id, [make("a"), make("b")])
    await sql(store, f"UPDATE mailboxes SET message_count = 7, uidnext = 2 WHERE id = {inbox.id}")
    await sql(store, "UPDATE accounts SET storage_used = 0")
    report = await store.check()
    texts = [f.text for f in report.findings]
    assert any("MESSAGES is 7, the messages say 2" in t for t in texts), texts
    assert any("UIDNEXT 2 is not above UID 2" in t for t in texts), texts
    assert any("quota usage is 0 octets" in t for t in texts), texts
    repaired = await store.check(repair=True)
    assert repaired.repaired and repaired.clean, repaired.findings
    status = await store.status(inbox.id)
    assert status.messages == 2 and status.mailbox.uidnext == 3
    assert (await store.append(inbox.id, [make("c")])).uids == (3,)


# A small message lives in the database, a large one in a file (roost.store.engines.sqlite.blobs).
@pytest.mark.parametrize("size", [10, INLINE_LIMIT + 1], ids=["in the database", "a file"])
def test_a_damaged_message_is_reported_and_never_served(tmp_path: Path, size: int) -> None:
    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            await store.append(inbox.id, [make("kept"), make("damaged", "z" * size)])
            [(_, blob)] = await store.fetch_fields(inbox.id, [Uid(2)], [MessageField.BLOB_ID])
            damage(tmp_path, blob, b"damaged", b"DAMAGED")
            with pytest.raises(MailError) as refused:
                await store.read_blobs([blob])
            assert refused.value.kind is MailErrorKind.CORRUPTED
            # A header read is a prefix: it cannot be checked, and is still served.
            assert (await store.read_blobs([blob], prefixes=[10]))[0]
            report = await store.check(repair=True)
            [finding] = report.findings
            assert blob in finding.text and "'INBOX' UID 2" in finding.text
            assert not finding.repairable
            assert (await store.status(inbox.id)).messages == 2  # nothing deleted
        finally:
            await store.close()

    asyncio.run(main())
