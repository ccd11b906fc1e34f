"""The Store contract for expunge_uids (POP3's QUIT): the messages among the uids that still
exist go in one transaction, whatever their flags, and nothing else does. Part of the
contract suite (tests/store/contract.py, run once per engine); and, for SQLite, the one
hint it publishes after its commit (tests/store/recorder.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from roost.errors import MailErrorKind
from roost.model import ModSeq, Uid
from roost.notify.api import Hint
from roost.store.api import FlagMode, Store
from roost.store.engines.sqlite import DATABASE, SqliteStore
from tests.store.contract import (
    MISSING_MAILBOX,
    account_inbox,
    append,
    contract,
    highest,
    make,
    refused,
    uid_list,
)
from tests.store.recorder import Recorder


@contract
async def test_expunge_uids_removes_exactly_those_whatever_their_flags(store: Store) -> None:
    _, inbox = await account_inbox(store)
    uids = await append(store, inbox, make("A"), make("B"), make("C"), make("D"))
    # \Deleted on another message is an IMAP device's business: it stays.
    await store.store_flags(inbox.id, [uids[3]], FlagMode.ADD, frozenset({"\\Deleted"}))
    mark = await highest(store, inbox)
    assert await store.expunge_uids(inbox.id, [uids[2], uids[0]]) == [uids[0], uids[2]]
    after = await highest(store, inbox)
    assert after > mark
    assert await uid_list(store, inbox.id) == ([uids[1], uids[3]], after)
    changes = await store.changes_since(inbox.id, mark)
    # One modseq for the whole call: one transaction.
    assert changes.expunged == (uids[0], uids[2]) and changes.changed == ()
    assert (await store.changes_since(inbox.id, ModSeq(after - 1))).expunged == changes.expunged


@contract
async def test_expunge_uids_skips_messages_already_gone(store: Store) -> None:
    _, inbox = await account_inbox(store)
    uids = await append(store, inbox, make("A"), make("B"))
    await store.store_flags(inbox.id, [uids[0]], FlagMode.ADD, frozenset({"\\Deleted"}))
    await store.expunge(inbox.id)  # an IMAP device expunged A meanwhile
    mark = await highest(store, inbox)
    assert await store.expunge_uids(inbox.id, [uids[0], Uid(99)]) == []
    assert await highest(store, inbox) == mark  # nothing changed, no modseq taken
    assert await store.expunge_uids(inbox.id, [uids[0], uids[1]]) == [uids[1]]
    assert await uid_list(store, inbox.id) == ([], await highest(store, inbox))
    assert await store.expunge_uids(inbox.id, []) == []


@contract
async def test_expunge_uids_of_a_missing_mailbox(store: Store) -> None:
    await refused(MailErrorKind.NONEXISTENT, store.expunge_uids(MISSING_MAILBOX, [Uid(1)]))


def test_expunge_uids_publishes_one_hint_after_its_commit(tmp_path: Path) -> None:
    async def main() -> None:
        recorder = Recorder(tmp_path / DATABASE)
        store = await SqliteStore.open(tmp_path, recorder)
        try:
            account, inbox = await account_inbox(store)
            uids = await append(store, inbox, make("A"), make("B"))
            recorder.hints.clear()
            recorder.committed.clear()
            await store.expunge_uids(inbox.id, uids)
            await store.expunge_uids(inbox.id, uids)  # nothing left: no change, no hint
            assert recorder.hints == [Hint(account.id, inbox.id, await highest(store, inbox))]
            assert recorder.committed == [h.modseq for h in recorder.hints]
        finally:
            await store.close()

    asyncio.run(main())
