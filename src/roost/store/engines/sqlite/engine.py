"""The SQLite engine: one writing connection on a writer thread, read-only ones beside it.

Theory of operation
-------------------
SQLite and fsync never block the event loop: every unit of work from roost.store.mail.store
runs on a worker thread. Writes run on one writer thread that owns the writing connection,
so they are serialised and run in the order they were handed in. Reads run on READERS
threads of their own, each with a read-only connection: in WAL mode a reader never waits
for the writer, so a read is not held up behind a write's fsync. Each read runs in its own
deferred transaction (a consistent snapshot across several statements) and sees every
write whose `run` returned before the read was handed in.

Writes use group commit: the writer takes the write that is next in line together with
the writes queued behind it (up to MAX_GROUP) and runs them in one BEGIN IMMEDIATE
transaction, each inside its own SAVEPOINT, so a unit that raises is rolled
back alone and the others commit. One COMMIT, and so one fsync of the WAL, then
acknowledges the whole group: under concurrent load the cost of durability is shared
instead of paid once per unit, and a lone write pays only a savepoint more.

Durability: WAL journal with synchronous=FULL, so a COMMIT returns only once the WAL is
fsync'd; the commit is the acknowledgement, and no unit's caller hears of its result before
the COMMIT of its group returns. A group made only of writes run with durable=False
commits with synchronous=NORMAL: written to the WAL, not fsync'd, which the next durable
commit's fsync then covers. Readers in other processes never block the writer (WAL);
busy_timeout makes a second process wait for the write lock instead of failing.

A caller cancelled while its work waits or runs does not cancel the work: it may still
commit. That is safe because the change log, not the caller, is what others read.

Migrations are the numbered SQL files in migrations/; PRAGMA user_version records the last
one applied. Search text is indexed by FTS5 (fts.py), the SQLite-specific part of search,
off the commit path: a delivery queues its blob's document, and the writer indexes the
queue in transactions of its own (not fsync'd, like durable=False writes; a crash only
leaves the documents queued) when no write waits and INDEX_BATCH documents are queued or
the writer has been idle for INDEX_DELAY, so indexing fills the writer's idle moments, in
transactions of many documents (the index's pages written once for all), instead of
lengthening the writes clients wait for. Past INDEX_BACKLOG queued documents it indexes
INDEX_BATCH of them between groups even while writes wait, which bounds the queue that
every SEARCH scans without holding the waiting writes up for long.
The queue left by an earlier process is indexed at open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from roost.errors import storage_unavailable, took_too_long
from roost.store.engines.api import Row, TextIndex, Tx, numbered_migrations
from roost.store.engines.sqlite.fts import (
    FIELDS_FUNCTION,
    FOLD_FUNCTION,
    MAX_INDEX_BATCH,
    Fts5TextIndex,
    casefold,
    header_fields_json,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
# FULL: in WAL mode each COMMIT fsyncs the WAL (roost.store.engines.api: durable writes).
SYNCHRONOUS = "FULL"
log = logging.getLogger("roost.store")

# SQLite's primary result codes that mean the storage failed, not the statement (issue 9).
_STORAGE_FAULTS = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PERM,
    }
)
# SQLite virtual-machine instructions between two looks at a read's time limit.
PROGRESS_STEPS = 100_000
# Read-only connections beside the writer's, each on a thread of its own.
READERS = 2
# The WAL size past which the Checkpointer copies it back (SQLite's own default is 1,000
# pages, about 4 MiB).
CHECKPOINT_BYTES = 4 * 1024 * 1024
# Writes one COMMIT acknowledges at most: bounds how long the first of them waits.
MAX_GROUP = 64
# Queued search documents past which indexing goes between groups even while writes wait.
INDEX_BACKLOG = 2048
# Queued documents indexed as soon as no write waits; fewer wait INDEX_DELAY seconds of
# the writer being idle (or for more to come).
INDEX_BATCH = 64
INDEX_DELAY = 0.05


class SqliteTx:
    """A Tx over a connection in autocommit mode inside an explicit BEGIN."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        # fetchall, not fetchone: an UPDATE ... RETURNING completes only once stepped to
        # the end, and an unfinished statement would make COMMIT fail.
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self._conn.executemany(sql, rows)


def migrate(conn: sqlite3.Connection) -> int:
    """Applies the migrations newer than PRAGMA user_version, each in one transaction.
    Returns the resulting version."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    known = numbered_migrations(__package__)
    if known and version > known[-1][0]:
        raise RuntimeError(f"database schema {version} is newer than this Roost")
    for number, script in known:
        if number <= version:
            continue
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version = number
    return version


def connect(path: Path) -> sqlite3.Connection:
    """Opens (creating if needed) and migrates the database: the writer's connection.
    Blocks."""
    make_private(path)
    # Checkpoints run on their own thread (Checkpointer), not inside a COMMIT.
    conn = _open(path, "PRAGMA journal_mode = WAL", "PRAGMA wal_autocheckpoint = 0")
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def make_private(path: Path) -> None:
    """The database file is the server user's only (0600), whatever the umask of whoever
    creates it (`roost serve`, a CLI command on a fresh data directory): it holds every
    message and password hash. SQLite gives the -wal and -shm files the mode of the
    database. One made readable by others before this (0644) is made private again."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            companion = path.with_name(path.name + suffix)
            if companion.stat().st_mode & 0o077:
                companion.chmod(0o600)


def connect_reader(path: Path) -> sqlite3.Connection:
    """Opens a read-only connection to a database `connect` has migrated. Blocks. It may be
    used from any one thread at a time (the engine hands it from reader to reader)."""
    return _open(path, "PRAGMA query_only = ON", any_thread=True)


def _open(path: Path, *pragmas: str, any_thread: bool = False) -> sqlite3.Connection:
    """A connection configured like every other of the engine, then `pragmas`."""
    # isolation_level=None: the engine issues BEGIN/COMMIT itself.
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        timeout=BUSY_TIMEOUT_MS / 1000,
        check_same_thread=not any_thread,
    )
    try:
        _configure(conn)
        for pragma in pragmas:
            conn.execute(pragma)
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # An acknowledged change survives power loss (NORMAL would only protect against a
    # crash of the process).
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # FETCH of a big mailbox reads its rows again and again: 64 MiB of page cache (the
    # default is 2 MiB) and reads mapped from the file rather than copied (about 25% more
    # FETCH throughput on 10,000 messages).
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA mmap_size = 268435456")
    # For the migrations only: no query runs Python inside SQL (roost.store.mail.texts).
    conn.create_function(FOLD_FUNCTION, 1, casefold, deterministic=True)
    conn.create_function(FIELDS_FUNCTION, 1, header_fields_json, deterministic=True)


class _Write:
    """A write waiting for the writer thread, and where its outcome goes."""

    __slots__ = ("durable", "future", "loop", "work")

    def __init__(
        self, work: Callable[[Tx], Any], durable: bool, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.work = work
        self.durable = durable
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()

    def settle(self, result: object, error: BaseException | None) -> None:
        """Hands the outcome to the caller's loop (called on the worker thread)."""
        self.loop.call_soon_threadsafe(_settle, self.future, result, error)


def _settle(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class Checkpointer:
    """Copies the WAL back into the database file on a thread of its own.

    SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold, so one
    write in a thousand pages would wait for the whole copy and its fsync of the database.
    The writer's connection has it turned off (`connect`); instead, after each commit the
    writer pokes this, and once the WAL has grown past CHECKPOINT_BYTES a PASSIVE checkpoint
    runs here, beside the writer and the readers, on a connection of its own. The next
    write after a complete checkpoint starts the WAL from its beginning again.
    """

    __slots__ = ("_conn", "_executor", "_running", "_wal")

    def __init__(self, path: Path) -> None:
        self._wal = path.with_name(path.name + "-wal")
        self._conn = _open(path, any_thread=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roost-checkpoint")
        self._running = False

    def poke(self) -> None:
        """Called on the writer thread after a commit: starts a checkpoint if one is due."""
        if self._running:
            return
        try:
            size = self._wal.stat().st_size
        except FileNotFoundError:
            return
        if size >= CHECKPOINT_BYTES:
            self._running = True
            self._executor.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass  # busy or interrupted: the next poke tries again
        finally:
            self._running = False

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._conn.close()


class SqliteEngine:
    """The Engine of roost.store.engines.api over one SQLite database."""

    __slots__ = (
        "_checkpointer",
        "_conn",
        "_executor",
        "_fts",
        "_idle",
        "_index_soon",
        "_queue",
        "_readers",
        "_tx",
        "text_index",
    )

    def __init__(
        self,
        conn: sqlite3.Connection,
        executor: ThreadPoolExecutor,
        readers: Sequence[sqlite3.Connection],
        checkpointer: Checkpointer,
    ) -> None:
        self._conn = conn
        self._checkpointer = checkpointer
        self._executor = executor
        self._tx = SqliteTx(conn)
        # Appended on the event loop, popped only by the worker thread (deque's append and
        # popleft are atomic).
        self._queue: deque[_Write] = deque()
        # One reader thread per reader connection, so taking an idle one never waits.
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        for reader in readers:
            self._idle.put(reader)
        self._readers = ThreadPoolExecutor(
            max_workers=max(1, len(readers)), thread_name_prefix="roost-sqlite-read"
        )
        self._fts = Fts5TextIndex()
        self._index_soon = False  # an _index_when_idle is on its way
        self.text_index: TextIndex = self._fts
        self._executor.submit(self._index)  # what an earlier process left queued

    @classmethod
    async def open(cls, path: Path, *, before: Callable[[], object] | None = None) -> SqliteEngine:
        """Opens the database at path on a new worker thread; before() runs there first."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roost-sqlite")

        def start() -> tuple[sqlite3.Connection, list[sqlite3.Connection], Checkpointer]:
            if before is not None:
                before()
            opened = [connect(path)]  # migrates, so the others open the current schema
            try:
                opened += [connect_reader(path) for _ in range(READERS)]
                return opened[0], opened[1:], Checkpointer(path)
            except BaseException:
                for conn in opened:
                    conn.close()
                raise

        try:
            conn, readers, checkpointer = await asyncio.get_running_loop().run_in_executor(
                executor, start
            )
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(conn, executor, readers, checkpointer)

    async def run(
        self,
        work: Callable[[Tx], T],
        *,
        write: bool = False,
        durable: bool = True,
        seconds: float | None = None,
    ) -> T:
        try:
            return await self._run(work, write=write, durable=durable, seconds=seconds)
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
            if code == sqlite3.SQLITE_INTERRUPT and seconds is not None:
                raise took_too_long() from exc
            # A read told the database is read-only tried to write: a bug, not the disk.
            if code not in _STORAGE_FAULTS or (code == sqlite3.SQLITE_READONLY and not write):
                raise
            # The disk is full, the directory read-only, a write failed: the transaction is
            # rolled back, nothing was changed; the client hears a temporary failure.
            log.error("the store cannot be written: %s", exc)
            raise storage_unavailable() from exc

    async def _run(
        self, work: Callable[[Tx], T], *, write: bool, durable: bool, seconds: float | None
    ) -> T:
        loop = asyncio.get_running_loop()
        if not write:
            return await loop.run_in_executor(self._readers, self._read, work, seconds)
        unit = _Write(work, durable, loop)
        self._queue.append(unit)
        # One drain per unit; a drain that finds the queue empty had its unit taken into an
        # earlier group.
        self._executor.submit(self._drain)
        result: T = await unit.future
        if self._fts.queued and not self._index_soon:
            # A few search documents queued (a hint read across threads: at worst one
            # timer too many): wait for more, or for the writer to stay idle (_drain
            # indexes at once once there are many).
            self._index_soon = True
            loop.call_later(INDEX_DELAY, self._index_when_idle)
        return result

    def _read(self, work: Callable[[Tx], T], seconds: float | None = None) -> T:
        conn = self._idle.get()
        try:
            if seconds is not None:
                deadline = time.monotonic() + seconds
                # SQLite calls this every so many instructions; non-zero interrupts the query.
                conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
            conn.execute("BEGIN")
            try:
                return work(SqliteTx(conn))
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # a read has nothing to keep
        finally:
            if seconds is not None:
                conn.set_progress_handler(None, 0)
            self._idle.put(conn)

    def _drain(self) -> None:
        if self._queue:
            group = [self._queue.popleft()]
            while len(group) < MAX_GROUP and self._queue:
                group.append(self._queue.popleft())
            for member, (result, error) in zip(group, self._write_group(group), strict=True):
                member.settle(result, error)
            self._checkpointer.poke()
        # Many documents: one transaction for all of them writes the index's pages once.
        queued = self._fts.queued
        if queued >= INDEX_BATCH and not self._queue:
            self._index()
        elif queued >= INDEX_BACKLOG:  # writes wait: a short batch between their groups
            self._index(INDEX_BATCH)

    def _index_when_idle(self) -> None:
        """On the event loop, INDEX_DELAY after a write queued documents."""
        with contextlib.suppress(RuntimeError):  # closed since: the next start indexes them
            self._executor.submit(self._index_if_idle)

    def _index_if_idle(self) -> None:
        self._index_soon = False
        while self._fts.queued and not self._queue:
            self._index()

    def _close_writer(self) -> None:
        self._fts.queued = 0  # an _index_if_idle still on its way finds nothing to do
        self._conn.close()

    def _index(self, limit: int = MAX_INDEX_BATCH) -> None:
        """Indexes up to limit queued search documents in a transaction of its own."""
        conn = self._conn
        try:
            if not conn.execute("SELECT EXISTS (SELECT 1 FROM search_pending)").fetchone()[0]:
                self._fts.queued = 0  # without taking the write lock
                return
            conn.execute("PRAGMA synchronous = NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._fts.index_pending(self._tx, limit)
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        except sqlite3.Error as exc:
            # Searches stay right (queued documents are candidates); the next delivery or
            # the next start tries again.
            self._fts.queued = 0
            log.warning("search indexing failed, will retry later: %s", exc)
            return
        self._checkpointer.poke()

    def _write_group(self, group: list[_Write]) -> list[tuple[object, BaseException | None]]:
        """Runs each unit of group in its own savepoint of one transaction; returns each
        one's (result, error). If the transaction as a whole fails, every unit gets its error."""
        conn = self._conn
        outcomes: list[tuple[object, BaseException | None]] = []
        lazy = not any(unit.durable for unit in group)
        if lazy:
            # The WAL is written but not fsync'd at COMMIT; the next durable commit's fsync
            # of the same file makes these frames durable too.
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            for unit in group:
                conn.execute("SAVEPOINT unit")
                try:
                    outcomes.append((unit.work(self._tx), None))
                except Exception as exc:
                    if not conn.in_transaction:
                        raise  # SQLite rolled the whole transaction back
                    conn.execute("ROLLBACK TO unit")
                    outcomes.append((None, exc))
                conn.execute("RELEASE unit")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(None, exc)] * len(group)
        finally:
            if lazy:
                conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        return outcomes

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            # After every write handed in before: the executor runs in order.
            await loop.run_in_executor(self._executor, self._close_writer)
            # The reads still running end first; each puts its connection back.
            await asyncio.to_thread(self._readers.shutdown)
            while not self._idle.empty():
                self._idle.get().close()
            await asyncio.to_thread(self._checkpointer.close)
        finally:
            # The queue is empty now; the thread ends as soon as it sees the shutdown.
            self._executor.shutdown(wait=False)
