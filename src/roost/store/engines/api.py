"""The engine adapter boundary: what mail semantics need of a database.

roost.store.mail.store writes the mail semantics once as units of work over a `Tx`; an
`Engine` runs each unit in one transaction. sqlite.py is the embedded adapter;
engines/postgresql/ implements the same protocols over PostgreSQL.

The SQL is the dialect SQLite and PostgreSQL share (RETURNING, ON CONFLICT, LIKE ... ESCAPE)
with "?" placeholders, which an engine translates if its driver needs another style; no
unit calls a function of Python's from SQL. Full-text search is where the dialects part:
each engine brings its own `TextIndex` (SQLite FTS5 in fts.py; PostgreSQL pg_trgm), and
roost.store.mail.query_sql asks it only for candidates, which the exact predicates (plain SQL over
the texts folded at delivery, roost.store.mail.texts) then confirm.

Isolation an engine must give
-----------------------------
* Each unit is atomic: it commits whole when it returns, or changes nothing when it
  raises; a write has committed (durably, unless durable=False) before its caller hears.
* A read sees one consistent snapshot across all its statements (fetch_fields reads a
  mailbox twice and zips the rows), taken after every write whose run returned.
* Writes behave as if run one after another. An engine may get there by running them one
  at a time (SQLite: one writer, in the order handed in), or side by side at snapshot
  isolation where a unit that updates a row a concurrent unit updated is run again from
  the start (PostgreSQL at REPEATABLE READ). The units make the second way serial where it
  matters: every unit that changes a mailbox's messages first updates the mailbox row
  (UID/MODSEQ allocation, roost.store.mail.changes.advance), every unit that changes an
  account's mailboxes updates the account row (its MODSEQ), and every unit that adds mail
  updates the account row (the quota check, roost.store.mail.quota.charge), so conflicting
  units meet on a row and units of different accounts share none. An engine must not add
  a lock of its own across accounts (two writers in different accounts never wait for
  each other on PostgreSQL), and may run a unit more than once: a unit's effects outside
  the database must be idempotent (a blob written twice is one blob).
* Counters and quota usage are kept by triggers each engine defines in its migrations
  (message_count... on the mailbox row, storage_used/messages_used on the account row),
  in the transaction that inserts or deletes the message rows; the contract suite checks
  them on every engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from enum import Enum
from importlib import resources
from typing import Any, Protocol, TypeVar

__all__ = ["Engine", "Row", "TextColumn", "TextIndex", "Tx", "numbered_migrations"]

T = TypeVar("T")
Row = tuple[Any, ...]


class Tx(Protocol):
    """One open transaction of an engine."""

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...
    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None: ...
    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Runs a statement; returns the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...


class TextColumn(Enum):
    """Which of a message's search texts (roost.model.ParsedMessage) a needle is sought in."""

    HEADERS = "headers"
    BODY = "body"


class TextIndex(Protocol):
    """An engine's full-text index of the search texts, one document per blob.

    The index only narrows: `candidates` may return blobs that do not match (the caller
    confirms each with the exact predicate), never leave out one that does.
    """

    def add(self, tx: Tx, blob: str) -> None:
        """Makes a blob's texts (its blob_texts row, written by the same transaction, which
        inserts the blob's message) searchable: from the commit on, `candidates` includes
        the blob whenever its texts may hold the needle. The engine may index later, off
        the commit path, if its candidates include the blobs not indexed yet."""
        ...

    def prune(self, tx: Tx) -> int:
        """Drops the documents of blobs no message references; returns how many."""
        ...

    def candidates(self, needle: str, column: TextColumn | None) -> tuple[str, list[object]] | None:
        """A SELECT of one column, the blob ids whose text (in column, or in any column
        if None) may contain needle case-insensitively, and its parameters; None if the
        index cannot narrow for this needle (then the caller scans)."""
        ...

    def driven_by(self, candidates: str) -> str:
        """A FROM clause: the messages whose blob is among candidates (a SELECT returned
        by `candidates`), found through the index rather than by scanning messages."""
        ...


class Engine(Protocol):
    text_index: TextIndex

    async def run(
        self,
        work: Callable[[Tx], T],
        *,
        write: bool = False,
        durable: bool = True,
        seconds: float | None = None,
    ) -> T:
        """Runs work(tx) in a transaction that commits if work returns and rolls back if it
        raises (see "Isolation an engine must give" above); returns only once it committed.
        write=True: the unit may write. An engine may commit several writes in one
        transaction (group commit), each still all or nothing, or run writes side by side,
        running a unit again when it lost a conflict. A read sees every write whose run
        returned before it was handed in; reads may run side by side, with each other and
        with writes.
        durable=False: a write that may be lost to a power cut (not to a crash of the
        process) until the next durable commit, which then keeps it too.
        seconds: a read that has not finished after this long is stopped, and raises
        MailError(LIMIT) (a search, so that none runs for ever)."""
        ...

    async def close(self) -> None: ...


_MIGRATION = re.compile(r"(\d{4})_\w+\.sql")


def numbered_migrations(package: str) -> list[tuple[int, str]]:
    """An engine's migrations: the files NNNN_name.sql of its package's migrations/
    folder, as (number, SQL) in order. Each engine applies them its own way."""
    folder = resources.files(package).joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION.fullmatch(entry.name)
        if match:
            found.append((int(match[1]), entry.read_text(encoding="utf-8")))
    return sorted(found)
