"""The engine adapter boundary: what mail semantics need of a database.

roost.store.mailstore writes the mail semantics once as units of work over a `Tx`; an
`Engine` runs each unit in one transaction. sqlite.py is the embedded adapter; a
PostgreSQL adapter implements the same two protocols and registers the same SQL
functions (roost.store.query.SQL_FUNCTIONS).

The SQL is the dialect SQLite and PostgreSQL share (RETURNING, ON CONFLICT) with "?"
placeholders, which an engine translates if its driver needs another style. Full-text
search is where the dialects part: each engine brings its own `TextIndex` (SQLite FTS5 in
fts.py; PostgreSQL would bring a trigram index), and roost.store.query asks it only for
candidates, which the exact SQL functions then confirm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, Protocol, TypeVar

__all__ = ["Engine", "Row", "TextColumn", "TextIndex", "Tx"]

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

    def add(self, tx: Tx, blob: str, headers_text: str, body_text: str) -> None:
        """Indexes a blob's texts (in the transaction that inserts its message); a blob
        indexed before keeps its document, widened if these texts are not in it."""
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

    async def run(self, work: Callable[[Tx], T], *, write: bool = False, durable: bool = True) -> T:
        """Runs work(tx) in a transaction that commits if work returns and rolls back if it
        raises; write=True takes the write lock up front. Writes run one at a time, in the
        order they were handed in; an engine may commit several in one transaction (group
        commit), each still all or nothing, and returns only once it committed. A read
        sees every write whose run returned before it was handed in; reads may run side
        by side, with each other and with a write.
        durable=False: a write that may be lost to a power cut (not to a crash of the
        process) until the next durable commit, which then keeps it too."""
        ...

    async def close(self) -> None: ...
