"""The store's part in a migration that keeps UIDs (roost migrate): a mailbox that never
held a message takes the source's UIDVALIDITY, and append keeps the UIDs messages name."""

from __future__ import annotations

from roost.errors import MailErrorKind
from roost.model import ModSeq, Uid, UidValidity
from roost.store.api import NewMessage, Store
from tests.store.contract import account_inbox, append, contract, make, refused, uid_list


def with_uid(message: NewMessage, uid: int) -> NewMessage:
    return NewMessage(data=message.data, parsed=message.parsed, flags=message.flags, uid=Uid(uid))


@contract
async def test_append_keeps_the_uids_messages_name(store: Store) -> None:
    _, inbox = await account_inbox(store)
    result = await store.append(inbox.id, [with_uid(make("a"), 3), with_uid(make("b"), 7)])
    assert result.uids == (3, 7)
    assert (await uid_list(store, inbox.id))[0] == [3, 7]
    assert (await store.get_mailbox(inbox.id)).uidnext == 8
    # The UIDs skipped are never used; the next message the store numbers comes after.
    assert await append(store, inbox) == [8]
    status = await store.status(inbox.id)
    assert status.messages == 3


@contract
async def test_given_uids_must_ascend_from_uidnext(store: Store) -> None:
    _, inbox = await account_inbox(store)
    await store.append(inbox.id, [with_uid(make("a"), 5)])
    for batch in (
        [with_uid(make("b"), 5)],  # not above what is there
        [with_uid(make("b"), 9), with_uid(make("c"), 8)],  # not ascending
        [with_uid(make("b"), 9), make("c")],  # some given, some not
    ):
        await refused(MailErrorKind.CANNOT, store.append(inbox.id, batch))
    assert (await uid_list(store, inbox.id))[0] == [5]
    assert (await store.get_mailbox(inbox.id)).uidnext == 6


@contract
async def test_a_mailbox_that_never_held_mail_takes_a_given_uidvalidity(store: Store) -> None:
    account, inbox = await account_inbox(store)
    changed = await store.set_uidvalidity(inbox.id, UidValidity(4_000_000_000))
    assert changed.uidvalidity == 4_000_000_000
    assert (await store.find_mailbox(account.id, "INBOX")).uidvalidity == 4_000_000_000
    # Mailboxes created later still get values never seen in the account.
    later = await store.create_mailbox(account.id, "Later")
    assert later.uidvalidity > 4_000_000_000
    await append(store, inbox)
    await refused(MailErrorKind.CANNOT, store.set_uidvalidity(inbox.id, UidValidity(5)))
    # Expunged mail counts too: the mailbox's UIDs were handed out under its UIDVALIDITY.
    await store.expunge_uids(inbox.id, (await uid_list(store, inbox.id))[0])
    await refused(MailErrorKind.CANNOT, store.set_uidvalidity(inbox.id, UidValidity(5)))
    empty = await store.create_mailbox(account.id, "Empty")
    await refused(MailErrorKind.CANNOT, store.set_uidvalidity(empty.id, UidValidity(0)))


@contract
async def test_a_migrated_mailbox_continues_above_the_sources_highestmodseq(store: Store) -> None:
    account, inbox = await account_inbox(store)
    changed = await store.set_uidvalidity(inbox.id, UidValidity(77), ModSeq(90_000))
    assert changed.highestmodseq == 90_000
    result = await store.append(inbox.id, [with_uid(make("a"), 12)])
    assert result.modseq > 90_000
    # A device that saw the source up to its MODSEQ 90,000 hears of the message.
    changes = await store.changes_since(inbox.id, ModSeq(90_000))
    assert [c.uid for c in changes.changed] == [12]
    # Lower than the mailbox's own: it never goes down.
    fresh = await store.create_mailbox(account.id, "Fresh")
    kept = await store.set_uidvalidity(fresh.id, UidValidity(78), ModSeq(0))
    assert kept.highestmodseq == fresh.highestmodseq
