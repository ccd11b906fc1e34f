"""The PostgreSQL engine's own tests (what every engine must do is in the contract suite):
placeholders, writers of different accounts that never wait for each other, conflicting
writers retried into a serial order, blob collection beside a writer in another process,
the text index's plan, and migrations."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import psycopg
import pytest

from roost.errors import MailError, MailErrorKind
from roost.store.api import FlagMode, Mailbox, Store
from roost.store.engines.api import Tx, numbered_migrations
from roost.store.engines.postgresql import engine as engine_module
from roost.store.engines.postgresql.engine import PostgresEngine, migrate, translate
from roost.store.engines.postgresql.store import PostgresStore
from roost.store.engines.postgresql.text import TrigramTextIndex
from roost.store.mail.journal import Journal
from roost.store.mail.messages import append as append_unit
from roost.store.mail.store import MailStore
from tests.store.contract import account_inbox, append, make

T = TypeVar("T")


def run(url: str, body: Callable[[PostgresStore], Awaitable[T]]) -> T:
    async def main() -> T:
        store = await PostgresStore.open(url)
        try:
            return await body(store)
        finally:
            await store.close()

    return asyncio.run(main())


def engine_of(store: Store) -> PostgresEngine:
    assert isinstance(store, MailStore)
    engine = store._engine
    assert isinstance(engine, PostgresEngine)
    return engine


def test_placeholders_outside_string_literals() -> None:
    assert translate("SELECT ? WHERE a = '?' AND b LIKE ? ESCAPE '\\'") == (
        "SELECT %s WHERE a = '?' AND b LIKE %s ESCAPE '\\'"
    )
    assert translate("SELECT 7 % 2, 'it''s ?', ?") == "SELECT 7 %% 2, 'it''s ?', %s"


def test_writers_in_different_accounts_do_not_wait_for_each_other(postgres_url: str) -> None:
    """An APPEND in one account holds its transaction open; APPENDs, flag changes and a
    quota check in another account commit meanwhile (no lock across accounts)."""

    async def body(store: PostgresStore) -> None:
        _, held = await account_inbox(store, "alice@example.org")
        _, other = await account_inbox(store, "bob@example.org")
        inside, release = threading.Event(), threading.Event()
        message = make("Held")
        await store.set_quota((await store.get_mailbox(other.id)).account_id, 10**6, 10)

        def slow_append(tx: Tx) -> object:
            # A write runs in a Journal (roost.store.mail.journal), as MailStore._write runs it.
            journal = Journal(tx)
            result = append_unit(journal, held.id, [message], ["0" * 64], store._engine.text_index)
            inside.set()
            release.wait(30)
            tx.execute("INSERT INTO blobs (id, data) VALUES (?, ?)", ("0" * 64, message.data))
            return result

        engine = engine_of(store)
        pending = asyncio.ensure_future(engine.run(slow_append, write=True))
        await asyncio.to_thread(inside.wait, 30)
        try:
            uids = await asyncio.wait_for(append(store, other, make("A"), make("B")), 10)
            await asyncio.wait_for(
                store.store_flags(other.id, uids, FlagMode.ADD, frozenset({"\\Seen"})), 10
            )
            assert not pending.done()
        finally:
            release.set()
        await pending
        assert (await store.status(held.id)).messages == 1

    run(postgres_url, body)


def test_concurrent_writers_of_one_mailbox_are_serialised(postgres_url: str) -> None:
    """Two stores (two nodes) append to and flag one mailbox at once: every APPEND gets
    its own UIDs, no flag change is lost, and HIGHESTMODSEQ counts every change."""

    async def body(one: PostgresStore) -> None:
        two = await PostgresStore.open(postgres_url)
        try:
            _, inbox = await account_inbox(one)
            appends = [
                store.append(inbox.id, [make(f"M{n}")]) for n in range(20) for store in (one, two)
            ]
            results = await asyncio.gather(*appends)
            uids = sorted(uid for result in results for uid in result.uids)
            assert uids == list(range(1, 41))
            flags = [
                store.store_flags(inbox.id, [uid], FlagMode.ADD, frozenset({f"$k{uid % 3}"}))
                for uid in uids
                for store in ((one, two)[uid % 2],)
            ]
            flags += [
                two.store_flags(inbox.id, uids, FlagMode.ADD, frozenset({"\\Seen"})),
            ]
            await asyncio.gather(*flags)
            stored = await one.fetch_flags(inbox.id, uids)
            assert all(f.flags == {"\\Seen", f"$k{f.uid % 3}"} for f in stored)
            # 40 appends and 41 flag changes, each its own modseq after the first 1.
            assert (await one.get_mailbox(inbox.id)).highestmodseq == 1 + 40 + 41
            assert (await one.status(inbox.id)).unseen == 0
        finally:
            await two.close()

    run(postgres_url, body)


def test_collection_beside_a_writer_in_another_process(postgres_url: str) -> None:
    """A collection (another process's connection) deletes a blob no message references;
    an APPEND of the same bytes meanwhile waits for it and stores the blob again."""

    async def body(store: PostgresStore) -> None:
        _, inbox = await account_inbox(store)
        message = make("Again")
        [uid] = await append(store, inbox, message)
        await store.store_flags(inbox.id, [uid], FlagMode.ADD, frozenset({"\\Deleted"}))
        await store.expunge(inbox.id)
        with psycopg.connect(postgres_url) as other:
            other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            deleted = other.execute(
                "DELETE FROM blobs b WHERE NOT EXISTS "
                "(SELECT 1 FROM messages m WHERE m.blob_id = b.id)"
            ).rowcount
            assert deleted == 1
            appending = asyncio.ensure_future(append(store, inbox, message))
            await asyncio.sleep(0.3)
            other.commit()
        [again] = await appending
        [meta] = await store.fetch_meta(inbox.id, [again])
        assert await store.read_blob(meta.blob_id) == message.data

    run(postgres_url, body)


def test_a_read_with_a_time_limit_is_stopped_there(postgres_url: str) -> None:
    # Issue 9: a search runs at most SEARCH_SECONDS, then MailError(LIMIT) (IMAP NO [LIMIT]).
    async def body(store: PostgresStore) -> None:
        engine = engine_of(store)
        with pytest.raises(MailError) as stopped:
            await engine.run(lambda tx: tx.all("SELECT pg_sleep(10)"), seconds=0.2)
        assert stopped.value.kind is MailErrorKind.LIMIT
        for _ in range(4):  # the connections are whole again, without a limit
            assert await engine.run(lambda tx: tx.all("SELECT 1")) == [(1,)]

    run(postgres_url, body)


def test_a_unit_that_keeps_losing_raises(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "MAX_ATTEMPTS", 2)
    runs: list[int] = []

    def conflicting(tx: Tx) -> None:
        runs.append(1)
        raise psycopg.errors.SerializationFailure("made up")

    async def body(store: PostgresStore) -> None:
        with pytest.raises(psycopg.errors.SerializationFailure):
            await engine_of(store).run(conflicting, write=True)

    run(postgres_url, body)
    assert len(runs) == 2


def test_text_candidates_come_from_the_trigram_indexes(postgres_url: str) -> None:
    async def body(store: PostgresStore) -> None:
        _, inbox = await account_inbox(store)
        await append(store, inbox, *(make(f"Note {n}", "nothing") for n in range(30)))

    run(postgres_url, body)
    found = TrigramTextIndex().candidates("Zebrafish", None)
    assert found is not None
    sql, params = found
    with psycopg.connect(postgres_url) as conn:
        conn.execute("SET enable_seqscan = off")  # a table this small is read whole
        plan = conn.execute(f"EXPLAIN {translate(sql)}", params).fetchall()  # type: ignore[arg-type]
    text = "\n".join(row[0] for row in plan)
    assert "Bitmap Index Scan on blob_texts_body" in text, text
    assert "Bitmap Index Scan on blob_texts_headers" in text, text


def test_migrations_run_once_and_refuse_a_newer_schema(postgres_url: str) -> None:
    run(postgres_url, lambda store: store.list_domains())
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert (
            migrate(conn) == numbered_migrations("roost.store.engines.postgresql")[-1][0]
        )  # nothing left to apply
        conn.execute("UPDATE roost_schema SET version = 999")
        with pytest.raises(RuntimeError, match="newer"):
            migrate(conn)


def test_bodies_live_in_the_database(postgres_url: str) -> None:
    async def body(store: PostgresStore) -> Mailbox:
        _, inbox = await account_inbox(store)
        await append(store, inbox, make("One", "x" * 5000))
        return inbox

    run(postgres_url, body)
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT count(*), sum(length(data)) FROM blobs").fetchone()
    assert row is not None and row[0] == 1 and row[1] > 5000


def test_reads_see_one_snapshot(postgres_url: str) -> None:
    """A read's statements see the same messages though a write commits between them."""

    async def body(store: PostgresStore) -> None:
        _, inbox = await account_inbox(store)
        await append(store, inbox, make("First"))
        between = threading.Event()
        done = threading.Event()

        def two_counts(tx: Tx) -> tuple[int, int]:
            count = "SELECT count(*) FROM messages WHERE mailbox_id = ?"
            first = tx.one(count, (inbox.id,))
            between.set()
            done.wait(30)
            second = tx.one(count, (inbox.id,))
            assert first is not None and second is not None
            return first[0], second[0]

        reading = asyncio.ensure_future(engine_of(store).run(two_counts))
        await asyncio.to_thread(between.wait, 30)
        await append(store, inbox, make("Second"))
        done.set()
        assert await reading == (1, 1)

    run(postgres_url, partial(body))
