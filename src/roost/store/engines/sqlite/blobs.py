"""The SQLite engine's BlobStore: small messages inside the database, large ones in files.

Theory of operation
-------------------
A message stored as a file costs two fsyncs of its own (the file, then its directory)
before the transaction that references it may commit, and that COMMIT costs the WAL's
fsync: three in a row for one APPEND. Most mail is small, so a message of at most
INLINE_LIMIT octets is written into the `small_blobs` table (migration 17) by the
transaction that first references it (`keep`), and the commit's one WAL fsync makes it
durable with its rows: DESIGN.md's "the blob is durable no later than the commit that
references it" holds by construction. Larger messages stay files (roost.store.blobs.files),
written and fsync'd beside the transaction, as before; there the WAL would write every
octet twice (the log, then the checkpoint) for nothing.

Reads look in the table first and in the files for what is not there (mail stored before
migration 17, and large mail): one SELECT for a whole batch. A whole read is checked
against the blob's name (its SHA-256) wherever it came from: CORRUPTED, never served.
Collection deletes rows and files that nothing references, in a write transaction; SQLite's
one writer (across processes) keeps it from interleaving with a transaction that comes to
reference a blob, and `keep` stores again whatever a collection removed before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from functools import partial

from roost.errors import MailError, MailErrorKind
from roost.model import BlobId
from roost.store.blobs import blob_id_of, unreferenced
from roost.store.blobs.files import FileBlobStore
from roost.store.engines.api import Engine, Tx

__all__ = ["INLINE_LIMIT", "SqliteBlobStore"]

# Messages up to this size live in the database (octets). Chosen by measurement: see
# BENCHMARKS.md, "One fsync per message".
INLINE_LIMIT = 128 * 1024

_INSERT = "INSERT INTO small_blobs (id, data, created) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING"
_COLLECT = f"DELETE FROM small_blobs WHERE created < ? AND {unreferenced('small_blobs.id')}"
_BATCH = 500  # ids per SELECT
_WHOLE = 2**31 - 1  # substr's length for "all of it" (larger overflows to nothing)


class SqliteBlobStore:
    """A BlobStore of the SQLite engine (roost.store.blobs.BlobStore)."""

    __slots__ = ("_engine", "files")

    def __init__(self, engine: Engine, files: FileBlobStore) -> None:
        self._engine = engine
        self.files = files

    def write_all(self, datas: Sequence[bytes], blobs: Sequence[BlobId]) -> None:
        large = [(d, b) for d, b in zip(datas, blobs, strict=True) if len(d) > INLINE_LIMIT]
        if large:
            self.files.write_all([d for d, _ in large], [b for _, b in large])

    def keep(self, tx: Tx, blobs: Sequence[BlobId], datas: Sequence[bytes]) -> None:
        small: dict[BlobId, bytes] = {}
        large_blobs: list[BlobId] = []
        large_datas: list[bytes] = []
        for blob, data in zip(blobs, datas, strict=True):
            if len(data) <= INLINE_LIMIT:
                small[blob] = data
            else:
                large_blobs.append(blob)
                large_datas.append(data)
        if small:
            now = _micros()
            tx.executemany(_INSERT, [(blob, data, now) for blob, data in small.items()])
        if large_blobs:
            self.files.keep(tx, large_blobs, large_datas)

    async def load(
        self, blobs: Sequence[BlobId], prefixes: Sequence[int] | None = None
    ) -> list[bytes]:
        sizes = [-1] * len(blobs) if prefixes is None else list(prefixes)
        found = await self._engine.run(partial(_read_inline, blobs=list(blobs), sizes=sizes))
        for i, data in enumerate(found):  # a whole blob is checked against its name
            if data is not None and sizes[i] < 0 and blob_id_of(data) != blobs[i]:
                raise MailError(MailErrorKind.CORRUPTED, f"message {blobs[i]} is damaged")
        missing = [i for i, data in enumerate(found) if data is None]
        if missing:  # mail from before migration 17, and large mail: files (checked there)
            from_files = await asyncio.to_thread(
                self.files.read_all,
                [blobs[i] for i in missing],
                None if prefixes is None else [prefixes[i] for i in missing],
            )
            for i, data in zip(missing, from_files, strict=True):
                found[i] = data
        return [data for data in found if data is not None]

    def collect_unreferenced(self, tx: Tx, grace_seconds: float) -> int:
        cutoff = _micros() - int(grace_seconds * 1_000_000)
        rows = tx.execute(_COLLECT, (cutoff,))
        return rows + self.files.collect_unreferenced(tx, grace_seconds)


def _micros() -> int:
    return time.time_ns() // 1000


def _read_inline(tx: Tx, blobs: list[BlobId], sizes: list[int]) -> list[bytes | None]:
    """Each blob's bytes (or its first sizes[i] bytes: negative for all) from small_blobs;
    None where it is not there."""
    wanted: dict[BlobId, list[int]] = {}
    for i, blob in enumerate(blobs):
        wanted.setdefault(blob, []).append(i)
    found: list[bytes | None] = [None] * len(blobs)
    ids = list(wanted)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        marks = ", ".join("?" * len(chunk))
        # Only as many octets as the longest prefix asked (a FETCH of headers reads those).
        longest = max(sizes[i] if sizes[i] >= 0 else _WHOLE for b in chunk for i in wanted[b])
        rows = tx.all(
            f"SELECT id, substr(data, 1, ?) FROM small_blobs WHERE id IN ({marks})",
            [longest, *chunk],
        )
        for blob, data in rows:
            for i in wanted[blob]:
                found[i] = bytes(data) if sizes[i] < 0 else bytes(data[: sizes[i]])
    return found
