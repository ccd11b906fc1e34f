"""The SQLite engine: group commit (writes queued together share one transaction, each
still all or nothing, in the order they were handed in), reads beside the writer, and the
checkpointer."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from roost.errors import MailError, MailErrorKind
from roost.store.engines.api import Tx
from roost.store.engines.sqlite import engine as engine_module
from roost.store.engines.sqlite.engine import (
    MAX_GROUP,
    Checkpointer,
    SqliteEngine,
    connect,
    connect_reader,
)


def synchronously(
    test: Callable[[Path], Coroutine[object, object, None]],
) -> Callable[[Path], None]:
    @functools.wraps(test)
    def run(tmp_path: Path) -> None:
        asyncio.run(test(tmp_path))

    return run


async def open_engine(path: Path) -> tuple[SqliteEngine, list[str]]:
    """An engine on a fresh database, with every statement its writer runs recorded."""
    executor = ThreadPoolExecutor(max_workers=1)
    statements: list[str] = []

    def start() -> tuple[sqlite3.Connection, list[sqlite3.Connection], Checkpointer]:
        conn = connect(path)
        conn.set_trace_callback(statements.append)
        return conn, [connect_reader(path) for _ in range(2)], Checkpointer(path)

    conn, readers, checkpointer = await asyncio.get_running_loop().run_in_executor(executor, start)
    engine = SqliteEngine(conn, executor, readers, checkpointer)
    await engine.run(lambda tx: tx.execute("CREATE TABLE t (n INTEGER)"), write=True)
    statements.clear()
    return engine, statements


def insert(n: int, *, fail: bool = False) -> object:
    def work(tx: Tx) -> int:
        tx.execute("INSERT INTO t (n) VALUES (?)", (n,))
        if fail:
            raise MailError(MailErrorKind.OVER_QUOTA, f"unit {n} fails")
        row = tx.one("SELECT count(*) FROM t")
        assert row is not None
        return int(row[0])

    return work


async def hold_writer(engine: SqliteEngine) -> tuple[threading.Event, asyncio.Future[object]]:
    """Keeps the engine's writer busy until the returned event is set, so that the writes
    handed in meanwhile queue up behind it."""
    started, release = threading.Event(), threading.Event()

    def block(tx: Tx) -> None:
        started.set()
        release.wait(10)

    busy = asyncio.ensure_future(engine.run(block, write=True))
    await asyncio.to_thread(started.wait, 10)
    return release, busy


def commits(statements: list[str]) -> int:
    return sum(1 for s in statements if s == "COMMIT")


@synchronously
async def test_queued_writes_share_one_commit_and_keep_their_order(tmp_path: Path) -> None:
    engine, statements = await open_engine(tmp_path / "db")
    release, busy = await hold_writer(engine)
    writes = [asyncio.ensure_future(engine.run(insert(n), write=True)) for n in range(10)]
    await asyncio.sleep(0)
    release.set()
    await busy
    # Each unit sees the rows of those before it in the group: the order is kept.
    assert await asyncio.gather(*writes) == list(range(1, 11))
    assert commits(statements) == 2  # the holding write's, then the group's
    rows = await engine.run(lambda tx: tx.all("SELECT n FROM t ORDER BY rowid"))
    assert [r[0] for r in rows] == list(range(10))
    await engine.close()


@synchronously
async def test_a_failing_unit_is_rolled_back_alone(tmp_path: Path) -> None:
    engine, _ = await open_engine(tmp_path / "db")
    release, busy = await hold_writer(engine)
    writes = [
        asyncio.ensure_future(engine.run(insert(n, fail=n == 2), write=True)) for n in range(5)
    ]
    await asyncio.sleep(0)
    release.set()
    await busy
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    assert outcomes[:2] == [1, 2] and outcomes[3:] == [3, 4]
    assert isinstance(outcomes[2], MailError) and outcomes[2].kind is MailErrorKind.OVER_QUOTA
    rows = await engine.run(lambda tx: tx.all("SELECT n FROM t ORDER BY n"))
    assert [r[0] for r in rows] == [0, 1, 3, 4]
    await engine.close()


@synchronously
async def test_reads_do_not_wait_for_writes_and_see_those_that_returned(
    tmp_path: Path,
) -> None:
    engine, _ = await open_engine(tmp_path / "db")
    assert await engine.run(insert(1), write=True) == 1
    release, busy = await hold_writer(engine)
    queued = asyncio.ensure_future(engine.run(insert(2), write=True))
    # The writer is stuck; a read still runs, and sees the write that returned.
    count = await engine.run(lambda tx: tx.one("SELECT count(*) FROM t"))
    assert count == (1,)
    release.set()
    await busy
    assert await queued == 2
    assert await engine.run(lambda tx: tx.one("SELECT count(*) FROM t")) == (2,)
    await engine.close()


@synchronously
async def test_readers_cannot_write(tmp_path: Path) -> None:
    engine, _ = await open_engine(tmp_path / "db")
    with pytest.raises(sqlite3.OperationalError):
        await engine.run(lambda tx: tx.execute("INSERT INTO t (n) VALUES (1)"))
    await engine.close()


COUNT_FOR_EVER = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
    "SELECT count(*) FROM c"
)


@synchronously
async def test_a_read_with_a_time_limit_is_stopped_there(tmp_path: Path) -> None:
    # Issue 9: a search runs at most SEARCH_SECONDS, then MailError(LIMIT) (IMAP NO [LIMIT]).
    engine, _ = await open_engine(tmp_path / "db")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(MailError) as stopped:
        await engine.run(lambda tx: tx.all(COUNT_FOR_EVER), seconds=0.2)
    assert stopped.value.kind is MailErrorKind.LIMIT
    assert loop.time() - started < 5
    # The reader is whole again, and reads without a limit are not stopped.
    for _ in range(4):
        assert await engine.run(lambda tx: tx.all("SELECT 1")) == [(1,)]
    await engine.close()


@synchronously
async def test_a_group_is_bounded(tmp_path: Path) -> None:
    engine, statements = await open_engine(tmp_path / "db")
    release, busy = await hold_writer(engine)
    total = MAX_GROUP * 2 + 1
    writes = [asyncio.ensure_future(engine.run(insert(n), write=True)) for n in range(total)]
    await asyncio.sleep(0)
    release.set()
    await busy
    assert await asyncio.gather(*writes) == list(range(1, total + 1))
    assert commits(statements) == 1 + 3  # the holding write's, then three groups
    await engine.close()


@synchronously
async def test_a_cancelled_caller_does_not_cancel_its_write(tmp_path: Path) -> None:
    engine, _ = await open_engine(tmp_path / "db")
    release, busy = await hold_writer(engine)
    write = asyncio.ensure_future(engine.run(insert(7), write=True))
    await asyncio.sleep(0)
    write.cancel()
    release.set()
    await busy
    with pytest.raises(asyncio.CancelledError):
        await write
    # Writes run in order: once a later one returned, the cancelled one is in (or not).
    await engine.run(lambda tx: None, write=True)
    rows = await engine.run(lambda tx: tx.all("SELECT n FROM t"))
    assert rows == [(7,)]
    await engine.close()


@synchronously
async def test_a_failed_commit_fails_every_unit_of_the_group(tmp_path: Path) -> None:
    engine, _ = await open_engine(tmp_path / "db")
    # A deferred foreign key is checked only at COMMIT: the whole group then fails.
    await engine.run(
        lambda tx: tx.execute(
            "CREATE TABLE child (p INTEGER REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED)"
        ),
        write=True,
    )
    await engine.run(lambda tx: tx.execute("CREATE UNIQUE INDEX t_n ON t (n)"), write=True)
    release, busy = await hold_writer(engine)
    good = asyncio.ensure_future(engine.run(insert(1), write=True))
    dangling = asyncio.ensure_future(
        engine.run(lambda tx: tx.execute("INSERT INTO child (p) VALUES (99)"), write=True)
    )
    await asyncio.sleep(0)
    release.set()
    await busy
    outcomes = await asyncio.gather(good, dangling, return_exceptions=True)
    assert all(isinstance(o, Exception) for o in outcomes)
    assert await engine.run(lambda tx: tx.all("SELECT n FROM t")) == []
    await engine.close()


@synchronously
async def test_only_a_group_of_lazy_writes_skips_the_fsync(tmp_path: Path) -> None:
    engine, statements = await open_engine(tmp_path / "db")
    await engine.run(insert(1), write=True, durable=False)
    assert "PRAGMA synchronous = NORMAL" in statements
    # A durable write queued behind a lazy one makes the whole group durable.
    statements.clear()
    release, busy = await hold_writer(engine)
    lazy = asyncio.ensure_future(engine.run(insert(2), write=True, durable=False))
    durable = asyncio.ensure_future(engine.run(insert(3), write=True))
    await asyncio.sleep(0)
    release.set()
    await busy
    assert (await lazy, await durable) == (2, 3)
    assert "PRAGMA synchronous = NORMAL" not in statements
    # FULL again afterwards: 2 is FULL.
    assert await engine.run(lambda tx: tx.one("PRAGMA synchronous")) == (2,)
    await engine.close()


def test_the_checkpointer_copies_the_wal_into_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db"
    conn = connect(path)
    conn.execute("CREATE TABLE big (data BLOB)")
    for _ in range(20):
        conn.execute("INSERT INTO big (data) VALUES (zeroblob(10000))")
    # The writer's connection never checkpoints by itself: the rows are only in the WAL.
    assert not has_rows(path)
    monkeypatch.setattr(engine_module, "CHECKPOINT_BYTES", 1)
    checkpointer = Checkpointer(path)
    checkpointer.poke()
    checkpointer.close()  # waits for the checkpoint
    assert has_rows(path)
    conn.close()


def has_rows(path: Path) -> bool:
    """Whether the database file alone, without its WAL, holds the rows of table big."""
    alone = path.with_name("alone")
    alone.write_bytes(path.read_bytes())
    try:
        with contextlib.closing(sqlite3.connect(alone)) as copy:
            tables = copy.execute("SELECT name FROM sqlite_master WHERE name = 'big'").fetchall()
            return bool(tables) and copy.execute("SELECT count(*) FROM big").fetchone()[0] == 20
    finally:
        alone.unlink()
        for extra in ("-wal", "-shm"):
            alone.with_name(alone.name + extra).unlink(missing_ok=True)
