"""Retention (roost.store.mail.retention): old tombstones and change-log rows are folded into
floors, and every answer after that is still right, only less precise (issue 10, point 8).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from roost.errors import MailError, MailErrorKind
from roost.model import ModSeq, Uid
from roost.store.api import FlagMode, Store
from roost.store.mail.store import MailStore
from tests.store.contract import account_inbox, contract, make

EVERYTHING = timedelta(seconds=-5)  # a horizon in the future: every row counts as old


@contract
async def test_folded_tombstones_leave_a_floor_and_exact_answers_after_it(store: Store) -> None:
    assert isinstance(store, MailStore)
    account, inbox = await account_inbox(store)
    added = await store.append(inbox.id, [make(str(n)) for n in range(6)])
    before = added.modseq
    await store.store_flags(inbox.id, [Uid(2), Uid(4)], FlagMode.ADD, frozenset({"\\Deleted"}))
    await store.expunge(inbox.id)
    old_uids, _ = await store.uids(inbox.id)  # cached before the fold

    done = await store.maintain(retention=EVERYTHING)
    assert done.tombstones == 2 and done.log_rows > 0

    changes = await store.changes_since(inbox.id, before)
    assert not changes.complete_since(before)
    assert changes.vanished_floor == changes.highestmodseq
    assert changes.complete_since(changes.highestmodseq)
    # Changes after the floor are listed one by one again.
    await store.store_flags(inbox.id, [Uid(5)], FlagMode.ADD, frozenset({"\\Deleted"}))
    await store.expunge(inbox.id)
    later = await store.changes_since(inbox.id, changes.highestmodseq)
    assert later.complete_since(changes.highestmodseq) and later.expunged == (5,)
    uids, _ = await store.uids(inbox.id)
    assert list(uids) == [1, 3, 6] and list(old_uids) == [1, 3, 5, 6]
    # The account log: asked from before its floor, refused (the device lists again).
    with pytest.raises(MailError) as refused:
        await store.account_changes_since(account.id, ModSeq(0))
    assert refused.value.kind is MailErrorKind.CANNOT
    now = await store.account_changes_since(account.id, ModSeq(2**62))
    again = await store.account_changes_since(account.id, now.modseq)
    assert not again.messages


@contract
async def test_recent_history_is_kept(store: Store) -> None:
    assert isinstance(store, MailStore)
    account, inbox = await account_inbox(store)
    added = await store.append(inbox.id, [make("a"), make("b")])
    await store.store_flags(inbox.id, [Uid(1)], FlagMode.ADD, frozenset({"\\Deleted"}))
    await store.expunge(inbox.id)
    done = await store.maintain(retention=timedelta(days=180))
    assert (done.tombstones, done.log_rows) == (0, 0)
    changes = await store.changes_since(inbox.id, added.modseq)
    assert changes.complete_since(added.modseq) and changes.expunged == (1,)
    assert (await store.account_changes_since(account.id, ModSeq(0))).messages
