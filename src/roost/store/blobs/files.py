"""Message blobs: the BlobStore protocol, and the file store `<root>/ab/cdef...`.

A blob is a message's bytes, named by their SHA-256. `BlobStore` is what the mail semantics
(roost.store.mail.store) need of a place to keep them; an engine picks one: files beside the
SQLite database (`FileBlobStore`, here), or a table of the database itself (the PostgreSQL
engine's, roost.store.engines.postgresql.blobs), so that one backup holds everything.

Theory of operation (files)
---------------------------
A blob is immutable and named by its content, so writing the same message twice is a no-op
and a blob can never be half-updated. A write goes to a temporary file in the blob's own
directory, is fsync'd, renamed into place and the directory is fsync'd: after `write`
returns, the blob survives a crash (DESIGN.md: the blob is durable before the transaction
that references it commits). Only complete files ever carry a blob name.

`collect` deletes the blobs nobody references any more. The caller must compute the
referenced set so that no blob can become referenced while it runs: the store writes blobs
first, then, in the transaction that references them, calls `restore_missing` (which writes
again any blob a collection removed in between), and runs `collect` in a write
transaction too. Write transactions run one at a time, also across processes (SQLite's
write lock, which BEGIN IMMEDIATE takes in every process), so the two cannot interleave,
whichever processes run them. The grace period (by the time a blob was first
written) is a margin on top: a blob written a moment ago is left alone.

Every method blocks (file I/O and fsync): call them from a worker thread, never from the
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Collection, Sequence
from pathlib import Path

from roost.errors import MailError, MailErrorKind, storage_unavailable
from roost.model import BlobId
from roost.store.blobs import REFERENCED, blob_id_of
from roost.store.engines.api import Tx

__all__ = ["FileBlobStore", "file_blobs", "fsync_dir"]

_BLOB_ID = re.compile(r"[0-9a-f]{64}")
_TMP_PREFIX = ".tmp-"
# Reading a blob changes nothing worth a metadata write: without this, the first read of
# each new blob updates its atime (relatime), a journal write that waits behind the fsyncs
# of concurrent deliveries.
_NOATIME = getattr(os, "O_NOATIME", 0)

log = logging.getLogger("roost.store")


def fsync_dir(path: Path) -> None:
    # POSIX: a rename or a new entry is durable only once its directory is fsync'd.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# What references a blob: a message in a mailbox, or mail in the outbound queue.


def file_blobs(conn: sqlite3.Connection) -> list[BlobId]:
    """The blobs a SQLite database references that are files, not rows of its small_blobs
    table (roost.store.engines.sqlite.blobs), sorted: what a file-level copy of the store
    (roost backup) must copy beside the database. Works on a database from before
    migration 17 too."""
    inline = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'small_blobs'"
    ).fetchone()
    sql = REFERENCED
    if inline is not None:
        sql = (
            f"SELECT blob_id FROM ({REFERENCED}) WHERE blob_id NOT IN (SELECT id FROM small_blobs)"
        )
    return sorted(BlobId(row[0]) for row in conn.execute(sql))


class FileBlobStore:
    """The BlobStore of files, one per blob, beside the database (the SQLite engine's)."""

    __slots__ = ("_root",)

    def __init__(self, root: Path) -> None:
        self._root = root

    def ensure_root(self) -> None:
        """Creates the blob directory (durably) if it is missing; one that others may
        enter (0755, made by a Roost before issue 9) is made the server user's only, which
        closes every message file below it."""
        if not self._root.is_dir():
            self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
            fsync_dir(self._root.parent)
        elif self._root.stat().st_mode & 0o077:
            self._root.chmod(0o700)

    def path(self, blob: BlobId) -> Path:
        # The id comes from the database, but it becomes a path: refuse anything that is
        # not a SHA-256 hex digest rather than trusting it.
        if not _BLOB_ID.fullmatch(blob):
            raise MailError(MailErrorKind.NONEXISTENT, "no such blob")
        return self._root / blob[:2] / blob[2:]

    def write(self, data: bytes, blob: BlobId | None = None) -> BlobId:
        """Stores data durably and returns its id (blob, if the caller has it already); a
        no-op if the blob exists."""
        blob = blob_id_of(data) if blob is None else blob
        final = self.path(blob)
        if final.exists():
            return blob
        shard = final.parent
        try:
            if not shard.is_dir():
                shard.mkdir(mode=0o700, exist_ok=True)  # files: 0600 (mkstemp)
                fsync_dir(self._root)
            self._write_new(shard, final, data)
        except OSError as exc:
            # The disk is full, the directory read-only: the message is not stored, and the
            # client hears a temporary failure (its transaction never commits).
            log.error("cannot write the message file %s: %s", final, exc)
            raise storage_unavailable() from exc
        return blob

    def write_all(self, datas: Sequence[bytes], blobs: Sequence[BlobId]) -> None:
        for data, blob in zip(datas, blobs, strict=True):
            self.write(data, blob)

    def restore_missing(self, blobs: Sequence[BlobId], datas: Sequence[bytes]) -> None:
        """Writes again each of datas whose blob (its id, from `write`) is gone."""
        for blob, data in zip(blobs, datas, strict=True):
            if not self.exists(blob):
                self.write(data, blob)

    @staticmethod
    def _write_new(shard: Path, final: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=shard, prefix=_TMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        fsync_dir(shard)

    def read(self, blob: BlobId, size: int = -1) -> bytes:
        """The blob's bytes, or only its first `size` of them."""
        try:
            fd = os.open(self.path(blob), os.O_RDONLY | _NOATIME)
        except PermissionError:  # O_NOATIME needs the file's owner
            fd = os.open(self.path(blob), os.O_RDONLY)
        except FileNotFoundError:
            raise MailError(MailErrorKind.NONEXISTENT, "no such blob") from None
        with os.fdopen(fd, "rb") as file:
            return file.read(size)

    def read_all(
        self, blobs: Sequence[BlobId], prefixes: Sequence[int] | None = None
    ) -> list[bytes]:
        """Each blob's bytes, or only its first prefixes[i] bytes. A whole blob is checked
        against its name (its SHA-256): a file damaged on disk is CORRUPTED, never served."""
        if prefixes is None:
            return [self.verified(blob) for blob in blobs]
        return [self.read(blob, size) for blob, size in zip(blobs, prefixes, strict=True)]

    def verified(self, blob: BlobId) -> bytes:
        data = self.read(blob)
        if blob_id_of(data) != blob:
            raise MailError(MailErrorKind.CORRUPTED, f"message file {blob} is damaged")
        return data

    def keep(self, tx: Tx, blobs: Sequence[BlobId], datas: Sequence[bytes]) -> None:
        # The engine's write lock keeps collect_unreferenced out until this commits.
        self.restore_missing(blobs, datas)

    async def load(
        self, blobs: Sequence[BlobId], prefixes: Sequence[int] | None = None
    ) -> list[bytes]:
        # Blobs are immutable, so reads need neither the engine nor a transaction; one
        # trip to a thread for the lot (a FETCH of many bodies or headers).
        return await asyncio.to_thread(self.read_all, blobs, prefixes)

    def collect_unreferenced(self, tx: Tx, grace_seconds: float) -> int:
        referenced = {row[0] for row in tx.all(REFERENCED)}
        return self.collect(referenced, grace_seconds=grace_seconds)

    def exists(self, blob: BlobId) -> bool:
        return self.path(blob).exists()

    def collect(self, referenced: Collection[str], *, grace_seconds: float = 3600.0) -> int:
        """Deletes blobs not in `referenced` (and stale temporary files) last modified
        more than grace_seconds ago. Never deletes a referenced blob. Returns the count."""
        if not self._root.is_dir():
            return 0
        cutoff = time.time() - grace_seconds
        deleted = 0
        for shard in self._root.iterdir():
            if not (shard.is_dir() and len(shard.name) == 2):
                continue
            for entry in shard.iterdir():
                if self._collectable(shard.name + entry.name, entry, referenced, cutoff):
                    with contextlib.suppress(FileNotFoundError):
                        entry.unlink()
                        deleted += 1
        return deleted

    @staticmethod
    def _collectable(name: str, entry: Path, referenced: Collection[str], cutoff: float) -> bool:
        is_tmp = entry.name.startswith(_TMP_PREFIX)
        if not is_tmp and (not _BLOB_ID.fullmatch(name) or name in referenced):
            return False
        try:
            return entry.stat().st_mtime < cutoff
        except FileNotFoundError:
            return False
