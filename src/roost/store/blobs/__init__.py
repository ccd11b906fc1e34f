"""Message blobs: the BlobStore protocol, and how a blob is named.

A blob is a message's bytes, named by their SHA-256. `BlobStore` is what the mail semantics
(roost.store.mail.store) need of a place to keep them; an engine picks one: the SQLite
engine keeps small messages in a table and large ones as files beside the database
(roost.store.engines.sqlite.blobs over roost.store.blobs.files.FileBlobStore), the
PostgreSQL engine all of them in a table (roost.store.engines.postgresql.blobs), so that
one backup holds everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from roost.model import BlobId
from roost.store.engines.api import Tx

__all__ = ["REFERENCED", "BlobStore", "blob_id_of", "unreferenced"]

# Every blob the store still needs: a message's, or a message's waiting in the outbound
# queue. What collection keeps, what `roost check` and `roost backup` look for.
REFERENCED = "SELECT blob_id FROM messages UNION SELECT blob_id FROM outbound"


def unreferenced(blob: str) -> str:
    """An SQL condition: the blob id `blob` (an SQL expression) is not in REFERENCED,
    written as two NOT EXISTS so that each probes its table's blob index."""
    return (
        f"NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = {blob}) "
        f"AND NOT EXISTS (SELECT 1 FROM outbound o WHERE o.blob_id = {blob})"
    )


def blob_id_of(data: bytes) -> BlobId:
    return BlobId(hashlib.sha256(data).hexdigest())


class BlobStore(Protocol):
    """Where message bytes are kept. A blob is durable no later than the commit of the
    transaction that first references it, and is never collected while referenced."""

    def write_all(self, datas: Sequence[bytes], blobs: Sequence[BlobId]) -> None:
        """Runs on a worker thread before (and beside) the transaction that will reference
        the blobs: the slow part of storing them (a file store writes and fsyncs here; a
        store inside the database has nothing to do). Blocks."""
        ...

    def keep(self, tx: Tx, blobs: Sequence[BlobId], datas: Sequence[bytes]) -> None:
        """In the transaction that references blobs, after write_all returned: makes sure
        each is stored when that transaction commits (again, if a collection removed it)."""
        ...

    async def load(
        self, blobs: Sequence[BlobId], prefixes: Sequence[int] | None = None
    ) -> list[bytes]:
        """Each blob's bytes, or only its first prefixes[i] bytes; NONEXISTENT if one is
        missing, CORRUPTED if a whole blob read does not match its name (its SHA-256)."""
        ...

    def collect_unreferenced(self, tx: Tx, grace_seconds: float) -> int:
        """In a write transaction: deletes the blobs that no message and no queued mail
        references and that were stored more than grace_seconds ago; returns how many. Safe
        beside writers in other processes: a blob a concurrent transaction comes to
        reference is kept (or stored again by its `keep`)."""
        ...
