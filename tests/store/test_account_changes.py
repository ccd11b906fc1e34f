"""The account change log, THREADIDs and publishing after commit (DESIGN.md "The store").

Contract tests (run once per engine through test_contract's fixture): every change carries
the account's own increasing MODSEQ, one per unit of work; `account_changes_since` answers
exactly what changed in the whole account, naming only the mailboxes that changed.
Then the store's own publishing: one hint per changed mailbox, sent only after the commit
(checked from another connection inside the publisher), none for a unit that was rolled
back, and the writes of another process (the roost CLI) relayed by `publish_others`.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from roost.errors import MailError
from roost.model import AccountId, MailboxId, ModSeq, Uid
from roost.notify.api import Hint
from roost.store.api import (
    FlagMode,
    MailboxChangeKind,
    MessageField,
    NewMessage,
    Store,
    ThreadIs,
)
from roost.store.engines.sqlite import DATABASE, SqliteStore
from tests.store.contract import account_inbox, contract, make
from tests.store.ondisk import undo_search_pending, undo_small_blobs
from tests.store.recorder import Recorder


async def account_modseq(store: Store, account: AccountId) -> ModSeq:
    return (await store.account_changes_since(account, ModSeq(2**62))).modseq


async def account_with_inbox(
    store: Store, address: str = "alice@example.org"
) -> tuple[AccountId, MailboxId]:
    account, inbox = await account_inbox(store, address)
    return account.id, inbox.id


@contract
async def test_every_write_takes_one_new_account_modseq(store: Store) -> None:
    account, inbox = await account_with_inbox(store)
    seen = [await account_modseq(store, account)]
    appended = await store.append(inbox, [make("a"), make("b")])
    seen.append(await account_modseq(store, account))
    await store.store_flags(inbox, appended.uids, FlagMode.ADD, frozenset({"\\Deleted"}))
    seen.append(await account_modseq(store, account))
    await store.expunge(inbox)
    seen.append(await account_modseq(store, account))
    other = await store.create_mailbox(account, "Work")
    seen.append(await account_modseq(store, account))
    await store.copy(inbox, [], other.id)  # changes nothing: takes nothing
    seen.append(await account_modseq(store, account))
    assert [b - a for a, b in itertools.pairwise(seen)] == [1, 1, 1, 1, 0]


@contract
async def test_account_changes_name_only_what_changed(store: Store) -> None:
    account, inbox = await account_with_inbox(store)
    work = await store.create_mailbox(account, "Work")
    quiet = await store.create_mailbox(account, "Quiet")
    await store.append(quiet.id, [make("old")])
    await store.append(inbox, [make("one"), make("two")])
    start = await account_modseq(store, account)

    added = await store.append(work.id, [make("three")])
    flagged = await store.store_flags(inbox, [Uid(1)], FlagMode.ADD, frozenset({"\\Seen"}))
    moved = await store.copy(inbox, [Uid(2)], work.id, move=True)
    await store.rename_mailbox(account, "Quiet", "Calm")

    changes = await store.account_changes_since(account, start)
    assert changes.modseq == await account_modseq(store, account) == start + 4
    assert set(changes.messages) == {inbox, work.id}  # not Calm: only renamed
    inbox_changes = changes.messages[inbox]
    assert [m.uid for m in inbox_changes.changed] == [1]
    assert inbox_changes.changed[0].modseq == flagged.changed[0].modseq
    assert inbox_changes.expunged == (2,)
    work_changes = changes.messages[work.id]
    assert [m.uid for m in work_changes.changed] == [*added.uids, *moved.dest_uids]
    assert [(c.kind, c.name, c.old_name) for c in changes.mailboxes] == [
        (MailboxChangeKind.RENAMED, "Calm", "Quiet")
    ]
    # Asked again from the state just returned: nothing.
    again = await store.account_changes_since(account, changes.modseq)
    assert again.modseq == changes.modseq and not again.messages and not again.mailboxes


@contract
async def test_account_changes_leave_out_deleted_mailboxes_and_other_accounts(
    store: Store,
) -> None:
    account, inbox = await account_with_inbox(store)
    other, other_inbox = await account_with_inbox(store, "bob@example.org")
    start = await account_modseq(store, account)
    doomed = await store.create_mailbox(account, "Doomed")
    await store.append(doomed.id, [make("x")])
    await store.delete_mailbox(account, "Doomed")
    await store.append(other_inbox, [make("not alice's")])
    changes = await store.account_changes_since(account, start)
    assert doomed.id not in changes.messages and not changes.messages
    kinds = [c.kind for c in changes.mailboxes]
    assert kinds == [MailboxChangeKind.CREATED, MailboxChangeKind.DELETED]
    assert inbox not in changes.messages
    theirs = await store.account_changes_since(other, ModSeq(0))
    assert set(theirs.messages) == {other_inbox}


# ----- publishing after commit (SQLite: the checks read the database file) -------------


def test_hints_go_out_after_the_commit_one_per_mailbox_changed(tmp_path: Path) -> None:
    async def main() -> None:
        recorder = Recorder(tmp_path / DATABASE)
        store = await SqliteStore.open(tmp_path, recorder)
        try:
            account, inbox = await account_with_inbox(store)
            work = await store.create_mailbox(account, "Work")
            recorder.hints.clear()
            recorder.committed.clear()
            appended = await store.append(inbox, [make("a"), make("b")])
            moved = await store.copy(inbox, list(appended.uids), work.id, move=True)
            await store.set_subscribed(account, "Work", True)
            assert recorder.hints == [
                Hint(account, inbox, appended.modseq),
                Hint(account, work.id, moved.dest_modseq),
                Hint(account, inbox, moved.source_modseq or ModSeq(0)),
                Hint(account, None, await account_modseq(store, account)),
            ]
            # Each hint's modseq was already committed when it was published.
            assert recorder.committed == [h.modseq for h in recorder.hints]
        finally:
            await store.close()

    asyncio.run(main())


def test_a_write_that_fails_publishes_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        recorder = Recorder(tmp_path / DATABASE)
        store = await SqliteStore.open(tmp_path, recorder)
        try:
            account, inbox = await account_with_inbox(store)
            await store.set_quota(account, 10, None)
            recorder.hints.clear()
            with pytest.raises(MailError):
                await store.append(inbox, [make("too big for the quota")])
            with pytest.raises(MailError):
                await store.create_mailbox(account, "INBOX")
            assert recorder.hints == []
        finally:
            await store.close()

    asyncio.run(main())


def test_writes_of_another_process_are_relayed_once(tmp_path: Path) -> None:
    # The server's store publishes what the roost CLI (another store on the same files)
    # committed; its own writes, already published at their commit, are not relayed again.
    async def main() -> None:
        recorder = Recorder(tmp_path / DATABASE)
        server = await SqliteStore.open(tmp_path, recorder)
        cli = await SqliteStore.open(tmp_path)
        try:
            account, inbox = await account_with_inbox(server)
            seq = await server.publish_others(0)
            recorder.hints.clear()
            own = await server.append(inbox, [make("mine")])
            theirs = await cli.append(inbox, [make("the CLI's")])
            await cli.create_mailbox(account, "Imported")
            assert recorder.hints == [Hint(account, inbox, own.modseq)]
            seq = await server.publish_others(seq)
            assert recorder.hints[1:] == [
                Hint(account, inbox, theirs.modseq),
                Hint(account, None, await account_modseq(server, account)),
            ]
            assert await server.publish_others(seq) == seq  # nothing new: nothing again
            assert len(recorder.hints) == 3
        finally:
            await cli.close()
            await server.close()

    asyncio.run(main())


def test_a_deleted_account_is_announced_to_followers(tmp_path: Path) -> None:
    async def main() -> None:
        recorder = Recorder(tmp_path / DATABASE)
        server = await SqliteStore.open(tmp_path, recorder)
        cli = await SqliteStore.open(tmp_path)
        try:
            account, inbox = await account_with_inbox(server)
            await server.append(inbox, [make("a")])
            seq = await server.publish_others(0)
            recorder.hints.clear()
            await cli.delete_account("alice@example.org")
            await server.publish_others(seq)
            assert [(h.account, h.mailbox) for h in recorder.hints] == [(account, None)]
            with pytest.raises(MailError):
                await server.account_changes_since(account, ModSeq(0))
        finally:
            await cli.close()
            await server.close()

    asyncio.run(main())


# ----- THREADID: one per conversation (RFC 8474 §5.2) ---------------------------------


def reply(subject: str, own: str, *parents: str) -> NewMessage:
    """A message with this Message-ID whose References name parents (oldest first)."""
    message = make(subject)
    sort = replace(message.parsed.sort, references=parents)
    parsed = replace(message.parsed, message_id=f"<{own}>", sort=sort)
    return replace(message, parsed=parsed)


async def threads(store: Store, mailbox: MailboxId) -> dict[Uid, str]:
    uids, _ = await store.uids(mailbox)
    rows = await store.fetch_fields(mailbox, list(uids), [MessageField.THREAD_ID])
    return {Uid(row[0]): row[1] for row in rows}


@contract
async def test_a_conversation_has_one_threadid_whatever_the_order(store: Store) -> None:
    account, inbox = await account_with_inbox(store)
    await store.append(inbox, [reply("root", "a@x")])  # 1
    await store.append(inbox, [reply("re", "b@x", "a@x")])  # 2: replies to 1
    await store.append(inbox, [reply("re re", "d@x", "a@x", "c@x")])  # 3: to c, not here yet
    await store.append(inbox, [reply("re", "c@x", "a@x")])  # 4: c arrives after its reply
    await store.append(inbox, [reply("other", "e@x")])  # 5: another conversation
    await store.append(inbox, [reply("another root", "g@x")])  # 6: a third one
    await store.append(inbox, [reply("orphan", "h@x", "f@x")])  # 7: its parent is unknown
    ids = await threads(store, inbox)
    assert ids[1] == ids[2] == ids[3] == ids[4]
    assert len({ids[1], ids[5], ids[6], ids[7]}) == 4
    found = await store.search(inbox, ThreadIs(ids[1]))
    assert found == [1, 2, 3, 4]
    # A copy keeps its thread in the account, and is threaded anew in another.
    work = await store.create_mailbox(account, "Work")
    copied = await store.copy(inbox, [Uid(2)], work.id)
    assert (await threads(store, work.id))[copied.dest_uids[0]] == ids[1]
    _, bobs = await account_with_inbox(store, "bob@example.org")
    await store.append(bobs, [reply("root", "a@x")])
    assert (await threads(store, bobs))[Uid(1)] != ids[1]


# ----- upgrading a store made before the account log and threads (SQLite) --------------


# What the migrations after 9 added, taken away again.
SCHEMA_9 = """
DROP TABLE account_log;
DROP TABLE thread_ids;
DROP INDEX messages_thread;
UPDATE messages SET thread_id = 'T' || substr(email_id, 2);
DROP INDEX tombstones_age;
ALTER TABLE tombstones DROP COLUMN expunged_at;
ALTER TABLE mailboxes DROP COLUMN vanished_floor;
ALTER TABLE accounts DROP COLUMN log_floor;
ALTER TABLE accounts DROP COLUMN last_uidvalidity;
DROP TABLE search_fields;
ALTER TABLE messages DROP COLUMN envelope_fields;
ALTER TABLE mailboxes DROP COLUMN keywords;
DROP TABLE device_folders;
DROP TABLE devices;
DROP TABLE out_of_office;
DROP TABLE auto_replies;
DROP TABLE sent_client_ids;
DROP TABLE private_seen;
DROP TABLE acl;
CREATE TABLE aliases_before_20 (
    address TEXT PRIMARY KEY COLLATE NOCASE,
    account_id INTEGER NOT NULL REFERENCES accounts (id)
);
INSERT INTO aliases_before_20 SELECT address, min(account_id) FROM aliases GROUP BY address;
DROP TABLE aliases;
ALTER TABLE aliases_before_20 RENAME TO aliases;
CREATE INDEX aliases_by_account ON aliases (account_id);
PRAGMA user_version = 9;
"""


def test_sqlite_store_from_before_the_account_log_upgrades_in_place(tmp_path: Path) -> None:
    async def fill() -> tuple[AccountId, MailboxId]:
        store = await SqliteStore.open(tmp_path)
        try:
            account, inbox = await account_with_inbox(store)
            await store.append(inbox, [reply("root", "a@x"), reply("other", "z@x")])
            await store.create_account("bob@example.org", "h")
            await store.add_alias("Team@example.org", ["bob@example.org"])
            return account, inbox
        finally:
            await store.close()

    account, inbox = asyncio.run(fill())
    # Set back to schema 9, with the THREADIDs release 9 gave (one per message).
    with sqlite3.connect(tmp_path / DATABASE) as conn:
        undo_search_pending(conn)
        undo_small_blobs(conn, tmp_path)
        conn.executescript(SCHEMA_9)
        before = conn.execute("SELECT uid, blob_id, thread_id FROM messages").fetchall()
    conn.close()

    async def reopened() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            old = await threads(store, inbox)
            assert sorted((uid, thread) for uid, _, thread in before) == sorted(old.items())
            # A reply arriving now joins the thread its parent had before the upgrade.
            added = await store.append(inbox, [reply("re", "b@x", "a@x")])
            assert (await threads(store, inbox))[added.uids[0]] == old[Uid(1)]
            changes = await store.account_changes_since(account, ModSeq(0))
            assert [m.uid for m in changes.messages[inbox].changed] == [*added.uids]
            # An alias of one account (migration 20) takes a second.
            team = await store.add_alias("team@example.org", ["alice@example.org"])
            assert team.address == "Team@example.org" and len(team.accounts) == 2
        finally:
            await store.close()

    asyncio.run(reopened())
