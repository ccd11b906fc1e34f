"""`roost backup` and `roost restore`: snapshots that restore whole, incremental blob
copies, verification that finds damage, and restores of an account, a mailbox or single
messages that keep UIDVALIDITY only where every UID still names the same message."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from roost.auth.accounts import authenticate
from roost.delivery import analyse, deliver
from roost.errors import MailError
from roost.model import Uid
from roost.store.api import NewMessage, Store
from roost.store.engines.sqlite.blobs import INLINE_LIMIT
from roost.transfer.walk import mailbox_messages
from tests.transfer.conftest import Roost, mailbox_contents, mailbox_uids, with_store

JAN = datetime(2022, 1, 10, 12, 0, tzinfo=UTC)


def message(n: int, subject: str = "", *, small: bool = False) -> bytes:
    """Message n: a file of its own unless small (roost.store.engines.sqlite.blobs keeps
    a small one inside the database, so in the snapshot itself)."""
    padding = "" if small else "x" * INLINE_LIMIT + "\r\n"
    return (
        f"From: sender{n}@example.net\r\nTo: alice@example.org\r\n"
        f"Message-ID: <m{n}@example.net>\r\nSubject: {subject or f'message {n}'}\r\n\r\n"
        f"body {n}\r\n{padding}"
    ).encode()


def fill(
    data_dir: Path,
    address: str,
    mailbox: str,
    numbers: range,
    *,
    flags: frozenset[str] = frozenset(),
    small: bool = False,
) -> None:
    async def run(store: Store) -> None:
        account = await store.find_account(address)
        assert account is not None
        try:
            box = await store.find_mailbox(account.id, mailbox)
        except MailError:
            box = await store.create_mailbox(account.id, mailbox)
        for n in numbers:
            await deliver(store, box.id, message(n, small=small), flags)

    with_store(data_dir, run)


def expunge(data_dir: Path, address: str, mailbox: str, uids: list[int]) -> None:
    async def run(store: Store) -> None:
        account = await store.find_account(address)
        assert account is not None
        box = await store.find_mailbox(account.id, mailbox)
        await store.expunge_uids(box.id, [Uid(u) for u in uids])

    with_store(data_dir, run)


@pytest.fixture
def mail(roost: Roost, alice: str, data_dir: Path) -> str:
    """alice with 5 messages in INBOX (two flagged) and 3 in Archive/2021."""
    fill(data_dir, alice, "INBOX", range(1, 4))
    fill(data_dir, alice, "INBOX", range(4, 6), flags=frozenset({"\\Flagged", "$Work"}))
    fill(data_dir, alice, "Archive/2021", range(10, 13))
    return alice


def test_a_backup_restores_the_whole_server_into_an_empty_data_dir(
    roost: Roost, mail: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = roost("backup", str(tmp_path / "bk"))
    assert result.status == 0, result.err
    assert "8 message files, 8 new" in result.out
    assert "backup: 8 message files copied" in result.err  # progress
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("ROOST_DATA_DIR", str(fresh))
    restored = roost("restore", str(tmp_path / "bk"))
    assert restored.status == 0, restored.err
    assert mailbox_contents(fresh, mail) == mailbox_contents(data_dir, mail)
    assert mailbox_uids(fresh, mail) == mailbox_uids(data_dir, mail)
    assert with_store(fresh, lambda store: authenticate(store, mail, "secret")) is not None
    assert roost("check").status == 0
    again = roost("restore", str(tmp_path / "bk"))
    assert again.status == 1 and "empty data dir" in again.err


def test_small_messages_come_back_with_the_snapshot_itself(
    roost: Roost, alice: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small messages live inside the database: the snapshot holds them, no file is
    copied for them, and a whole-server restore brings them back byte for byte."""
    fill(data_dir, alice, "INBOX", range(1, 4), small=True)
    fill(data_dir, alice, "INBOX", range(4, 5))
    result = roost("backup", str(tmp_path / "bk"))
    assert result.status == 0, result.err
    assert "1 message files, 1 new" in result.out
    fresh = tmp_path / "fresh"
    monkeypatch.setenv("ROOST_DATA_DIR", str(fresh))
    assert roost("restore", str(tmp_path / "bk")).status == 0
    assert mailbox_contents(fresh, alice) == mailbox_contents(data_dir, alice)
    assert len(mailbox_contents(fresh, alice)["INBOX"]) == 4
    assert roost("check").status == 0


def test_a_second_backup_copies_only_new_mail(
    roost: Roost, mail: str, data_dir: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "bk"
    assert roost("backup", str(dest)).status == 0
    second = roost("backup", str(dest))
    assert "8 message files, 0 new" in second.out
    fill(data_dir, mail, "INBOX", range(20, 22))
    third = roost("backup", str(dest))
    assert "10 message files, 2 new" in third.out
    assert len(list((dest / "snapshots").iterdir())) == 3
    assert sum(1 for _ in (dest / "blobs").rglob("*") if _.is_file()) == 10


def test_verify_finds_a_damaged_message_file_and_a_damaged_database(
    roost: Roost, mail: str, tmp_path: Path
) -> None:
    dest = tmp_path / "bk"
    assert roost("backup", str(dest)).status == 0
    sound = roost("backup", "--verify", str(dest))
    assert sound.status == 0 and "verified 1 snapshots and 8 message files: sound" in sound.out
    blob = next(p for p in (dest / "blobs").rglob("*") if p.is_file())
    blob.write_bytes(blob.read_bytes() + b"x")
    damaged = roost("backup", "--verify", str(dest))
    assert damaged.status == 1
    assert f"message file {blob.parent.name}{blob.name} is damaged" in damaged.out
    (database,) = (dest / "snapshots").glob("*/roost.db")
    with database.open("r+b") as file:
        file.seek(200)
        file.write(b"\xff")
    assert "the database differs from the hash" in roost("backup", "--verify", str(dest)).out


def test_backup_on_postgresql_points_at_its_own_tools(
    roost: Roost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOST_DATABASE_URL", "postgresql://roost@db.invalid/roost")
    result = roost("backup", str(tmp_path / "bk"))
    assert result.status == 1
    assert "pg_dump -Fc" in result.err and "pgBackRest" in result.err
    assert not (tmp_path / "bk").exists()


def test_restoring_a_deleted_account(
    roost: Roost, mail: str, data_dir: Path, tmp_path: Path
) -> None:
    assert roost("alias", "add", "sales@example.org", mail).status == 0
    before = mailbox_contents(data_dir, mail)
    assert roost("backup", str(tmp_path / "bk")).status == 0
    assert roost("user", "delete", mail, "--yes", "--no-backup").status == 0
    result = roost("restore", str(tmp_path / "bk"), "--user", mail)
    assert result.status == 0, result.err
    assert "re-created account alice@example.org" in result.out
    assert "INBOX: 5 messages restored (re-created, new UIDVALIDITY" in result.out
    assert "restored 8 messages" in result.out
    after = mailbox_contents(data_dir, mail)
    assert {
        name: [(m.data, m.flags, m.internaldate) for m in box] for name, box in after.items()
    } == {name: [(m.data, m.flags, m.internaldate) for m in box] for name, box in before.items()}
    assert with_store(data_dir, lambda store: authenticate(store, mail, "secret")) is not None
    assert "sales@example.org" in roost("alias", "list").out


def test_a_deleted_mailbox_comes_back_with_a_new_uidvalidity(
    roost: Roost, mail: str, data_dir: Path, tmp_path: Path
) -> None:
    old_validity, old_uids = mailbox_uids(data_dir, mail)["Archive/2021"]
    assert roost("backup", str(tmp_path / "bk")).status == 0
    inbox = mailbox_uids(data_dir, mail)["INBOX"]

    async def delete(store: Store) -> None:
        account = await store.find_account(mail)
        assert account is not None
        await store.delete_mailbox(account.id, "Archive/2021")

    with_store(data_dir, delete)
    result = roost("restore", str(tmp_path / "bk"), "--user", mail, "--mailbox", "Archive/2021")
    assert result.status == 0, result.err
    assert "Archive/2021: 3 messages restored (re-created, new UIDVALIDITY" in result.out
    validity, uids = mailbox_uids(data_dir, mail)["Archive/2021"]
    assert validity != old_validity and len(uids) == 3
    assert mailbox_uids(data_dir, mail)["INBOX"] == inbox  # only the mailbox asked for


def test_a_mailbox_that_lost_messages_keeps_its_uidvalidity_and_its_uids(
    roost: Roost, mail: str, data_dir: Path, tmp_path: Path
) -> None:
    assert roost("backup", str(tmp_path / "bk")).status == 0
    validity, uids = mailbox_uids(data_dir, mail)["INBOX"]
    expunge(data_dir, mail, "INBOX", [uids[1], uids[3]])
    result = roost("restore", str(tmp_path / "bk"), "--user", mail, "--mailbox", "INBOX")
    assert result.status == 0, result.err
    assert f"INBOX: 2 messages restored (UIDVALIDITY kept {validity})" in result.out
    now_validity, now_uids = mailbox_uids(data_dir, mail)["INBOX"]
    # The UIDs that stayed still name the same messages; the two restored are new mail.
    assert now_validity == validity
    assert now_uids[:3] == [uids[0], uids[2], uids[4]] and min(now_uids[3:]) > max(uids)
    inbox = mailbox_contents(data_dir, mail)["INBOX"]
    assert [m.data for m in inbox[3:]] == [message(2), message(4)]
    assert inbox[4].flags == {"\\Flagged", "$Work"}
    again = roost("restore", str(tmp_path / "bk"), "--user", mail, "--mailbox", "INBOX")
    assert "restored 0 messages" in again.out
    assert mailbox_uids(data_dir, mail)["INBOX"] == (now_validity, now_uids)


def add_dated(data_dir: Path, address: str, numbers: range) -> None:
    """Messages n in INBOX, each arrived on JAN + n days."""

    async def run(store: Store) -> None:
        account = await store.find_account(address)
        assert account is not None
        inbox = await store.find_mailbox(account.id, "INBOX")
        dated = [
            NewMessage(
                data=message(n), parsed=analyse(message(n)), internaldate=JAN + timedelta(days=n)
            )
            for n in numbers
        ]
        await store.append(inbox.id, dated)

    with_store(data_dir, run)


def test_restoring_single_messages_by_message_id_or_by_date(
    roost: Roost, alice: str, data_dir: Path, tmp_path: Path
) -> None:
    add_dated(data_dir, alice, range(1, 6))
    assert roost("backup", str(tmp_path / "bk")).status == 0
    _, uids = mailbox_uids(data_dir, alice)["INBOX"]
    expunge(data_dir, alice, "INBOX", uids)
    by_id = roost(
        "restore", str(tmp_path / "bk"), "--user", alice, "--message-id", "m3@example.net"
    )
    assert by_id.status == 0, by_id.err
    assert [m.data for m in mailbox_contents(data_dir, alice)["INBOX"]] == [message(3)]
    by_date = roost(
        "restore", str(tmp_path / "bk"), "--user", alice, "--since", "2022-01-14", "--before",
        "2022-01-16",
    )  # fmt: skip
    assert by_date.status == 0, by_date.err
    inbox = mailbox_contents(data_dir, alice)["INBOX"]
    assert [m.data for m in inbox] == [message(3), message(4), message(5)]
    assert [m.internaldate for m in inbox] == [JAN + timedelta(days=n) for n in (3, 4, 5)]


def test_restore_refusals(roost: Roost, mail: str, tmp_path: Path) -> None:
    assert roost("backup", str(tmp_path / "bk")).status == 0
    nobody = roost("restore", str(tmp_path / "bk"), "--user", "nobody@example.org")
    assert nobody.status == 1 and "no account nobody@example.org in the backup" in nobody.err
    no_box = roost("restore", str(tmp_path / "bk"), "--user", mail, "--mailbox", "Nope")
    assert no_box.status == 1 and "no mailbox Nope" in no_box.err
    no_user = roost("restore", str(tmp_path / "bk"), "--mailbox", "INBOX")
    assert no_user.status == 1 and "need --user" in no_user.err
    no_backup = roost("restore", str(tmp_path), "--user", mail)
    assert no_backup.status == 1 and "is no Roost backup" in no_backup.err
    snapshot = roost("restore", str(tmp_path / "bk"), "--snapshot", "1999", "--user", mail)
    assert snapshot.status == 1 and "no snapshot 1999" in snapshot.err


def test_an_unfinished_snapshot_is_never_offered(roost: Roost, mail: str, tmp_path: Path) -> None:
    dest = tmp_path / "bk"
    assert roost("backup", str(dest)).status == 0
    (done,) = (dest / "snapshots").iterdir()
    half = dest / "snapshots" / ".tmp-20991231T000000Z"
    half.mkdir()
    (half / "roost.db").write_bytes(b"half")
    os.utime(half, (0, 0))
    assert "20991231" not in roost("restore", str(dest), "--user", mail).out
    assert roost("backup", str(dest)).status == 0
    assert not half.exists()  # the next backup clears it away
    with sqlite3.connect(done / "roost.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_an_account_restores_into_a_postgresql_store(
    roost: Roost, mail: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    postgres_url: str,
) -> None:  # fmt: skip
    """The restore is Store to Store: a backup of the embedded store fills a PostgreSQL one
    (one way to move a server from SQLite to PostgreSQL, account by account)."""
    expected = mailbox_contents(data_dir, mail)
    assert roost("backup", str(tmp_path / "bk")).status == 0
    monkeypatch.setenv("ROOST_DATABASE_URL", postgres_url)
    result = roost("restore", str(tmp_path / "bk"), "--user", mail)
    assert result.status == 0, result.err
    assert "re-created account alice@example.org" in result.out

    async def read(store: Store) -> dict[str, list[tuple[bytes, frozenset[str], datetime]]]:
        account = await store.find_account(mail)
        assert account is not None
        assert await authenticate(store, mail, "secret") is not None
        return {
            box.name: [
                (data, meta.flags, meta.internaldate)
                async for meta, data in mailbox_messages(store, box.id)
            ]
            for box in await store.list_mailboxes(account.id)
        }

    async def on_postgresql() -> dict[str, list[tuple[bytes, frozenset[str], datetime]]]:
        from roost.store.engines.postgresql.store import PostgresStore

        store = await PostgresStore.open(postgres_url)
        try:
            return await read(store)
        finally:
            await store.close()

    assert asyncio.run(on_postgresql()) == {
        name: [(m.data, m.flags, m.internaldate) for m in box] for name, box in expected.items()
    }


def test_keep_prunes_old_snapshots_and_the_files_only_they_used(
    roost: Roost, mail: str, data_dir: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "bk"
    assert roost("backup", str(dest)).status == 0
    _, uids = mailbox_uids(data_dir, mail)["INBOX"]
    expunge(data_dir, mail, "INBOX", uids[:2])
    assert roost("backup", str(dest)).status == 0
    kept = roost("backup", str(dest), "--keep", "2")
    assert kept.status == 0, kept.err
    assert "and 2 message files only they used" in kept.out
    assert len(list((dest / "snapshots").iterdir())) == 2
    assert sum(1 for p in (dest / "blobs").rglob("*") if p.is_file()) == 6
    assert roost("backup", "--verify", str(dest)).status == 0
    assert roost("backup", str(dest), "--keep", "0").status == 2  # a usage error
