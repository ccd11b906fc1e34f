"""The SQLite store's own tests (the engine's are in test_sqlite_engine.py): its migrations,
its FTS5 text index and query plans, its file blobs and settings. What every engine must
do is in the contract suite."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
from importlib import resources
from pathlib import Path

import pytest

from roost.errors import MailError
from roost.model import BlobId, MailboxId, Uid
from roost.store.api import (
    And,
    BodyContains,
    FlagMode,
    HasFlag,
    HeaderContains,
    MessageField,
    Not,
    Or,
    Store,
    TextContains,
)
from roost.store.blobs.files import FileBlobStore, blob_id_of
from roost.store.engines.sqlite import DATABASE, SqliteStore
from roost.store.engines.sqlite import engine as sqlite_engine
from roost.store.engines.sqlite.engine import SqliteTx, connect
from roost.store.engines.sqlite.fts import (
    FOLD_FUNCTION,
    Fts5TextIndex,
    casefold,
)
from roost.store.mail.messages import field_columns
from roost.store.mail.query_sql import compile_search, select_uids
from tests.store.contract import account_inbox, append, make
from tests.store.ondisk import undo_search_pending, undo_small_blobs

F = MessageField


async def usage(store: Store, address: str = "bob@example.org") -> tuple[int, int]:
    account = await store.find_account(address)
    assert account is not None
    quota = await store.get_quota(account.id)
    return quota.storage_used, quota.messages_used


def test_blob_store_write_read_collect(tmp_path: Path) -> None:
    blobs = FileBlobStore(tmp_path / "blobs")
    blobs.ensure_root()
    kept, dropped = blobs.write(b"kept"), blobs.write(b"dropped")
    assert blobs.write(b"kept") == kept == blob_id_of(b"kept")
    assert blobs.path(kept).parent.name == kept[:2]
    assert blobs.read(kept) == b"kept"
    (blobs.path(kept).parent / ".tmp-stale").write_bytes(b"half")
    assert blobs.collect({kept}) == 0  # within the grace period
    assert blobs.collect({kept}, grace_seconds=0) == 2  # dropped + the stale temp file
    assert blobs.exists(kept) and not blobs.exists(dropped)
    with pytest.raises(MailError):
        blobs.read(dropped)
    with pytest.raises(MailError):
        blobs.path(BlobId("../../etc/passwd"))


def test_sqlite_quota_migration_counts_mail_stored_before_it(tmp_path: Path) -> None:
    """Migration 3 fills the usage totals from the messages already there."""

    async def fill() -> tuple[int, int]:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            await append(store, inbox, make("A", "x" * 300), make("B"))
            return await usage(store)
        finally:
            await store.close()

    async def reopened() -> tuple[int, int]:
        store = await SqliteStore.open(tmp_path)
        try:
            return await usage(store)
        finally:
            await store.close()

    expected = asyncio.run(fill())
    conn = sqlite3.connect(tmp_path / DATABASE)
    # As before quotas: no triggers, no quota columns; then the quota migration once more.
    for trigger in ("insert", "delete", "update"):
        conn.execute(f"DROP TRIGGER messages_usage_{trigger}")
    for column in ("storage_limit", "message_limit", "storage_used", "messages_used"):
        conn.execute(f"ALTER TABLE accounts DROP COLUMN {column}")
    conn.executescript(migration_script("quota"))
    conn.commit()
    conn.close()
    assert asyncio.run(reopened()) == expected and expected[1] == 2


def migration_script(name: str) -> str:
    """The SQL of migration NNNN_<name>.sql, to run again on a database set back."""
    folder = resources.files("roost.store.engines.sqlite").joinpath("migrations")
    [script] = [f for f in folder.iterdir() if f.name.endswith(f"_{name}.sql")]
    return script.read_text(encoding="utf-8")


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    asyncio.run(asyncio.run(SqliteStore.open(tmp_path)).close())
    with sqlite3.connect(tmp_path / DATABASE) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        asyncio.run(SqliteStore.open(tmp_path))


def test_sqlite_settings(tmp_path: Path) -> None:
    asyncio.run(asyncio.run(SqliteStore.open(tmp_path)).close())
    with sqlite3.connect(tmp_path / DATABASE) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    conn.close()


# ----- the SQLite engine ----------------------------------------------------------------


def _documents(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / DATABASE) as conn:
        count: int = conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]
    conn.close()
    return count


def test_sqlite_collect_drops_unreferenced_documents(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            uids = await append(store, inbox, make("Keep", "kept"), make("Drop", "dropped"))
            assert _documents(tmp_path) == 2
            await store.store_flags(inbox.id, uids[1:], FlagMode.ADD, frozenset({"\\Deleted"}))
            await store.expunge(inbox.id)
            await store.collect_blobs(grace_seconds=0)
            assert _documents(tmp_path) == 1
            assert await store.search(inbox.id, TextContains("kept")) == uids[:1]
        finally:
            await store.close()

    asyncio.run(main())


def _queued(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / DATABASE) as conn:
        count: int = conn.execute("SELECT count(*) FROM search_pending").fetchone()[0]
    conn.close()
    return count


def test_sqlite_search_finds_mail_before_and_after_it_is_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Indexing is off the commit path: right after the APPEND the documents wait in the
    # queue, and SEARCH finds them there; the idle writer indexes them, and SEARCH finds
    # them through the index; a queue left at close is indexed by the next open.
    monkeypatch.setattr(sqlite_engine, "INDEX_DELAY", 3600.0)  # never idle long enough
    monkeypatch.setattr(sqlite_engine, "INDEX_BATCH", 10_000)

    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            uids = await append(store, inbox, make("Straße", "zebrafish"), make("Other", "no"))
            assert _queued(tmp_path) == 2
            assert await store.search(inbox.id, TextContains("ZEBRA")) == uids[:1]
            assert await store.search(inbox.id, TextContains("STRASSE")) == uids[:1]
            assert await store.search(inbox.id, BodyContains("fish")) == uids[:1]
        finally:
            await store.close()
        assert _queued(tmp_path) == 2
        store = await SqliteStore.open(tmp_path)  # indexes the queue at open
        try:
            await store.create_account("carol@example.org", "x")  # a write after the open's
            assert _queued(tmp_path) == 0
            assert await store.search(inbox.id, TextContains("zebra")) == uids[:1]
            assert await store.search(inbox.id, TextContains("nothing-like-it")) == []
        finally:
            await store.close()

    asyncio.run(main())


def test_sqlite_idle_writer_indexes_a_few_documents_soon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_engine, "INDEX_DELAY", 0.01)

    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            uids = await append(store, inbox, make("One", "quokka"))
            for _ in range(200):
                if _queued(tmp_path) == 0:
                    break
                await asyncio.sleep(0.01)
            assert _queued(tmp_path) == 0
            assert await store.search(inbox.id, TextContains("quokka")) == uids
        finally:
            await store.close()

    asyncio.run(main())


def test_sqlite_indexing_due_after_close_is_left_for_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sqlite_engine, "INDEX_DELAY", 0.05)

    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        _, inbox = await account_inbox(store)
        await append(store, inbox, make("One", "quokka"))
        await store.close()
        await asyncio.sleep(0.2)  # the delayed indexing comes due on a closed store

    with caplog.at_level(logging.DEBUG):
        asyncio.run(main())
    assert _queued(tmp_path) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_sqlite_queue_of_unindexed_documents_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Writes that never let the writer idle still get their documents indexed past
    # INDEX_BACKLOG, so the queue every SEARCH scans stays short.
    monkeypatch.setattr(sqlite_engine, "INDEX_DELAY", 3600.0)
    monkeypatch.setattr(sqlite_engine, "INDEX_BACKLOG", 8)
    highest = 0

    async def main() -> None:
        nonlocal highest
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            for n in range(40):
                await append(store, inbox, make(f"Message {n}", f"word{n}"))
                highest = max(highest, _queued(tmp_path))
            assert await store.search(inbox.id, TextContains("word39")) == [Uid(40)]
        finally:
            await store.close()

    asyncio.run(main())
    assert 0 < highest <= 8


def test_sqlite_migration_indexes_existing_mail(tmp_path: Path) -> None:
    async def deliver() -> MailboxId:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            await append(store, inbox, make("Straße", "zebrafish"), make("Other", "nothing"))
            return inbox.id
        finally:
            await store.close()

    async def search(inbox: MailboxId) -> list[Uid]:
        store = await SqliteStore.open(tmp_path)
        try:
            return await store.search(inbox, And((TextContains("ZEBRA"), TextContains("ss"))))
        finally:
            await store.close()

    inbox = asyncio.run(deliver())
    with sqlite3.connect(tmp_path / DATABASE) as conn:  # as before the index, then its migration
        conn.executescript("DROP TABLE search_text; DROP TABLE search_docs;")
        conn.create_function(FOLD_FUNCTION, 1, casefold, deterministic=True)
        conn.executescript(migration_script("search"))
    conn.close()
    assert asyncio.run(search(inbox)) == [1]
    assert _documents(tmp_path) == 2


def test_sqlite_search_starts_from_the_index_hits(tmp_path: Path) -> None:
    # Cost follows the matches: a positive text key drives the statement through the FTS
    # table (and the queue of documents not indexed yet) and messages_blob, never a scan
    # of the mailbox; the others probe the hits once.
    asyncio.run(asyncio.run(SqliteStore.open(tmp_path)).close())
    index = Fts5TextIndex()
    conn = connect(tmp_path / DATABASE)
    try:
        for query in (
            TextContains("zebrafish"),
            And((Not(HasFlag("\\Seen")), HeaderContains("from", "alice"))),
        ):
            sql, params = compile_search(query, MailboxId(1), index)
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            assert plan[:2] == ["CO-ROUTINE hits", "COMPOUND QUERY"], plan
            assert any(p.startswith("SCAN search_text VIRTUAL TABLE") for p in plan), plan
            assert "SCAN p" in plan and "SCAN hits" in plan, plan
            assert any("messages USING INDEX messages_blob (blob_id=?)" in p for p in plan), plan
            assert not any("mailbox_id=?" in p for p in plan), plan
        either = Or((TextContains("zebrafish"), BodyContains("stripes")))
        sql, params = compile_search(And((either, Not(HasFlag("\\Seen")))), MailboxId(1), index)
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert "COMPOUND QUERY" in plan and "SCAN hits" in plan, plan
        assert any("messages USING INDEX messages_blob (blob_id=?)" in p for p in plan), plan
        sql, params = compile_search(Not(TextContains("zebrafish")), MailboxId(1), index)
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert any(p.startswith("LIST SUBQUERY") for p in plan), plan
    finally:
        conn.close()


def test_sqlite_sync_reads_use_the_covering_index(tmp_path: Path) -> None:
    """Migration 9: what the sync FETCH reads comes from two covering indexes, never from
    the wide rows: the fixed columns from messages_sync, flags and modseq from
    messages_flags."""

    async def fill() -> MailboxId:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            await store.append(inbox.id, [make(f"M{n}") for n in range(20)])
            return inbox.id
        finally:
            await store.close()

    inbox = asyncio.run(fill())
    fixed = field_columns([F.ENVELOPE, F.BODYSTRUCTURE, F.SIZE, F.INTERNALDATE])
    changing = field_columns([F.FLAGS, F.MODSEQ])
    with sqlite3.connect(tmp_path / DATABASE) as conn:
        assert len(select_uids(SqliteTx(conn), fixed, inbox, [Uid(u) for u in range(30)])) == 20
        assert "COVERING INDEX messages_sync" in plan(conn, inbox, fixed)
        assert "COVERING INDEX messages_flags" in plan(conn, inbox, changing)


def plan(conn: sqlite3.Connection, mailbox: MailboxId, columns: str) -> str:
    rows = conn.execute(
        f"EXPLAIN QUERY PLAN SELECT {columns} FROM messages "
        "WHERE mailbox_id = ? AND (uid BETWEEN ? AND ?) ORDER BY uid",
        (mailbox, 1, 300),
    ).fetchall()
    return " ".join(str(row[-1]) for row in rows)


def test_sqlite_migration_folds_the_texts_stored_before_it(tmp_path: Path) -> None:
    """Migration 12: texts stored as delivered (before it) are folded, and their header
    fields split out, so the exact tests of SEARCH find them."""

    async def deliver() -> MailboxId:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            await append(store, inbox, make("Straße", "ZEBRAFISH"), make("Other", "nothing"))
            return inbox.id
        finally:
            await store.close()

    async def search(inbox: MailboxId) -> list[list[Uid]]:
        store = await SqliteStore.open(tmp_path)
        try:
            return [
                await store.search(inbox, HeaderContains("SUBJECT", "strasse")),
                await store.search(inbox, BodyContains("zebrafish")),
                await store.search(inbox, HeaderContains("to", "")),
            ]
        finally:
            await store.close()

    inbox = asyncio.run(deliver())
    original = make("Straße", "ZEBRAFISH").parsed
    with sqlite3.connect(tmp_path / DATABASE) as conn:  # as before the migration
        undo_search_pending(conn)  # 19
        conn.execute("DROP TABLE search_fields")
        conn.execute(
            "UPDATE blob_texts SET headers_text = ?, body_text = ? WHERE body_text = ?",
            (original.headers_text, original.body_text, "zebrafish"),
        )
        conn.execute("ALTER TABLE messages DROP COLUMN envelope_fields")  # 14, after it
        conn.execute("ALTER TABLE mailboxes DROP COLUMN keywords")  # 16
        conn.execute("DROP TABLE device_folders")  # 18
        conn.execute("DROP TABLE devices")
        conn.execute("DROP TABLE out_of_office")
        conn.execute("DROP TABLE auto_replies")
        conn.execute("DROP TABLE sent_client_ids")
        conn.execute("DROP TABLE private_seen")  # 22
        conn.execute("DROP TABLE acl")  # 21
        undo_small_blobs(conn, tmp_path)  # 17
        conn.executescript(  # 20: one account an alias
            "CREATE TABLE aliases_before_20 (address TEXT PRIMARY KEY COLLATE NOCASE,"
            " account_id INTEGER NOT NULL REFERENCES accounts (id));"
            " INSERT INTO aliases_before_20 SELECT address, account_id FROM aliases;"
            " DROP TABLE aliases; ALTER TABLE aliases_before_20 RENAME TO aliases;"
            " CREATE INDEX aliases_by_account ON aliases (account_id);"
        )
        conn.execute("PRAGMA user_version = 12")
    conn.close()
    assert asyncio.run(search(inbox)) == [[1], [1], [1, 2]]


def test_the_store_is_private_whatever_the_umask(tmp_path: Path) -> None:
    # Issue 9: roost.db was 0644 and the blob directories 0755 under the usual umask; they
    # hold every message and password hash.
    data = tmp_path / "data"
    big = make("big", "x" * 200_000)  # past the inline threshold: a file
    previous = os.umask(0o022)
    try:

        async def main() -> None:
            store = await SqliteStore.open(data)
            try:
                _, inbox = await account_inbox(store)
                await append(store, inbox, make("small", "hello"), big)
            finally:
                await store.close()

        asyncio.run(main())
    finally:
        os.umask(previous)
    assert mode(data) == 0o700
    for name in (DATABASE, DATABASE + "-wal", DATABASE + "-shm"):
        if (data / name).exists():
            assert mode(data / name) == 0o600, name
    blob_files = [p for p in (data / "blobs").rglob("*") if p.is_file()]
    assert blob_files, "the large message is a blob file"
    for path in [data / "blobs", *(data / "blobs").rglob("*")]:
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_a_database_and_blob_directory_readable_by_others_are_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(close_after_open(data))
    (data / DATABASE).chmod(0o644)
    (data / "blobs").chmod(0o755)  # as made before issue 9
    asyncio.run(close_after_open(data))
    assert mode(data / DATABASE) == 0o600
    assert mode(data / "blobs") == 0o700


async def close_after_open(data: Path) -> None:
    store = await SqliteStore.open(data)
    await store.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
