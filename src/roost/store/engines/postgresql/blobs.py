"""Message bodies inside PostgreSQL: the blobs table (bytea), a BlobStore.

With the bodies in the database, one pg_dump, one base backup or one streaming replica
holds everything, and every node of a cluster reads the same bytes.

A blob is inserted by the transaction that first references it (`keep`), so it is durable
with that commit and never before it is needed; `write_all` has nothing to do. Rows of
messages and outbound reference blobs by a foreign key checked at COMMIT, so the database
itself makes "referenced but missing" impossible: a collection that deletes a blob a
concurrent transaction has come to reference fails at its COMMIT (or that transaction
does), and the engine runs the loser again (roost.store.engines.postgresql.engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import cast

from roost.errors import MailError, MailErrorKind
from roost.model import BlobId
from roost.store.blobs import blob_id_of, unreferenced
from roost.store.engines.api import Engine, Tx

__all__ = ["DatabaseBlobStore"]

_INSERT = "INSERT INTO blobs (id, data) VALUES (?, ?) ON CONFLICT (id) DO NOTHING"
_COLLECT = (
    "DELETE FROM blobs b WHERE b.created < now() - make_interval(secs => ?) "
    f"AND {unreferenced('b.id')}"
)
# Whole bodies, or their first bytes (a negative length: the whole body), by position.
_READ = (
    "SELECT w.n, CASE WHEN w.size < 0 THEN b.data "
    "ELSE substring(b.data FROM 1 FOR w.size::integer) END "
    "FROM unnest(?::text[], ?::bigint[]) WITH ORDINALITY AS w (id, size, n) "
    "JOIN blobs b ON b.id = w.id"
)


class DatabaseBlobStore:
    __slots__ = ("_engine",)

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write_all(self, datas: Sequence[bytes], blobs: Sequence[BlobId]) -> None:
        pass  # written by keep, inside the transaction

    def keep(self, tx: Tx, blobs: Sequence[BlobId], datas: Sequence[bytes]) -> None:
        unique = dict(zip(blobs, datas, strict=True))
        tx.executemany(_INSERT, list(unique.items()))

    async def load(
        self, blobs: Sequence[BlobId], prefixes: Sequence[int] | None = None
    ) -> list[bytes]:
        sizes = [-1] * len(blobs) if prefixes is None else list(prefixes)
        return await self._engine.run(partial(_read, blobs=list(blobs), sizes=sizes))

    def collect_unreferenced(self, tx: Tx, grace_seconds: float) -> int:
        return tx.execute(_COLLECT, (grace_seconds,))


def _read(tx: Tx, blobs: list[BlobId], sizes: list[int]) -> list[bytes]:
    found: list[bytes | None] = [None] * len(blobs)
    for position, data in tx.all(_READ, (blobs, sizes)):
        found[position - 1] = bytes(data)
    if any(data is None for data in found):
        raise MailError(MailErrorKind.NONEXISTENT, "no such blob")
    for blob, size, data in zip(blobs, sizes, found, strict=True):
        if size < 0 and blob_id_of(cast(bytes, data)) != blob:
            raise MailError(MailErrorKind.CORRUPTED, f"message {blob} is damaged")
    return cast(list[bytes], found)
