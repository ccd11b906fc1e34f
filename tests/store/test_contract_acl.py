"""The Store contract for rights on mailboxes (RFC 4314) and team accounts (issue 15). Runs
on every engine (tests/store/contract.py)."""

from __future__ import annotations

from roost.auth.passwords import verify_password
from roost.errors import MailErrorKind
from roost.model import ANSWERED, DELETED, FLAGGED, SEEN, AccountId, MailboxId, ModSeq, Uid
from roost.store.api import ALL_RIGHTS, AclEntry, FlagMode, HasFlag, Mailbox, Not, Store
from tests.store.contract import account_inbox, append, contract, highest, make, refused


@contract
async def test_the_owner_holds_every_right_and_others_none_until_granted(store: Store) -> None:
    alice, projects = await account_inbox(store, "alice@example.org")
    bob, _ = await account_inbox(store, "bob@example.org")
    assert await store.mailbox_rights(alice.id, projects.id) == ALL_RIGHTS
    assert await store.mailbox_rights(bob.id, projects.id) == ""
    assert await store.get_acl(projects.id) == []
    assert await store.shared_mailboxes(bob.id) == []
    # Kept in RFC 4314 order, the obsolete "c" read as "k" (RFC 4314 §2.1.1).
    assert await store.set_rights(projects.id, "Bob@Example.org", "rlc") == "lrk"
    assert await store.mailbox_rights(bob.id, projects.id) == "lrk"
    assert await store.get_acl(projects.id) == [AclEntry(address="bob@example.org", rights="lrk")]
    [shared] = await store.shared_mailboxes(bob.id)
    assert (shared.mailbox.id, shared.owner, shared.team, shared.rights) == (
        projects.id,
        "alice@example.org",
        False,
        "lrk",
    )
    assert await store.set_rights(projects.id, "bob@example.org", "d") == "xte"
    await store.delete_rights(projects.id, "bob@example.org")
    assert await store.mailbox_rights(bob.id, projects.id) == ""
    assert await store.shared_mailboxes(bob.id) == []
    await store.delete_rights(projects.id, "bob@example.org")  # none left: nothing to do


@contract
async def test_rights_refused(store: Store) -> None:
    alice, inbox = await account_inbox(store, "alice@example.org")
    await store.create_account("bob@example.org", "h")
    await refused(MailErrorKind.CANNOT, store.set_rights(inbox.id, "bob@example.org", "lrz"))
    await refused(MailErrorKind.CANNOT, store.set_rights(inbox.id, "alice@example.org", "l"))
    await refused(MailErrorKind.NONEXISTENT, store.set_rights(inbox.id, "nobody@example.org", "l"))
    await refused(MailErrorKind.NONEXISTENT, store.set_rights(inbox.id, "not an address", "l"))
    await refused(MailErrorKind.NONEXISTENT, store.set_rights(MailboxId(10**6), "bob@x.org", "l"))
    assert await store.mailbox_rights(alice.id, MailboxId(10**6)) == ""


@contract
async def test_rights_go_with_the_mailbox_and_the_grantee(store: Store) -> None:
    alice, _ = await account_inbox(store, "alice@example.org")
    bob, _ = await account_inbox(store, "bob@example.org")
    projects = await store.create_mailbox(alice.id, "Projects")
    await store.set_rights(projects.id, "bob@example.org", "lr")
    # A mailbox created below takes its superior's rights; a rename keeps them.
    child = await store.create_mailbox(alice.id, "Projects/2027")
    assert await store.mailbox_rights(bob.id, child.id) == "lr"
    await store.rename_mailbox(alice.id, "Projects", "Work")
    assert [s.mailbox.name for s in await store.shared_mailboxes(bob.id)] == ["Work", "Work/2027"]
    # A top-level mailbox of a person is private.
    other = await store.create_mailbox(alice.id, "Private")
    assert await store.mailbox_rights(bob.id, other.id) == ""
    await store.delete_mailbox(alice.id, "Work/2027")
    assert [s.mailbox.name for s in await store.shared_mailboxes(bob.id)] == ["Work"]
    await store.delete_account("bob@example.org")
    assert await store.get_acl(projects.id) == []
    again = await store.create_account("bob@example.org", "h")
    assert await store.mailbox_rights(again.id, projects.id) == ""


@contract
async def test_a_team_receives_mail_and_its_members_share_its_mailboxes(store: Store) -> None:
    alice, _ = await account_inbox(store, "alice@example.org")
    bob, _ = await account_inbox(store, "bob@example.org")
    carol, _ = await account_inbox(store, "carol@example.org")
    team = await store.create_team("support@Example.org", ["alice@example.org", "bob@example.org"])
    assert team.is_team and team.address == "support@example.org"
    assert not verify_password(team.password_hash, "")  # nobody logs in to a team
    assert await store.find_recipients("support@example.org") == [team]
    # Members may send as the team; others may not.
    assert await store.owns_address(alice.id, "support@example.org")
    assert not await store.owns_address(carol.id, "support@example.org")
    assert not await store.owns_address(team.id, "alice@example.org")
    shared = await store.shared_mailboxes(bob.id)
    assert {s.mailbox.name for s in shared} == {m.name for m in await store.list_mailboxes(team.id)}
    assert all(s.team and s.owner == "support@example.org" for s in shared)
    assert {s.rights for s in shared} == {"lrswipkxte"}
    assert await store.shared_mailboxes(carol.id) == []
    # A new top-level team folder belongs to the whole team.
    escalated = await store.create_mailbox(team.id, "Escalated")
    assert await store.mailbox_rights(alice.id, escalated.id) == "lrswipkxte"
    # The team's quota counts the team's mail, not a member's.
    await store.set_quota(team.id, None, 1)
    inbox = await store.find_mailbox(team.id, "INBOX")
    await append(store, inbox, make("one"))
    assert (await store.get_quota(team.id)).messages_used == 1
    assert (await store.get_quota(alice.id)).messages_used == 0
    await refused(MailErrorKind.OVER_QUOTA, store.append(inbox.id, [make("two")]))


@contract
async def test_a_team_with_an_unknown_member_is_not_made(store: Store) -> None:
    await store.create_account("alice@example.org", "h")
    await refused(
        MailErrorKind.NONEXISTENT,
        store.create_team("support@example.org", ["alice@example.org", "nobody@example.org"]),
    )
    assert await store.find_account("support@example.org") is None
    await refused(
        MailErrorKind.ALREADY_EXISTS, store.create_team("alice@example.org", ["alice@example.org"])
    )


@contract
async def test_a_rights_change_hints_the_grantee(store: Store) -> None:
    _, inbox = await account_inbox(store, "alice@example.org")
    bob, _ = await account_inbox(store, "bob@example.org")
    before, _ = await store.mailbox_changes_since(bob.id, ModSeq(0))
    await store.set_rights(inbox.id, "bob@example.org", "lr")
    granted, _ = await store.mailbox_changes_since(bob.id, ModSeq(0))
    assert granted > before  # bob's MODSEQ moved: his sessions hear of it
    await store.delete_rights(inbox.id, "bob@example.org")
    revoked, _ = await store.mailbox_changes_since(bob.id, ModSeq(0))
    assert revoked > granted


# ----- \Seen per member of a team mailbox ------------------------------------------------


async def _team_inbox(store: Store) -> tuple[AccountId, AccountId, Mailbox]:
    alice, _ = await account_inbox(store, "alice@example.org")
    bob, _ = await account_inbox(store, "bob@example.org")
    team = await store.create_team("support@example.org", [alice.address, bob.address])
    return alice.id, bob.id, await store.find_mailbox(team.id, "INBOX")


@contract
async def test_seen_is_each_members_own_and_other_flags_are_shared(store: Store) -> None:
    alice, bob, inbox = await _team_inbox(store)
    uids = await append(store, inbox, make("one"), make("two"))
    start = await highest(store, inbox)
    await store.store_flags(inbox.id, uids[:1], FlagMode.ADD, frozenset({SEEN}), viewer=alice)
    after_alice = await highest(store, inbox)
    assert after_alice > start
    seen = {m.uid: m.flags for m in await store.fetch_flags(inbox.id, uids, viewer=alice)}
    assert seen == {uids[0]: frozenset({SEEN}), uids[1]: frozenset()}
    assert all(not m.flags for m in await store.fetch_flags(inbox.id, uids, viewer=bob))
    # Counters and searches are per member too.
    assert (await store.status(inbox.id, viewer=alice)).unseen == 1
    assert (await store.status(inbox.id, viewer=bob)).unseen == 2
    unseen = Not(HasFlag(SEEN))
    assert await store.search(inbox.id, unseen, viewer=alice) == uids[1:]
    assert await store.search(inbox.id, unseen, viewer=bob) == uids
    assert await store.search(inbox.id, HasFlag(SEEN), viewer=alice) == uids[:1]
    # Alice's change is hers: bob's changes since before it list nothing.
    assert (await store.changes_since(inbox.id, start, viewer=bob)).changed == ()
    [mine] = (await store.changes_since(inbox.id, start, viewer=alice)).changed
    assert (mine.uid, mine.modseq, mine.flags) == (uids[0], after_alice, frozenset({SEEN}))
    # \Flagged is the team's: both see it, each with their own \Seen.
    result = await store.store_flags(
        inbox.id, uids, FlagMode.ADD, frozenset({FLAGGED, SEEN}), viewer=bob
    )
    assert [m.flags for m in result.changed] == [frozenset({FLAGGED, SEEN})] * 2
    for_alice = await store.changes_since(inbox.id, after_alice, viewer=alice)
    assert [m.flags for m in for_alice.changed] == [
        frozenset({FLAGGED, SEEN}),
        frozenset({FLAGGED}),
    ]
    assert (await store.status(inbox.id, viewer=bob)).unseen == 0
    # Marking unread is private too; MODSEQ keeps rising for each.
    before = await highest(store, inbox)
    await store.store_flags(inbox.id, uids[:1], FlagMode.REMOVE, frozenset({SEEN}), viewer=alice)
    [back] = (await store.changes_since(inbox.id, before, viewer=alice)).changed
    assert back.flags == frozenset({FLAGGED}) and back.modseq > before
    assert (await store.changes_since(inbox.id, before, viewer=bob)).changed == ()
    metas = await store.fetch_meta(inbox.id, uids, viewer=bob)
    assert [m.flags for m in metas] == [frozenset({FLAGGED, SEEN})] * 2


@contract
async def test_private_seen_goes_with_its_message(store: Store) -> None:
    alice, _, inbox = await _team_inbox(store)
    uids = await append(store, inbox, make("one"), make("two"))
    await store.store_flags(inbox.id, uids, FlagMode.ADD, frozenset({SEEN, DELETED}), viewer=alice)
    await store.store_flags(inbox.id, uids[1:], FlagMode.REMOVE, frozenset({DELETED}))
    assert await store.expunge(inbox.id) == uids[:1]
    await append(store, inbox, make("three"))
    status = await store.status(inbox.id, viewer=alice)
    assert (status.messages, status.unseen) == (2, 1)


@contract
async def test_private_seen_and_unchangedsince(store: Store) -> None:
    alice, bob, inbox = await _team_inbox(store)
    uids = await append(store, inbox, make("one"))
    known = await highest(store, inbox)
    await store.store_flags(inbox.id, uids, FlagMode.ADD, frozenset({SEEN}), viewer=alice)
    # Alice's read mark is news to alice only: bob's conditional store still applies.
    result = await store.store_flags(
        inbox.id, uids, FlagMode.ADD, frozenset({FLAGGED}), known, viewer=bob
    )
    assert result.modified == () and len(result.changed) == 1
    result = await store.store_flags(
        inbox.id, uids, FlagMode.ADD, frozenset({ANSWERED}), known, viewer=alice
    )
    assert result.modified == (uids[0],)


@contract
async def test_searching_a_members_seen_costs_one_probe_however_scattered(store: Store) -> None:
    # Every other message read: 1,100 separate runs, more than SQLite's expression depth
    # allows as UID ranges, which is why the \Seen key probes the member's rows instead.
    alice, bob, inbox = await _team_inbox(store)
    uids: list[Uid] = []
    for start in range(0, 2200, 550):
        uids += await append(store, inbox, *(make(f"m{n}") for n in range(start, start + 550)))
    read = uids[::2]
    await store.store_flags(inbox.id, read, FlagMode.ADD, frozenset({SEEN}), viewer=alice)
    assert await store.search(inbox.id, HasFlag(SEEN), viewer=alice) == read
    assert await store.search(inbox.id, Not(HasFlag(SEEN)), viewer=alice) == uids[1::2]
    assert await store.sort(inbox.id, HasFlag(SEEN), [], viewer=alice) == read
    assert await store.search(inbox.id, HasFlag(SEEN), viewer=bob) == []
