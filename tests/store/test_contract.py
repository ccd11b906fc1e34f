"""The Store contract: one suite that every engine must pass (DESIGN.md "The store").

Each test is an `async def` taking an opened store; `@contract` (tests/store/contract.py)
runs it once per engine: SQLite and PostgreSQL. Only engine-neutral tests belong here; an
engine's own are beside it (test_sqlite_engine.py, test_postgresql_engine.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from roost.errors import MailError, MailErrorKind
from roost.model import (
    DEFAULT_MAILBOXES,
    SYSTEM_FLAGS,
    BlobId,
    ModSeq,
    SortFields,
    Uid,
)
from roost.store.api import (
    Account,
    Alias,
    All,
    And,
    AppendResult,
    ArrivedAfter,
    BodyContains,
    DateBefore,
    DateField,
    DateOnOrAfter,
    FlagMode,
    HasFlag,
    HeaderContains,
    Mailbox,
    MailboxChangeKind,
    ModSeqAtLeast,
    NewMessage,
    Not,
    Or,
    Query,
    Quota,
    SizeLarger,
    SizeSmaller,
    SortField,
    SortKey,
    Store,
    TextContains,
    ThreadInfo,
    UidIn,
)
from roost.store.blobs import blob_id_of
from roost.store.mail.store import MailStore
from tests.store.contract import (
    MISSING_ACCOUNT,
    MISSING_MAILBOX,
    OpenStore,
    account_inbox,
    append,
    contract,
    flags_of,
    highest,
    make,
    refused,
    uid_list,
)

# ----- domains and accounts -----------------------------------------------------------


@contract
async def test_domains(store: Store) -> None:
    await store.add_domain("Example.COM")
    await store.add_domain("example.com")
    await store.add_domain("other.net")
    assert await store.list_domains() == ["example.com", "other.net"]
    assert await store.is_local_domain("EXAMPLE.com")
    assert not await store.is_local_domain("nowhere.org")


@contract
async def test_create_account_makes_domain_local_and_default_mailboxes(store: Store) -> None:
    account = await store.create_account("Bob@Example.ORG", "hash")
    assert account.address == "Bob@example.org"
    assert await store.is_local_domain("example.org")
    mailboxes = await store.list_mailboxes(account.id)
    expected = sorted([("INBOX", None), *DEFAULT_MAILBOXES])
    assert [(m.name, m.special_use) for m in mailboxes] == expected
    assert all(m.subscribed for m in mailboxes)
    assert await store.list_subscriptions(account.id) == [name for name, _ in expected]
    assert len({m.uidvalidity for m in mailboxes}) == len(mailboxes)


@contract
async def test_accounts_find_list_password_delete(store: Store) -> None:
    bob, bob_inbox = await account_inbox(store, "bob@example.org")
    alice = await store.create_account("alice@example.org", "h2")
    await append(store, bob_inbox, make())
    await refused(MailErrorKind.ALREADY_EXISTS, store.create_account("BOB@EXAMPLE.ORG", "x"))
    assert await store.find_account("bob@EXAMPLE.org") == bob
    assert await store.find_account("carol@example.org") is None
    assert await store.find_account("not an address") is None
    assert await store.list_accounts() == [alice, bob]
    await store.set_password("bob@example.org", "h3")
    found = await store.find_account("bob@example.org")
    assert found is not None and found.password_hash == "h3"
    await store.delete_account("bob@example.org")
    assert await store.find_account("bob@example.org") is None
    await refused(MailErrorKind.NONEXISTENT, store.get_mailbox(bob_inbox.id))
    await refused(MailErrorKind.NONEXISTENT, store.delete_account("bob@example.org"))
    await refused(MailErrorKind.NONEXISTENT, store.set_password("bob@example.org", "x"))
    assert await store.list_accounts() == [alice]


@contract
async def test_aliases_deliver_and_send_as_their_account(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    alice = await store.create_account("alice@example.org", "h")
    alias = await store.add_alias("Sales@Shop.TEST", ["bob@example.org"])
    assert (alias.address, alias.accounts) == ("Sales@shop.test", ("bob@example.org",))
    assert await store.is_local_domain("shop.test")
    assert await store.find_recipients("sales@SHOP.test") == [bob]
    assert await store.find_recipients("bob@example.org") == [bob]
    assert await store.find_recipients("nobody@shop.test") == []
    assert await store.find_account("sales@shop.test") is None  # an alias never logs in
    assert await store.owns_address(bob.id, "sales@shop.test")
    assert await store.owns_address(bob.id, "bob@example.org")
    assert not await store.owns_address(alice.id, "sales@shop.test")
    assert not await store.owns_address(alice.id, "bob@example.org")
    assert await store.list_aliases() == [alias]


@contract
async def test_alias_refusals_and_removal(store: Store) -> None:
    await store.create_account("bob@example.org", "h")
    await store.create_account("alice@example.org", "h")
    await store.add_alias("info@example.org", ["bob@example.org"])
    await refused(
        MailErrorKind.ALREADY_EXISTS, store.add_alias("alice@example.org", ["bob@example.org"])
    )
    await refused(MailErrorKind.ALREADY_EXISTS, store.create_account("INFO@example.org", "h"))
    await refused(
        MailErrorKind.NONEXISTENT, store.add_alias("x@example.org", ["carol@example.org"])
    )
    # One unknown target and nothing is added, not even the others.
    await refused(
        MailErrorKind.NONEXISTENT,
        store.add_alias("x@example.org", ["bob@example.org", "carol@example.org"]),
    )
    assert await store.find_recipients("x@example.org") == []
    await refused(MailErrorKind.CANNOT, store.add_alias("x@example.org", []))
    with pytest.raises(TypeError):
        await store.add_alias("x@example.org", "bob@example.org")
    await refused(MailErrorKind.NONEXISTENT, store.delete_alias("nope@example.org"))
    await store.delete_alias("Info@example.org")
    assert await store.find_recipients("info@example.org") == []
    await store.add_alias("info@example.org", ["bob@example.org"])
    await store.delete_account("bob@example.org")  # takes its aliases along
    assert await store.list_aliases() == []
    assert await store.find_recipients("info@example.org") == []


@contract
async def test_an_alias_with_several_accounts(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    alice = await store.create_account("alice@example.org", "h")
    carol = await store.create_account("carol@example.org", "h")
    added = await store.add_alias("team@example.org", ["bob@example.org", "Alice@EXAMPLE.org"])
    assert added.accounts == ("alice@example.org", "bob@example.org")
    # Adding again adds targets; a target named twice is there once.
    again = await store.add_alias("Team@example.org", ["carol@example.org", "bob@example.org"])
    assert again.accounts == ("alice@example.org", "bob@example.org", "carol@example.org")
    assert await store.find_recipients("TEAM@example.org") == [alice, bob, carol]
    for member in (alice, bob, carol):  # each may send as it
        assert await store.owns_address(member.id, "team@example.org")
    assert await store.list_aliases() == [again]
    await refused(
        MailErrorKind.NONEXISTENT, store.delete_alias("team@example.org", ["dan@example.org"])
    )
    await store.delete_alias("team@example.org", ["bob@example.org"])
    assert await store.find_recipients("team@example.org") == [alice, carol]
    assert not await store.owns_address(bob.id, "team@example.org")
    await store.delete_account("carol@example.org")  # leaves the alias, which keeps alice
    assert await store.list_aliases() == [
        Alias(address="team@example.org", accounts=("alice@example.org",))
    ]
    await store.delete_alias("team@example.org", ["alice@example.org"])  # its last: gone
    assert await store.list_aliases() == []
    await store.create_account("team@example.org", "h")  # the address is free again


@contract
async def test_a_catch_all_per_domain(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    alice = await store.create_account("alice@example.org", "h")
    await refused(MailErrorKind.NONEXISTENT, store.set_catch_all("shop.test", ["bob@example.org"]))
    await refused(
        MailErrorKind.NONEXISTENT, store.set_catch_all("example.org", ["dan@example.org"])
    )
    assert await store.catch_all("example.org") == []
    await store.set_catch_all("Example.ORG", ["bob@example.org"])
    assert await store.catch_all("example.org") == [bob]
    await store.set_catch_all("example.org", ["alice@example.org", "bob@example.org"])
    assert await store.catch_all("EXAMPLE.org") == [alice, bob]
    # Not an alias: not listed, found by no address, and nobody sends as it.
    assert await store.list_aliases() == []
    assert await store.find_recipients("anything@example.org") == []
    assert await store.find_recipients("@example.org") == []
    assert not await store.owns_address(bob.id, "anything@example.org")
    assert not await store.owns_address(bob.id, "@example.org")
    await store.delete_account("alice@example.org")
    assert await store.catch_all("example.org") == [bob]
    await store.set_catch_all("example.org", [])
    assert await store.catch_all("example.org") == []


@contract
async def test_address_needs_a_domain(store: Store) -> None:
    await refused(MailErrorKind.CANNOT, store.create_account("bob", "hash"))


@contract
async def test_account_isolation(store: Store) -> None:
    alice, _ = await account_inbox(store, "alice@example.org")
    bob, _ = await account_inbox(store, "bob@example.org")
    secret = await store.create_mailbox(alice.id, "Secret")
    await refused(MailErrorKind.NONEXISTENT, store.find_mailbox(bob.id, "Secret"))
    assert "Secret" not in [m.name for m in await store.list_mailboxes(bob.id)]
    await refused(MailErrorKind.NONEXISTENT, store.delete_mailbox(bob.id, "Secret"))
    await refused(MailErrorKind.NONEXISTENT, store.rename_mailbox(bob.id, "Secret", "Mine"))
    bob_inbox = await store.find_mailbox(bob.id, "INBOX")
    alice_inbox = await store.find_mailbox(alice.id, "INBOX")
    assert bob_inbox.id != alice_inbox.id
    assert (await store.find_mailbox(alice.id, "Secret")).id == secret.id


# ----- mailboxes ------------------------------------------------------------------------


@contract
async def test_find_mailbox_inbox_is_case_insensitive(store: Store) -> None:
    account, inbox = await account_inbox(store)
    for spelling in ("inbox", "Inbox", "iNbOx"):
        assert (await store.find_mailbox(account.id, spelling)).id == inbox.id
    assert inbox.name == "INBOX"
    await store.create_mailbox(account.id, "Work")
    await refused(MailErrorKind.NONEXISTENT, store.find_mailbox(account.id, "work"))
    await refused(MailErrorKind.NONEXISTENT, store.find_mailbox(account.id, "Nope"))
    await refused(MailErrorKind.NONEXISTENT, store.get_mailbox(MISSING_MAILBOX))


@contract
async def test_create_mailbox_creates_superiors(store: Store) -> None:
    account, _ = await account_inbox(store)
    created = await store.create_mailbox(account.id, "a/b/c", "\\Flagged")
    assert created.name == "a/b/c" and created.special_use == "\\Flagged"
    assert not created.subscribed
    assert created.uidnext == 1 and created.highestmodseq >= 1
    names = [m.name for m in await store.list_mailboxes(account.id)]
    assert {"a", "a/b", "a/b/c"} <= set(names)
    assert names == sorted(names)
    await refused(MailErrorKind.ALREADY_EXISTS, store.create_mailbox(account.id, "a/b"))
    await refused(MailErrorKind.ALREADY_EXISTS, store.create_mailbox(account.id, "INBOX"))
    await refused(MailErrorKind.ALREADY_EXISTS, store.create_mailbox(account.id, "inbox"))
    await refused(MailErrorKind.CANNOT, store.create_mailbox(account.id, "x//y"))
    await refused(MailErrorKind.NONEXISTENT, store.create_mailbox(MISSING_ACCOUNT, "x"))


@contract
async def test_inbox_level_of_a_name_is_case_insensitive(store: Store) -> None:
    account, _ = await account_inbox(store)
    child = await store.create_mailbox(account.id, "inbox/Lists/")
    assert child.name == "INBOX/Lists"
    assert (await store.find_mailbox(account.id, "Inbox/Lists")).id == child.id


@contract
async def test_delete_mailbox(store: Store) -> None:
    account, _ = await account_inbox(store)
    await refused(MailErrorKind.CANNOT, store.delete_mailbox(account.id, "inbox"))
    await store.create_mailbox(account.id, "a/b")
    await refused(MailErrorKind.HAS_CHILDREN, store.delete_mailbox(account.id, "a"))
    await refused(MailErrorKind.NONEXISTENT, store.delete_mailbox(account.id, "zzz"))
    old = await store.find_mailbox(account.id, "a/b")
    await append(store, old, make(), make("Two"))
    await store.delete_mailbox(account.id, "a/b")
    await refused(MailErrorKind.NONEXISTENT, store.find_mailbox(account.id, "a/b"))
    await refused(MailErrorKind.NONEXISTENT, store.get_mailbox(old.id))
    await store.delete_mailbox(account.id, "a")


@contract
async def test_recreated_mailbox_is_new(store: Store) -> None:
    """Invariant: a deleted and re-created mailbox gets a new id and a new UIDVALIDITY."""
    account, _ = await account_inbox(store)
    first = await store.create_mailbox(account.id, "Box")
    await append(store, first, make(), make())
    await store.delete_mailbox(account.id, "Box")
    second = await store.create_mailbox(account.id, "Box")
    assert second.id != first.id
    assert second.uidvalidity > first.uidvalidity
    assert second.uidnext == 1
    assert list((await store.uids(second.id))[0]) == []


@contract
async def test_rename_mailbox_with_inferiors(store: Store) -> None:
    account, _ = await account_inbox(store)
    parent = await store.create_mailbox(account.id, "a")
    child = await store.create_mailbox(account.id, "a/x")
    await store.create_mailbox(account.id, "ab")  # shares a prefix but is no inferior
    uids = await append(store, child, make())
    await store.rename_mailbox(account.id, "a", "b/c")
    names = {m.name for m in await store.list_mailboxes(account.id)}
    assert {"b", "b/c", "b/c/x", "ab"} <= names
    assert not {"a", "a/x"} & names
    moved = await store.find_mailbox(account.id, "b/c/x")
    assert (moved.id, moved.uidvalidity) == (child.id, child.uidvalidity)
    assert list((await store.uids(moved.id))[0]) == uids
    assert (await store.find_mailbox(account.id, "b/c")).id == parent.id


@contract
async def test_rename_refusals(store: Store) -> None:
    account, _ = await account_inbox(store)
    await store.create_mailbox(account.id, "a")
    await store.create_mailbox(account.id, "b")
    await refused(MailErrorKind.NONEXISTENT, store.rename_mailbox(account.id, "zzz", "y"))
    await refused(MailErrorKind.ALREADY_EXISTS, store.rename_mailbox(account.id, "a", "b"))
    await refused(MailErrorKind.ALREADY_EXISTS, store.rename_mailbox(account.id, "a", "Inbox"))
    await refused(MailErrorKind.CANNOT, store.rename_mailbox(account.id, "a", "a/b"))
    names = [m.name for m in await store.list_mailboxes(account.id)]
    assert "a" in names and "a/b" not in names


@contract
async def test_rename_inbox_moves_messages_and_leaves_inbox_empty(store: Store) -> None:
    account, inbox = await account_inbox(store)
    await store.create_mailbox(account.id, "INBOX/child")
    messages = [make("One", flags=["\\Seen"]), make("Two"), make("Three")]
    uids = await append(store, inbox, *messages)
    await store.store_flags(inbox.id, uids[1:2], FlagMode.ADD, frozenset({"\\Deleted"}))
    await store.expunge(inbox.id)
    before = await highest(store, inbox)
    await store.rename_mailbox(account.id, "inbox", "Old/Mail")
    now_inbox = await store.find_mailbox(account.id, "INBOX")
    assert now_inbox.id == inbox.id and now_inbox.uidvalidity == inbox.uidvalidity
    assert list((await store.uids(inbox.id))[0]) == []
    changes = await store.changes_since(inbox.id, before)
    assert changes.expunged == (uids[0], uids[2]) and changes.changed == ()
    assert changes.highestmodseq > before
    old = await store.find_mailbox(account.id, "Old/Mail")
    new_uids, _ = await store.uids(old.id)
    assert list(new_uids) == [1, 2]
    metas = await store.fetch_meta(old.id, new_uids)
    assert [m.flags for m in metas] == [frozenset({"\\Seen"}), frozenset()]
    assert [await store.read_blob(m.blob_id) for m in metas] == [
        messages[0].data,
        messages[2].data,
    ]
    names = {m.name for m in await store.list_mailboxes(account.id)}
    assert {"INBOX", "INBOX/child", "Old", "Old/Mail"} <= names


@contract
async def test_rename_inbox_below_itself(store: Store) -> None:
    account, inbox = await account_inbox(store)
    await append(store, inbox, make())
    await store.rename_mailbox(account.id, "INBOX", "INBOX/Old")
    old = await store.find_mailbox(account.id, "inbox/Old")
    assert list((await store.uids(old.id))[0]) == [1]
    assert list((await store.uids(inbox.id))[0]) == []


@contract
async def test_subscriptions(store: Store) -> None:
    account, _ = await account_inbox(store)
    start, _ = await store.mailbox_changes_since(account.id, ModSeq(0))
    await store.set_subscribed(account.id, "Nowhere", True)  # need not exist
    await store.set_subscribed(account.id, "Nowhere", True)  # idempotent
    await store.set_subscribed(account.id, "Sent", False)
    await store.set_subscribed(account.id, "Sent", False)
    subscriptions = await store.list_subscriptions(account.id)
    assert "Nowhere" in subscriptions and "Sent" not in subscriptions
    assert not (await store.find_mailbox(account.id, "Sent")).subscribed
    current, changes = await store.mailbox_changes_since(account.id, start)
    assert [(c.kind, c.name) for c in changes] == [
        (MailboxChangeKind.SUBSCRIBED, "Nowhere"),
        (MailboxChangeKind.UNSUBSCRIBED, "Sent"),
    ]
    assert changes[0].mailbox_id is None
    assert current == start + 2


@contract
async def test_mailbox_changes_since(store: Store) -> None:
    account, _ = await account_inbox(store)
    start, _ = await store.mailbox_changes_since(account.id, ModSeq(0))
    created = await store.create_mailbox(account.id, "p/q")
    after_create, _ = await store.mailbox_changes_since(account.id, ModSeq(0))
    await store.rename_mailbox(account.id, "p", "r")
    await store.delete_mailbox(account.id, "r/q")
    current, changes = await store.mailbox_changes_since(account.id, start)
    assert [(c.kind, c.name, c.old_name) for c in changes] == [
        (MailboxChangeKind.CREATED, "p", None),
        (MailboxChangeKind.CREATED, "p/q", None),
        (MailboxChangeKind.RENAMED, "r", "p"),
        (MailboxChangeKind.RENAMED, "r/q", "p/q"),
        (MailboxChangeKind.DELETED, "r/q", None),
    ]
    assert changes[1].mailbox_id == created.id == changes[-1].mailbox_id
    modseqs = [c.modseq for c in changes]
    assert modseqs == sorted(modseqs) and modseqs[0] > start and modseqs[-1] == current
    _, later = await store.mailbox_changes_since(account.id, after_create)
    assert [c.kind for c in later] == [
        MailboxChangeKind.RENAMED,
        MailboxChangeKind.RENAMED,
        MailboxChangeKind.DELETED,
    ]
    assert await store.mailbox_changes_since(account.id, current) == (current, [])
    await refused(MailErrorKind.NONEXISTENT, store.mailbox_changes_since(MISSING_ACCOUNT, start))


# ----- messages -------------------------------------------------------------------------


@contract
async def test_append_and_fetch(store: Store) -> None:
    _, inbox = await account_inbox(store)
    zone = timezone(timedelta(hours=-7))
    when = datetime(2024, 7, 17, 2, 44, 25, tzinfo=zone)
    first = make("One", flags=["\\SEEN", "$Label"], internaldate=when)
    second = make("Two")
    before = datetime.now(UTC).replace(microsecond=0)
    result = await store.append(inbox.id, [first, second])
    assert result.uids == (1, 2) and result.uidvalidity == inbox.uidvalidity
    assert result.modseq == inbox.highestmodseq + 1 == await highest(store, inbox)
    assert (await store.get_mailbox(inbox.id)).uidnext == 3
    metas = await store.fetch_meta(inbox.id, [Uid(2), Uid(1), Uid(7)])
    assert [m.uid for m in metas] == [1, 2]
    one = metas[0]
    assert one.flags == {"\\Seen", "$Label"} and one.modseq == result.modseq
    assert one.internaldate == when and one.internaldate.utcoffset() == timedelta(hours=-7)
    assert metas[1].internaldate >= before and metas[1].savedate >= before
    assert one.size == len(first.data) and one.header_size == first.parsed.header_size
    parsed = first.parsed
    assert (one.envelope, one.bodystructure, one.body, one.parts, one.preview) == (
        parsed.envelope,
        parsed.bodystructure,
        parsed.body,
        parsed.parts,
        parsed.preview,
    )
    assert one.blob_id == blob_id_of(first.data)
    assert await store.read_blob(one.blob_id) == first.data
    assert one.email_id != metas[1].email_id and one.thread_id
    await refused(MailErrorKind.NONEXISTENT, store.append(MISSING_MAILBOX, [make()]))


@contract
async def test_empty_append_changes_nothing(store: Store) -> None:
    _, inbox = await account_inbox(store)
    result = await store.append(inbox.id, [])
    assert result.uids == () and result.modseq == inbox.highestmodseq
    assert await store.get_mailbox(inbox.id) == inbox


@contract
async def test_append_is_all_or_nothing(store: Store) -> None:
    """MULTIAPPEND is atomic: one bad message and none is added, no counter moves."""
    _, inbox = await account_inbox(store)
    with pytest.raises(ValueError, match="keyword"):
        await store.append(inbox.id, [make(), make(flags=["bad keyword"])])
    assert await store.get_mailbox(inbox.id) == inbox
    assert await store.append(inbox.id, [make()]) == AppendResult(
        uidvalidity=inbox.uidvalidity, uids=(Uid(1),), modseq=ModSeq(inbox.highestmodseq + 1)
    )


@contract
async def test_read_blob_unknown(store: Store) -> None:
    await refused(MailErrorKind.NONEXISTENT, store.read_blob(blob_id_of(b"never stored")))
    await refused(MailErrorKind.NONEXISTENT, store.read_blob(BlobId("0a1b")))


@contract
async def test_read_blobs_whole_or_their_first_bytes(store: Store) -> None:
    _, inbox = await account_inbox(store)
    first, second = make(), make(body="another body\r\n")
    await store.append(inbox.id, [first, second])
    metas = await store.fetch_meta(inbox.id, [Uid(1), Uid(2)])
    blobs = [m.blob_id for m in metas]
    assert await store.read_blobs(blobs) == [first.data, second.data]
    assert await store.read_blobs(blobs, prefixes=[m.header_size for m in metas]) == [
        first.data[: first.parsed.header_size],
        second.data[: second.parsed.header_size],
    ]
    assert await store.read_blobs([blobs[0]], prefixes=[10**9]) == [first.data]
    assert await store.read_blobs([]) == []
    await refused(MailErrorKind.NONEXISTENT, store.read_blobs([*blobs, blob_id_of(b"gone")]))
    await refused(MailErrorKind.NONEXISTENT, store.read_blobs([blob_id_of(b"gone")], prefixes=[5]))


@contract
async def test_uid_never_reused(store: Store) -> None:
    """Invariant: a UID is never reused under one UIDVALIDITY."""
    _, inbox = await account_inbox(store)
    seen: set[Uid] = set()
    for _round in range(3):
        uids = await append(store, inbox, make(), make())
        assert not seen & set(uids)
        seen |= set(uids)
        await store.store_flags(inbox.id, uids, FlagMode.ADD, frozenset({"\\Deleted"}))
        assert await store.expunge(inbox.id) == uids
    assert sorted(seen) == list(range(1, 7))
    assert (await store.get_mailbox(inbox.id)).uidvalidity == inbox.uidvalidity


@contract
async def test_highestmodseq_increases_with_each_change(store: Store) -> None:
    """Invariant: HIGHESTMODSEQ strictly increases with each change; no-ops leave it."""
    _, inbox = await account_inbox(store)
    seen = [await highest(store, inbox)]

    async def changed() -> None:
        seen.append(await highest(store, inbox))
        assert seen[-1] > seen[-2]

    async def unchanged() -> None:
        assert await highest(store, inbox) == seen[-1]

    uids = await append(store, inbox, make(), make())
    await changed()
    await store.store_flags(inbox.id, uids, FlagMode.ADD, frozenset({"\\Seen"}))
    await changed()
    await store.store_flags(inbox.id, uids, FlagMode.ADD, frozenset({"\\seen"}))
    await unchanged()
    await store.expunge(inbox.id)  # nothing is \Deleted
    await unchanged()
    await store.store_flags(inbox.id, uids[:1], FlagMode.ADD, frozenset({"\\Deleted"}))
    await changed()
    await store.expunge(inbox.id)
    await changed()
    await store.claim_recent(inbox.id)
    await unchanged()


@contract
async def test_changes_since(store: Store) -> None:
    _, inbox = await account_inbox(store)
    uids = await append(store, inbox, make(), make(), make(), make())
    mark = await highest(store, inbox)
    assert await store.changes_since(inbox.id, mark) == await store.changes_since(inbox.id, mark)
    nothing = await store.changes_since(inbox.id, mark)
    assert (nothing.changed, nothing.expunged, nothing.highestmodseq) == ((), (), mark)
    await store.store_flags(inbox.id, [uids[0]], FlagMode.ADD, frozenset({"\\Flagged"}))
    await store.store_flags(inbox.id, [uids[1]], FlagMode.ADD, frozenset({"\\Deleted"}))
    await store.expunge(inbox.id)
    [new] = await append(store, inbox, make("New", flags=["\\Draft"]))
    changes = await store.changes_since(inbox.id, mark)
    assert [(c.uid, c.flags) for c in changes.changed] == [
        (uids[0], frozenset({"\\Flagged"})),
        (new, frozenset({"\\Draft"})),
    ]
    assert changes.expunged == (uids[1],)
    assert changes.highestmodseq == await highest(store, inbox)
    assert changes.uidnext == new + 1
    assert all(mark < c.modseq <= changes.highestmodseq for c in changes.changed)
    everything = await store.changes_since(inbox.id, ModSeq(0))
    assert [c.uid for c in everything.changed] == [uids[0], uids[2], uids[3], new]


@contract
async def test_store_flags_modes(store: Store) -> None:
    _, inbox = await account_inbox(store)
    one, two = await append(store, inbox, make(flags=["$Work"]), make(flags=["\\Seen"]))
    add = await store.store_flags(inbox.id, [one, two], FlagMode.ADD, frozenset({"\\SEEN"}))
    assert [c.uid for c in add.changed] == [one]  # two already had \Seen
    assert add.changed[0].flags == {"$Work", "\\Seen"} and add.modified == ()
    assert add.changed[0].modseq == await highest(store, inbox)
    # Keywords compare case-insensitively and keep the stored spelling.
    same = await store.store_flags(inbox.id, [one], FlagMode.ADD, frozenset({"$WORK"}))
    assert same.changed == ()
    assert (await flags_of(store, inbox))[one] == {"$Work", "\\Seen"}
    removed = await store.store_flags(inbox.id, [one], FlagMode.REMOVE, frozenset({"$work"}))
    assert removed.changed[0].flags == {"\\Seen"}
    replaced = await store.store_flags(
        inbox.id, [one, two, Uid(99)], FlagMode.REPLACE, frozenset({"\\seen"})
    )
    assert replaced.changed == ()  # both are exactly {\Seen} already
    replaced = await store.store_flags(
        inbox.id, [one, two], FlagMode.REPLACE, frozenset({"\\Answered", "Custom"})
    )
    assert [c.uid for c in replaced.changed] == [one, two]
    assert {c.modseq for c in replaced.changed} == {await highest(store, inbox)}
    assert await flags_of(store, inbox) == {
        one: {"\\Answered", "Custom"},
        two: {"\\Answered", "Custom"},
    }


@contract
async def test_system_flags_canonical_spelling(store: Store) -> None:
    _, inbox = await account_inbox(store)
    [uid] = await append(store, inbox, make())
    lower = frozenset(flag.lower() for flag in SYSTEM_FLAGS)
    result = await store.store_flags(inbox.id, [uid], FlagMode.ADD, lower)
    assert result.changed[0].flags == frozenset(SYSTEM_FLAGS)


@contract
async def test_store_flags_unchangedsince(store: Store) -> None:
    """RFC 7162 §3.1.3: messages modified after UNCHANGEDSINCE are reported, not changed."""
    _, inbox = await account_inbox(store)
    one, two, three = await append(store, inbox, make(), make(), make())
    mark = await highest(store, inbox)
    await store.store_flags(inbox.id, [two], FlagMode.ADD, frozenset({"$Seen-elsewhere"}))
    after_two = await highest(store, inbox)
    result = await store.store_flags(
        inbox.id, [one, two, three], FlagMode.ADD, frozenset({"\\Seen"}), unchangedsince=mark
    )
    assert result.modified == (two,)
    assert [c.uid for c in result.changed] == [one, three]
    assert (await flags_of(store, inbox))[two] == {"$Seen-elsewhere"}
    assert result.changed[0].modseq > after_two
    zero = await store.store_flags(
        inbox.id, [one], FlagMode.ADD, frozenset({"\\Flagged"}), unchangedsince=ModSeq(0)
    )
    assert zero.modified == (one,) and zero.changed == ()


@contract
async def test_expunge(store: Store) -> None:
    _, inbox = await account_inbox(store)
    uids = await append(store, inbox, make(), make(), make(), make())
    await store.store_flags(inbox.id, uids[:3], FlagMode.ADD, frozenset({"\\Deleted"}))
    assert await store.expunge(inbox.id, [uids[1], uids[3]]) == [uids[1]]  # UID EXPUNGE
    assert await store.expunge(inbox.id) == [uids[0], uids[2]]
    assert await store.expunge(inbox.id) == []
    assert list((await store.uids(inbox.id))[0]) == [uids[3]]
    assert (await store.changes_since(inbox.id, ModSeq(0))).expunged == tuple(uids[:3])
    assert await store.fetch_meta(inbox.id, uids[:3]) == []


@contract
async def test_copy_keeps_flags_and_allocates_consecutive_uids(store: Store) -> None:
    account, inbox = await account_inbox(store)
    dest = await store.create_mailbox(account.id, "Dest")
    await append(store, dest, make("Already there"))
    uids = await append(store, inbox, make("A", flags=["\\Seen"]), make("B"), make("C"))
    result = await store.copy(inbox.id, [uids[2], uids[0], Uid(50)], dest.id)
    assert result.source_uids == (uids[0], uids[2])
    assert result.dest_uids == (2, 3)
    assert result.uidvalidity == dest.uidvalidity and result.source_modseq is None
    assert result.dest_modseq == await highest(store, dest)
    source_meta = await store.fetch_meta(inbox.id, [uids[0], uids[2]])
    dest_meta = await store.fetch_meta(dest.id, result.dest_uids)
    assert [m.flags for m in dest_meta] == [frozenset({"\\Seen"}), frozenset()]
    assert [m.blob_id for m in dest_meta] == [m.blob_id for m in source_meta]
    assert [m.email_id for m in dest_meta] == [m.email_id for m in source_meta]
    assert [m.internaldate for m in dest_meta] == [m.internaldate for m in source_meta]
    assert list((await store.uids(inbox.id))[0]) == uids  # COPY leaves the source alone
    empty = await store.copy(inbox.id, [Uid(77)], dest.id)
    assert empty.dest_uids == () and empty.dest_modseq == result.dest_modseq


@contract
async def test_move_expunges_from_source(store: Store) -> None:
    account, inbox = await account_inbox(store)
    dest = await store.create_mailbox(account.id, "Dest")
    uids = await append(store, inbox, make("A", flags=["$x"]), make("B"), make("C"))
    mark = await highest(store, inbox)
    result = await store.copy(inbox.id, uids[:2], dest.id, move=True)
    assert result.source_uids == tuple(uids[:2]) and result.dest_uids == (1, 2)
    assert result.source_modseq == await highest(store, inbox) > mark
    assert list((await store.uids(inbox.id))[0]) == [uids[2]]
    changes = await store.changes_since(inbox.id, mark)
    assert changes.expunged == tuple(uids[:2]) and changes.changed == ()
    assert (await flags_of(store, dest)) == {1: {"$x"}, 2: frozenset()}


@contract
async def test_move_within_one_mailbox(store: Store) -> None:
    _, inbox = await account_inbox(store)
    uids = await append(store, inbox, make(), make())
    result = await store.copy(inbox.id, uids, inbox.id, move=True)
    assert result.dest_uids == (3, 4) and result.source_modseq == result.dest_modseq
    assert await uid_list(store, inbox.id) == ([Uid(3), Uid(4)], result.dest_modseq)


@contract
async def test_replace_appends_and_expunges_in_one_transaction(store: Store) -> None:
    account, inbox = await account_inbox(store)
    drafts = await store.create_mailbox(account.id, "Notes")
    uids = await append(store, inbox, make("v1"), make("other"))
    mark_inbox, mark_drafts = await highest(store, inbox), await highest(store, drafts)
    result = await store.replace(inbox.id, uids[0], drafts.id, make("v2", flags=["\\Draft"]))
    assert result.appended.uids == (1,) and result.appended.uidvalidity == drafts.uidvalidity
    assert result.appended.modseq == await highest(store, drafts) > mark_drafts
    assert result.source_modseq == await highest(store, inbox) > mark_inbox
    assert list((await store.uids(inbox.id))[0]) == [uids[1]]
    assert (await store.changes_since(inbox.id, mark_inbox)).expunged == (uids[0],)
    assert await flags_of(store, drafts) == {1: {"\\Draft"}}


@contract
async def test_replace_within_one_mailbox_takes_one_modseq(store: Store) -> None:
    _, inbox = await account_inbox(store)
    uids = await append(store, inbox, make("v1"))
    result = await store.replace(inbox.id, uids[0], inbox.id, make("v2"))
    assert result.appended.uids == (uids[0] + 1,)
    assert result.source_modseq == result.appended.modseq
    assert await uid_list(store, inbox.id) == (list(result.appended.uids), result.source_modseq)


@contract
async def test_replace_fails_whole(store: Store) -> None:
    # RFC 8508 §3.4: if the new message cannot be added, the old one stays untouched.
    account, inbox = await account_inbox(store)
    uids = await append(store, inbox, make("v1"))
    mark = await highest(store, inbox)
    await refused(
        MailErrorKind.NONEXISTENT, store.replace(inbox.id, uids[0], MISSING_MAILBOX, make())
    )
    await refused(MailErrorKind.NONEXISTENT, store.replace(inbox.id, Uid(99), inbox.id, make()))
    assert await uid_list(store, inbox.id) == (uids, mark)


@contract
async def test_copy_to_missing_mailbox(store: Store) -> None:
    _, inbox = await account_inbox(store)
    uids = await append(store, inbox, make())
    await refused(MailErrorKind.NONEXISTENT, store.copy(inbox.id, uids, MISSING_MAILBOX))
    assert list((await store.uids(inbox.id))[0]) == uids


# ----- quotas -----------------------------------------------------------------------------


async def usage(store: Store, account: Account) -> tuple[int, int]:
    quota = await store.get_quota(account.id)
    return quota.storage_used, quota.messages_used


async def everything(store: Store, account: Account) -> dict[str, list[Uid]]:
    return {
        m.name: list((await store.uids(m.id))[0]) for m in await store.list_mailboxes(account.id)
    }


@contract
async def test_quota_usage_follows_every_change(store: Store) -> None:
    """Usage equals the sum of sizes and the count of messages after append, copy, move,
    expunge, rename of INBOX and mailbox deletion, and is per account."""
    account, inbox = await account_inbox(store)
    other, other_inbox = await account_inbox(store, "carol@example.org")
    one = make("A", "x" * 100)
    size = one.parsed.size
    assert await store.get_quota(account.id) == Quota(
        storage_limit=None, message_limit=None, storage_used=0, messages_used=0
    )
    uids = await append(store, inbox, one, one, one)
    assert await usage(store, account) == (3 * size, 3)
    archive = await store.create_mailbox(account.id, "Keep")
    await store.copy(inbox.id, uids[:2], archive.id)
    assert await usage(store, account) == (5 * size, 5)
    await store.copy(inbox.id, uids[2:], archive.id, move=True)
    assert await usage(store, account) == (5 * size, 5)
    await store.store_flags(inbox.id, uids[:1], FlagMode.ADD, frozenset({"\\Deleted"}))
    await store.expunge(inbox.id)
    assert await usage(store, account) == (4 * size, 4)
    await store.rename_mailbox(account.id, "INBOX", "Old")
    assert await usage(store, account) == (4 * size, 4)
    await store.delete_mailbox(account.id, "Keep")
    assert await usage(store, account) == (size, 1)
    assert await usage(store, other) == (0, 0)
    await append(store, other_inbox, make())
    assert await usage(store, account) == (size, 1)


@contract
async def test_quota_limits_set_and_cleared(store: Store) -> None:
    account, _ = await account_inbox(store)
    await store.set_quota(account.id, 5000, 10)
    quota = await store.get_quota(account.id)
    assert (quota.storage_limit, quota.message_limit) == (5000, 10)
    await store.set_quota(account.id, None, None)
    quota = await store.get_quota(account.id)
    assert (quota.storage_limit, quota.message_limit) == (None, None)
    await refused(MailErrorKind.NONEXISTENT, store.set_quota(MISSING_ACCOUNT, 1, 1))
    await refused(MailErrorKind.NONEXISTENT, store.get_quota(MISSING_ACCOUNT))
    await refused(MailErrorKind.CANNOT, store.set_quota(account.id, -1, None))


@contract
async def test_append_over_storage_quota_stores_nothing(store: Store) -> None:
    """A MULTIAPPEND that does not fit as a whole is refused as a whole, at the limit."""
    account, inbox = await account_inbox(store)
    message = make("A", "x" * 200)
    size = message.parsed.size
    await store.set_quota(account.id, 3 * size, None)
    await append(store, inbox, message)
    inbox = await store.get_mailbox(inbox.id)
    await refused(MailErrorKind.OVER_QUOTA, store.append(inbox.id, [message] * 3))
    assert await store.get_mailbox(inbox.id) == inbox  # no uid, no modseq taken
    assert await usage(store, account) == (size, 1)
    await append(store, inbox, message, message)  # exactly at the limit
    assert await usage(store, account) == (3 * size, 3)
    await refused(MailErrorKind.OVER_QUOTA, store.append(inbox.id, [make("B", "")]))
    assert len((await store.uids(inbox.id))[0]) == 3


@contract
async def test_concurrent_appends_cannot_both_take_the_last_room(store: Store) -> None:
    """The check and the insert are one transaction: of several appends racing for room
    for one more message, exactly one wins."""
    account, inbox = await account_inbox(store)
    await store.set_quota(account.id, None, 3)
    await append(store, inbox, make(), make())
    results = await asyncio.gather(
        *(store.append(inbox.id, [make(str(i))]) for i in range(4)), return_exceptions=True
    )
    refusals = [r for r in results if isinstance(r, MailError)]
    assert len(refusals) == 3 and {r.kind for r in refusals} == {MailErrorKind.OVER_QUOTA}
    assert await usage(store, account) == (
        sum(m.size for m in await store.fetch_meta(inbox.id, (await store.uids(inbox.id))[0])),
        3,
    )


@contract
async def test_message_quota_refuses_copy_but_not_move(store: Store) -> None:
    account, inbox = await account_inbox(store)
    archive = await store.create_mailbox(account.id, "Keep")
    uids = await append(store, inbox, make("A"), make("B"), make("C"))
    await store.set_quota(account.id, None, 4)
    before = await everything(store, account)
    await refused(MailErrorKind.OVER_QUOTA, store.copy(inbox.id, uids[:2], archive.id))
    assert await everything(store, account) == before
    assert await store.get_mailbox(archive.id) == archive
    # At the limit a MOVE within the account still works: it adds nothing.
    await store.copy(inbox.id, uids[:1], archive.id)
    moved = await store.copy(inbox.id, uids[1:], archive.id, move=True)
    assert moved.dest_uids == (2, 3) and (await usage(store, account))[1] == 4
    await store.rename_mailbox(account.id, "INBOX", "Old")  # a move too
    await refused(MailErrorKind.OVER_QUOTA, store.append(inbox.id, [make("D")]))


@contract
async def test_lowered_limit_still_allows_shrinking(store: Store) -> None:
    account, inbox = await account_inbox(store)
    uids = await append(store, inbox, make("A"), make("B"))
    trash = await store.find_mailbox(account.id, "Trash")
    await store.set_quota(account.id, 1, 1)  # below what is stored
    await store.copy(inbox.id, uids[:1], trash.id, move=True)
    await store.store_flags(trash.id, [Uid(1)], FlagMode.ADD, frozenset({"\\Deleted"}))
    assert await store.expunge(trash.id) == [Uid(1)]
    assert (await usage(store, account))[1] == 1
    await refused(MailErrorKind.OVER_QUOTA, store.copy(inbox.id, uids[1:], trash.id))


def test_quota_usage_survives_reopen_and_migration(open_store: OpenStore) -> None:
    """Usage is stored, not recomputed per process; it is right after a reopen."""

    async def main() -> None:
        store = await open_store()
        try:
            account, inbox = await account_inbox(store)
            await store.set_quota(account.id, 10**6, 100)
            await append(store, inbox, make(), make())
            expected = await store.get_quota(account.id)
        finally:
            await store.close()
        store = await open_store()
        try:
            assert await store.get_quota(account.id) == expected
            assert expected.messages_used == 2
        finally:
            await store.close()

    asyncio.run(main())


@contract
async def test_uids_and_fetch_flags(store: Store) -> None:
    _, inbox = await account_inbox(store)
    assert await uid_list(store, inbox.id) == ([], inbox.highestmodseq)
    uids = await append(store, inbox, *(make(str(i)) for i in range(5)))
    assert await uid_list(store, inbox.id) == (uids, await highest(store, inbox))
    flags = await store.fetch_flags(inbox.id, [uids[4], uids[0], uids[0], Uid(40)])
    assert [f.uid for f in flags] == [uids[0], uids[4]]
    await refused(MailErrorKind.NONEXISTENT, store.uids(MISSING_MAILBOX))
    await refused(MailErrorKind.NONEXISTENT, store.fetch_flags(MISSING_MAILBOX, uids))


@contract
async def test_keywords_of_a_mailbox(store: Store) -> None:
    """Every keyword ever set in the mailbox (by APPEND, STORE, COPY), once whatever its
    case; system flags are not keywords, and a keyword stays defined when no message keeps
    it any more (RFC 9051 §7.3.5). Changes name them when anything changed."""
    _, inbox = await account_inbox(store)
    assert await store.keywords(inbox.id) == []
    uids = await append(
        store,
        inbox,
        make("a", flags=["$Label1", "\\Seen"]),
        make("b", flags=["$label1", "Work"]),
        make("c"),
    )
    assert await store.keywords(inbox.id) == ["$Label1", "Work"]
    await store.store_flags(inbox.id, uids[2:], FlagMode.ADD, frozenset({"$Junk"}))
    assert await store.keywords(inbox.id) == ["$Junk", "$Label1", "Work"]
    mark = await highest(store, inbox)
    await store.store_flags(inbox.id, uids[1:2], FlagMode.REMOVE, frozenset({"Work"}))
    await store.store_flags(inbox.id, uids[2:], FlagMode.ADD, frozenset({"$Junk", "\\Draft"}))
    await store.expunge(inbox.id, uids[2:])
    assert await store.keywords(inbox.id) == ["$Junk", "$Label1", "Work"]
    assert sorted((await store.changes_since(inbox.id, mark)).keywords) == [
        "$Junk",
        "$Label1",
        "Work",
    ]
    assert (await store.changes_since(inbox.id, await highest(store, inbox))).keywords == ()
    other = await store.create_mailbox(inbox.account_id, "Other")
    assert await store.keywords(other.id) == []
    await store.copy(inbox.id, uids[1:2], other.id)
    assert await store.keywords(other.id) == ["$label1"]  # as message b spells it
    await store.store_flags(other.id, [], FlagMode.ADD, frozenset({"Unused"}))
    await store.store_flags(other.id, [Uid(1)], FlagMode.REPLACE, frozenset({"Mine"}))
    assert await store.keywords(other.id) == ["$label1", "Mine"]
    await refused(MailErrorKind.NONEXISTENT, store.keywords(MISSING_MAILBOX))


@contract
async def test_many_uids_in_one_call(store: Store) -> None:
    """Uid lists longer than any SQL parameter limit, in scattered ranges."""
    _, inbox = await account_inbox(store)
    uids = await append(store, inbox, *(make(str(i)) for i in range(1200)))
    odd = uids[::2]
    result = await store.store_flags(inbox.id, odd, FlagMode.ADD, frozenset({"\\Seen"}))
    assert [c.uid for c in result.changed] == odd
    assert [f.uid for f in await store.fetch_flags(inbox.id, odd)] == odd


@contract
async def test_claim_recent_and_status(store: Store) -> None:
    _, inbox = await account_inbox(store)
    uids = await append(store, inbox, make(flags=["\\Seen"]), make(), make(flags=["\\Deleted"]))
    status = await store.status(inbox.id)
    assert (status.messages, status.unseen, status.deleted, status.recent) == (3, 2, 1, 3)
    assert status.size == sum(m.size for m in await store.fetch_meta(inbox.id, uids))
    assert status.deleted_size == (await store.fetch_meta(inbox.id, uids[2:]))[0].size
    assert status.mailbox == await store.get_mailbox(inbox.id)
    assert await store.claim_recent(inbox.id) == (1, 4)
    assert await store.claim_recent(inbox.id) == (4, 4)  # the first caller took them all
    await append(store, inbox, make())
    assert (await store.status(inbox.id)).recent == 1
    assert await store.claim_recent(inbox.id) == (4, 5)
    await refused(MailErrorKind.NONEXISTENT, store.status(MISSING_MAILBOX))


# ----- search ---------------------------------------------------------------------------

JAN = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)
MAR = datetime(2024, 3, 1, tzinfo=UTC)


async def search_fixture(store: Store) -> tuple[Mailbox, list[Uid]]:
    _, inbox = await account_inbox(store)
    uids = await append(
        store,
        inbox,
        make("Lunch plans", "Let's eat pizza", sent=JAN, flags=["\\Seen"], internaldate=JAN),
        make("Report", "Quarterly NUMBERS attached", sender="bob@example.org",
             flags=["$Important"], internaldate=FEB),
        make("Re: Lunch", "pizza again? Ünïcödé " + "x" * 500, sender="carol@example.net",
             sent=MAR, flags=["\\Flagged", "\\Deleted"], internaldate=MAR),
    )  # fmt: skip
    return inbox, uids


SEARCHES: list[tuple[Query, list[int]]] = [
    (All(), [1, 2, 3]),
    (UidIn(((1, 1), (3, 5))), [1, 3]),
    (UidIn(((3, 2),)), [2, 3]),
    (UidIn(()), []),
    (HasFlag("\\seen"), [1]),
    (HasFlag("$IMPORTANT"), [2]),
    (HasFlag("\\Answered"), []),
    (HasFlag("\\Deleted"), [3]),
    (HeaderContains("subject", "LUNCH"), [1, 3]),
    (HeaderContains("FROM", "bob@"), [2]),
    (HeaderContains("Subject", "alice"), []),  # alice is only in From
    (HeaderContains("Subject", ""), [1, 2, 3]),
    (HeaderContains("Date", ""), [1, 3]),
    (HeaderContains("X-Missing", ""), []),
    (BodyContains("PIZZA"), [1, 3]),
    (BodyContains("lunch"), []),  # only in the header
    (BodyContains("ÜNÏCÖDÉ"), [3]),
    (TextContains("lunch"), [1, 3]),
    (TextContains("quarterly"), [2]),
    (TextContains("example.net"), [3]),
    (DateBefore(DateField.INTERNAL, FEB), [1]),
    (DateOnOrAfter(DateField.INTERNAL, FEB), [2, 3]),
    # No Date: field counts as sent when it arrived.
    (DateBefore(DateField.SENT, FEB + timedelta(days=1)), [1, 2]),
    (DateOnOrAfter(DateField.SENT, MAR), [3]),
    (Not(DateBefore(DateField.SENT, FEB + timedelta(days=1))), [3]),
    (DateBefore(DateField.SAVED, JAN), []),
    (DateOnOrAfter(DateField.SAVED, datetime.now(UTC) - timedelta(days=1)), [1, 2, 3]),
    (SizeLarger(400), [3]),
    (SizeSmaller(400), [1, 2]),
    (ModSeqAtLeast(0), [1, 2, 3]),
    (Not(HasFlag("\\Seen")), [2, 3]),
    (And((HasFlag("\\Flagged"), BodyContains("pizza"))), [3]),
    (And(()), [1, 2, 3]),
    (Or((HasFlag("\\Seen"), HasFlag("$important"))), [1, 2]),
    (Or(()), []),
    (Not(Or((UidIn(((1, 1),)), And((Not(HasFlag("\\Deleted")), SizeSmaller(400)))))), [3]),
]


@pytest.mark.parametrize(("query", "expected"), SEARCHES, ids=[repr(q) for q, _ in SEARCHES])
def test_search(open_store: OpenStore, query: Query, expected: list[int]) -> None:
    async def body(store: Store) -> None:
        inbox, uids = await search_fixture(store)
        assert uids == [1, 2, 3]
        assert await store.search(inbox.id, query) == expected

    contract(body)(open_store)


@contract
async def test_search_limit_keeps_the_lowest_uids(store: Store) -> None:
    inbox, uids = await search_fixture(store)
    assert await store.search(inbox.id, Not(HasFlag("\\Seen")), limit=1) == [uids[1]]
    assert await store.search(inbox.id, All(), limit=2) == uids[:2]
    assert await store.search(inbox.id, HasFlag("\\Answered"), limit=1) == []


@contract
async def test_search_modseq(store: Store) -> None:
    inbox, uids = await search_fixture(store)
    result = await store.store_flags(inbox.id, [uids[1]], FlagMode.ADD, frozenset({"\\Seen"}))
    assert await store.search(inbox.id, ModSeqAtLeast(result.changed[0].modseq)) == [uids[1]]
    await refused(MailErrorKind.NONEXISTENT, store.search(MISSING_MAILBOX, All()))


# ----- sort and thread ------------------------------------------------------------------


def keyed(subject: str, sent: datetime | None, size: int, sort: SortFields) -> NewMessage:
    message = make(subject, "x" * size, sent=sent, internaldate=T2024 + timedelta(days=size))
    return replace(message, parsed=replace(message.parsed, sort=sort))


T2024 = datetime(2024, 1, 1, tzinfo=UTC)


@contract
async def test_sort_orders_by_stored_keys_with_uid_ties(store: Store) -> None:
    _, inbox = await account_inbox(store)
    uids = await append(
        store,
        inbox,
        keyed("a", T2024 + timedelta(days=3), 30, SortFields(subject="B", from_="Z")),
        keyed("b", None, 10, SortFields(subject="A", from_="Z")),  # sent: its arrival
        keyed("c", T2024 + timedelta(days=2), 20, SortFields(subject="B", from_="A")),
    )
    one, two, three = uids

    async def order(*keys: SortKey, query: Query | None = None) -> list[Uid]:
        return await store.sort(inbox.id, query or All(), keys)

    assert await order(SortKey(SortField.SUBJECT)) == [two, one, three]
    assert await order(SortKey(SortField.FROM)) == [three, one, two]
    assert await order(SortKey(SortField.FROM), SortKey(SortField.SIZE)) == [three, two, one]
    assert await order(SortKey(SortField.SIZE, reverse=True)) == [one, three, two]
    assert await order(SortKey(SortField.ARRIVAL)) == [two, three, one]
    assert await order(SortKey(SortField.DATE)) == [three, one, two]
    assert await order(SortKey(SortField.DISPLAYTO)) == uids  # all "": uid order
    assert await order(SortKey(SortField.SUBJECT), query=UidIn(((one, two),))) == [two, one]
    await refused(MailErrorKind.NONEXISTENT, store.sort(MISSING_MAILBOX, All(), []))


@contract
async def test_thread_info_and_copies_keep_the_keys(store: Store) -> None:
    account, inbox = await account_inbox(store)
    sort = SortFields(subject="LUNCH", reply=True, references=("a@x", "b@x"))
    [uid] = await append(store, inbox, keyed("Lunch", None, 5, sort))
    [info] = await store.thread_info(inbox.id, All())
    assert info == ThreadInfo(
        uid=uid,
        sent=T2024 + timedelta(days=5),
        subject="LUNCH",
        reply=True,
        message_id="Lunch@example.org",
        references=("a@x", "b@x"),
    )
    archive = await store.find_mailbox(account.id, "Archive")
    await store.copy(inbox.id, [uid], archive.id)
    [copied] = await store.thread_info(archive.id, All())
    assert replace(copied, uid=uid) == info
    assert await store.thread_info(inbox.id, Not(All())) == []


@contract
async def test_arrived_after_compares_instants(store: Store) -> None:
    _, inbox = await account_inbox(store)
    zone = timezone(timedelta(hours=-8))
    early = make(internaldate=datetime(2024, 1, 1, 12, tzinfo=zone))  # 20:00 UTC
    late = make(internaldate=datetime(2024, 1, 1, 21, tzinfo=UTC))
    uids = await append(store, inbox, early, late)
    cut = datetime(2024, 1, 1, 20, 30, tzinfo=UTC)
    assert await store.search(inbox.id, ArrivedAfter(cut)) == uids[1:]
    assert await store.search(inbox.id, Not(ArrivedAfter(cut))) == uids[:1]


# ----- persistence ----------------------------------------------------------------------


def test_reopen_keeps_everything(open_store: OpenStore) -> None:
    message = make("Kept", flags=["\\Seen"])

    async def write() -> tuple[Account, Mailbox, list[Uid]]:
        store = await open_store()
        try:
            account, inbox = await account_inbox(store)
            uids = await append(store, inbox, message)
            return account, await store.get_mailbox(inbox.id), uids
        finally:
            await store.close()

    async def read(account: Account, inbox: Mailbox, uids: list[Uid]) -> None:
        store = await open_store()
        try:
            assert await store.find_account(account.address) == account
            assert await store.get_mailbox(inbox.id) == inbox
            [meta] = await store.fetch_meta(inbox.id, uids)
            assert await store.read_blob(meta.blob_id) == message.data
            assert meta.flags == {"\\Seen"}
        finally:
            await store.close()

    asyncio.run(read(*asyncio.run(write())))


# ----- blobs ----------------------------------------------------------------------------


def test_collect_blobs_spares_referenced(open_store: OpenStore) -> None:
    async def body(store: Store) -> None:
        assert isinstance(store, MailStore)  # collect_blobs is maintenance, not Store
        account, inbox = await account_inbox(store)
        uids = await append(store, inbox, make("Keep"), make("Drop"))
        metas = await store.fetch_meta(inbox.id, uids)
        await store.copy(inbox.id, uids[:1], (await store.find_mailbox(account.id, "Sent")).id)
        await store.store_flags(inbox.id, uids, FlagMode.ADD, frozenset({"\\Deleted"}))
        await store.expunge(inbox.id)
        assert await store.collect_blobs(grace_seconds=0) == 1
        assert await store.read_blob(metas[0].blob_id) == make("Keep").data
        await refused(MailErrorKind.NONEXISTENT, store.read_blob(metas[1].blob_id))

    contract(body)(open_store)


def test_a_copy_keeps_its_text_after_the_original_and_collection(open_store: OpenStore) -> None:
    async def body(store: Store) -> None:
        assert isinstance(store, MailStore)
        account, inbox = await account_inbox(store)
        sent = await store.find_mailbox(account.id, "Sent")
        uids = await append(store, inbox, make("Keep", "zebrafish here"), make("Drop", "okapi"))
        await store.copy(inbox.id, uids[:1], sent.id)
        await store.store_flags(inbox.id, uids, FlagMode.ADD, frozenset({"\\Deleted"}))
        await store.expunge(inbox.id)
        await store.collect_blobs(grace_seconds=0)
        assert await store.search(sent.id, TextContains("zebrafish")) == [Uid(1)]
        assert await store.search(sent.id, HeaderContains("subject", "keep")) == [Uid(1)]
        # The same message appended again after its text was collected is searchable.
        again = await append(store, inbox, make("Drop", "okapi"))
        assert await store.search(inbox.id, BodyContains("okapi")) == again

    contract(body)(open_store)
