"""The PostgreSQL engine: units of work on worker threads, each over a pooled connection.

Theory of operation
-------------------
The units of work of roost.store.mail.store are synchronous functions over a `Tx`, written
once for every engine, so they run on threads, each holding a synchronous psycopg
connection from a psycopg_pool pool for the length of one transaction. (psycopg's async
connections would need the units themselves to be coroutines; a thread per unit in flight
keeps them as they are and leaves the event loop free.) There are as many threads as the
pool may open connections, so a unit never waits for one.

Isolation. Every unit runs in one transaction at REPEATABLE READ (PostgreSQL's snapshot
isolation): reads take READ ONLY snapshots, consistent across their statements (FETCH reads
a mailbox with two statements that must see the same messages). Writes run side by side,
with no lock of the engine's own: they are serialised where they meet, by the row locks of
the rows every conflicting unit updates. A unit that changes a mailbox first updates its
row (UID and MODSEQ allocation, roost.store.mail.changes.advance); one that changes an account's
mailboxes or usage updates the account row (its MODSEQ, or the quota charge); at REPEATABLE
READ the second of two such units fails with a serialisation error instead of acting on
what it read before the first committed (a flag change computed from stale flags, say),
and the engine runs it again from the start. Units in different accounts share no row, so
they neither wait for nor retry because of each other. A unique-key or foreign-key
violation caused by a concurrent unit (two CREATEs of one name; a blob collected under an
APPEND) is retried the same way: the second run sees the first's rows and answers as the
units of work would have serially (ALREADY_EXISTS; the blob stored again). A unit is
therefore run again only as a whole, and a unit's Python side effects are idempotent.

Durability: each write commits before `run` returns, with PostgreSQL's synchronous_commit
(the WAL flushed, or replicated, as the server is configured); durable=False commits that
transaction with synchronous_commit off. PostgreSQL does its own group commit.

The SQL of the units is the dialect SQLite and PostgreSQL share, with "?" placeholders;
`PostgresTx` turns them into psycopg's "%s" (and a literal "%" into "%%").
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus
from psycopg.types import TypeInfo
from psycopg.types.string import TextBinaryLoader, TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from roost.errors import storage_unavailable, took_too_long
from roost.store.engines.api import Row, TextIndex, Tx, numbered_migrations
from roost.store.engines.postgresql.text import TrigramTextIndex

__all__ = ["PostgresEngine", "PostgresTx", "migrate", "translate"]

T = TypeVar("T")

# Connections (and threads) per engine: enough for reads beside writes; each is a server
# process, so a node keeps few.
POOL_SIZE = 8
# Runs of one unit before a conflict is the caller's: a unit loses only to a unit that
# committed, so each retry means progress elsewhere.
MAX_ATTEMPTS = 30
log = logging.getLogger("roost.store")

_RETRIED = (
    errors.SerializationFailure,
    errors.DeadlockDetected,
    errors.UniqueViolation,
    errors.ForeignKeyViolation,
)
_BEGIN_WRITE = "BEGIN ISOLATION LEVEL REPEATABLE READ"
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# pg_advisory_lock key: one migration at a time, whichever node starts first.
_MIGRATION_LOCK = 0x526F6F7374  # "Roost"


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """The shared dialect's "?" placeholders as psycopg's "%s", outside string literals."""
    out: list[str] = []
    quoted = False
    for char in sql:
        if char == "'":
            quoted = not quoted
        if char == "%":
            out.append("%%")
        elif char == "?" and not quoted:
            out.append("%s")
        else:
            out.append(char)
    return "".join(out)


def _values(params: Sequence[object]) -> list[object]:
    # PostgreSQL's text cannot hold NUL, which a decoded header or body may: it is stored
    # as U+FFFD, as roost.store.mail.texts folds it for search on every engine.
    return [
        value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value
        for value in params
    ]


class PostgresTx:
    """A Tx over a connection inside a transaction."""

    __slots__ = ("_conn",)

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with self._conn.cursor(binary=True) as cursor:
            cursor.execute(translate(sql), _values(params))
            return cursor.fetchall() if cursor.description is not None else []

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        with self._conn.cursor(binary=True) as cursor:
            cursor.execute(translate(sql), _values(params))
            return cursor.rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        with self._conn.cursor(binary=True) as cursor:
            cursor.executemany(translate(sql), [_values(row) for row in rows])


def migrate(conn: psycopg.Connection[Row]) -> int:
    """Applies the migrations newer than the database's, each in one transaction, under an
    advisory lock (nodes starting together migrate once). Returns the resulting version.
    conn is in autocommit mode."""
    encoding = conn.execute("SHOW server_encoding").fetchone()
    if encoding is None or encoding[0] != "UTF8":
        raise RuntimeError("Roost needs a PostgreSQL database with UTF8 encoding")
    conn.execute("SELECT pg_advisory_lock(%s)", [_MIGRATION_LOCK])
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS roost_schema (version integer NOT NULL)")
        row = conn.execute("SELECT max(version) FROM roost_schema").fetchone()
        version: int = 0 if row is None or row[0] is None else row[0]
        known = numbered_migrations(__package__)
        if known and version > known[-1][0]:
            raise RuntimeError(f"database schema {version} is newer than this Roost")
        for number, script in known:
            if number <= version:
                continue
            with conn.transaction():
                conn.execute(script.encode())
                conn.execute("DELETE FROM roost_schema")
                conn.execute("INSERT INTO roost_schema (version) VALUES (%s)", [number])
            version = number
        return version
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", [_MIGRATION_LOCK])


def _configure(conn: psycopg.Connection[Row]) -> None:
    # The engine issues BEGIN and COMMIT itself (run), with the isolation it needs.
    conn.autocommit = True
    # Results come in binary (bytea as it is, no hex); citext (addresses) reads as str.
    citext = TypeInfo.fetch(conn, "citext")
    if citext is not None:
        conn.adapters.register_loader(citext.oid, TextBinaryLoader)
        conn.adapters.register_loader(citext.oid, TextLoader)


class PostgresEngine:
    """The Engine of roost.store.engines.api over one PostgreSQL database."""

    __slots__ = ("_executor", "_pool", "text_index")

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Row]], size: int) -> None:
        self._pool = pool
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="roost-pg")
        self.text_index: TextIndex = TrigramTextIndex()

    @classmethod
    async def open(cls, url: str, *, size: int = POOL_SIZE) -> PostgresEngine:
        """Connects to the database at url (a libpq URL) and migrates it."""

        def start() -> ConnectionPool[psycopg.Connection[Row]]:
            with psycopg.connect(url, autocommit=True) as conn:
                migrate(conn)
            pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
                url, min_size=1, max_size=size, open=False, configure=_configure,
                name="roost",
            )  # fmt: skip
            pool.open(wait=True, timeout=30)
            return pool

        return cls(await asyncio.to_thread(start), size)

    async def run(
        self,
        work: Callable[[Tx], T],
        *,
        write: bool = False,
        durable: bool = True,
        seconds: float | None = None,
    ) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor, self._run, work, write, durable, seconds
            )
        except errors.QueryCanceled as exc:
            if seconds is None:
                raise
            raise took_too_long() from exc
        except _RETRIED:
            raise  # lost every attempt at a race (MAX_ATTEMPTS): not the database's health
        except (errors.InsufficientResources, psycopg.OperationalError, PoolTimeout) as exc:
            # Disk full, out of memory or connections, the server unreachable (issue 9):
            # nothing was changed; the client hears a temporary failure.
            log.error("the database cannot be used: %s", exc)
            raise storage_unavailable() from exc

    def _run(self, work: Callable[[Tx], T], write: bool, durable: bool, seconds: float | None) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._pool.connection() as conn:
                    return self._attempt(conn, work, write, durable, seconds)
            except _RETRIED:
                if attempt == MAX_ATTEMPTS:
                    raise
                # Jitter, so that two units that collided do not collide again.
                time.sleep(random.uniform(0, 0.002 * attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _attempt(
        conn: psycopg.Connection[Row],
        work: Callable[[Tx], T],
        write: bool,
        durable: bool,
        seconds: float | None = None,
    ) -> T:
        conn.execute(_BEGIN_WRITE if write else _BEGIN_READ)
        try:
            if write and not durable:
                conn.execute("SET LOCAL synchronous_commit = off")
            if seconds is not None:
                conn.execute(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000)):d}")
            result = work(PostgresTx(conn))
            # A read has nothing to keep; COMMIT is where deferred checks run.
            conn.execute("COMMIT" if write else "ROLLBACK")
            return result
        except BaseException:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        def stop() -> None:
            self._executor.shutdown(wait=True)
            self._pool.close()

        await asyncio.to_thread(stop)
