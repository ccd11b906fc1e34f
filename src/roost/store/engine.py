"""The engine adapter boundary: what mail semantics need of a database.

roost.store.mailstore writes the mail semantics once as units of work over a `Tx`; an
`Engine` runs each unit in one transaction. sqlite.py is the embedded adapter; a
PostgreSQL adapter implements the same two protocols and registers the same SQL
functions (roost.store.query.SQL_FUNCTIONS).

The SQL is the dialect SQLite and PostgreSQL share (RETURNING, ON CONFLICT) with "?"
placeholders, which an engine translates if its driver needs another style.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

__all__ = ["Engine", "Row", "Tx"]

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


class Engine(Protocol):
    async def run(
        self,
        work: Callable[[Tx], T],
        *,
        write: bool = False,
        before: Callable[[], object] | None = None,
    ) -> T:
        """Runs before() (outside any transaction), then work(tx) in one transaction that
        commits if work returns and rolls back if it raises. write=True takes the write
        lock up front. Both run on the same thread, after every earlier call."""
        ...

    async def close(self) -> None: ...
