"""Online backups of the embedded store: SQLite's backup API plus the blob files.

A backup directory holds snapshots that share one blob directory:

    DEST/blobs/ab/cdef...                     message files, named by their SHA-256
    DEST/snapshots/20261206T020000Z/roost.db  the database as of that moment
    DEST/snapshots/20261206T020000Z/manifest.json

Theory of operation
-------------------
The database is copied with SQLite's online backup API in a single step: one read
transaction, so the copy is the database as of one instant, while the server goes on
writing (WAL: a reader never blocks the writer). Every message acknowledged before the
backup began is committed, so it is in that copy, and its blob was durable before its
commit, so it is on disk. The blobs are named by their content and never change, so a
blob already in DEST/blobs is never copied again: a second backup copies only new mail.

What could go wrong is the store's collection of unreferenced blobs: a message expunged
after the snapshot leaves its blob unreferenced, and upkeep may delete it (if it is older
than the grace period) before the backup has copied it. So the blobs are copied in two
passes: first those the live database references (the long pass, before the snapshot),
then the snapshot's own that are not in DEST yet (only mail that arrived during the first
pass, written moments ago and so inside the grace period). A blob still missing then is
reported, and the backup fails rather than claim what it lacks.

Each blob is checked against its name as it is copied (a damaged file is reported, never
backed up as good), and written as the store writes them: temporary file, fsync, rename,
fsync of the directory. The snapshot directory is written as `.tmp-NAME` and renamed once
its manifest (the database's SHA-256, the counts) is on disk: a snapshot either is
complete or is not there. `verify` reads everything again against those hashes.

This module reads the database file with sqlite3 directly, and the blob files by the
layout of roost.store.blobs.files; the CLI hands it the paths (only the wiring knows the
concrete engine). Restoring a snapshot's accounts or mailboxes opens it as a store again
(roost.transfer.restore), so the rest is Store to Store.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import roost
from roost.errors import MailError
from roost.model import BlobId
from roost.store.blobs import blob_id_of
from roost.store.blobs.files import FileBlobStore, file_blobs, fsync_dir
from roost.transfer.progress import Progress

__all__ = [
    "BLOBS",
    "BackupResult",
    "Snapshot",
    "VerifyResult",
    "find_snapshot",
    "prune",
    "restore_server",
    "snapshots",
    "take_backup",
    "verify_backup",
]

BLOBS = "blobs"
SNAPSHOTS = "snapshots"
DATABASE = "roost.db"
MANIFEST = "manifest.json"
FORMAT = 1
TMP = ".tmp-"
COPIERS = 4  # threads copying blobs: their fsyncs overlap
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    path: Path

    @property
    def database(self) -> Path:
        return self.path / DATABASE

    def manifest(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads((self.path / MANIFEST).read_text())
        return loaded


@dataclass(slots=True)
class BackupResult:
    snapshot: Snapshot
    blobs: int = 0  # referenced by the snapshot
    copied: int = 0  # of which this run copied (the others were there from before)
    octets: int = 0  # copied
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class VerifyResult:
    snapshots: int = 0
    blobs: int = 0
    problems: list[str] = field(default_factory=list)


def take_backup(
    database: Path, blob_root: Path, dest: Path, progress: Progress, now: datetime | None = None
) -> BackupResult:
    """Takes a snapshot of the database at `database` and its blobs under blob_root into
    the backup directory dest (created if missing). Blocks; safe while the server runs."""
    (dest / SNAPSHOTS).mkdir(parents=True, exist_ok=True)
    _remove_unfinished(dest / SNAPSHOTS)
    source = FileBlobStore(blob_root)
    target = FileBlobStore(dest / BLOBS)
    target.ensure_root()
    # Pass 1: what the live database references now.
    copied = _copy_blobs(_referenced(_open_readonly(database)), source, target, progress)
    name = _snapshot_name(dest, now)
    tmp = dest / SNAPSHOTS / (TMP + name)
    tmp.mkdir()
    _snapshot_database(database, tmp / DATABASE)
    # Pass 2: the snapshot's own; only mail that arrived during pass 1 is left to copy.
    referenced = _referenced(sqlite3.connect(tmp / DATABASE))
    second = _copy_blobs(referenced, source, target, progress)
    result = BackupResult(Snapshot(name, dest / SNAPSHOTS / name), blobs=len(referenced))
    result.copied = copied.copied + second.copied
    result.octets = copied.octets + second.octets
    result.problems = second.problems  # pass 1's misses are the snapshot's business only
    if result.problems:
        return result  # the unfinished snapshot stays .tmp- (and goes next time)
    _write_manifest(tmp, referenced, source=database)
    tmp.rename(result.snapshot.path)
    fsync_dir(dest / SNAPSHOTS)
    return result


def _snapshot_name(dest: Path, now: datetime | None) -> str:
    base = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    name, n = base, 1
    while (dest / SNAPSHOTS / name).exists():
        n += 1
        name = f"{base}-{n:03d}"
    return name


def _remove_unfinished(directory: Path) -> None:
    for entry in directory.iterdir():
        if entry.name.startswith(TMP):
            shutil.rmtree(entry, ignore_errors=True)


def _open_readonly(database: Path) -> sqlite3.Connection:
    if not database.is_file():
        raise ValueError(f"no Roost database at {database}")
    return sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)


def _referenced(conn: sqlite3.Connection) -> list[BlobId]:
    """Every blob the database references (messages and queued mail) that is a file (small
    messages are inside the database, so in the snapshot), in one read."""
    try:
        return file_blobs(conn)
    finally:
        conn.close()


def _snapshot_database(database: Path, copy: Path) -> None:
    source = _open_readonly(database)
    target = sqlite3.connect(copy)
    try:
        # pages=-1 (the default): the whole database in one step, inside one read
        # transaction of the source: the copy is one consistent instant.
        source.backup(target)
        # One self-contained file, no -wal beside it.
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()
        source.close()
    _fsync(copy)


@dataclass(slots=True)
class _Copied:
    copied: int = 0
    octets: int = 0
    problems: list[str] = field(default_factory=list)


def _copy_blobs(
    blobs: Iterable[BlobId],
    source: FileBlobStore,
    target: FileBlobStore,
    progress: Progress,
    where: str = "the store",
) -> _Copied:
    """Copies each blob that target lacks, checking it against its name on the way."""
    wanted = [blob for blob in blobs if not target.exists(blob)]
    done = _Copied()

    def copy(blob: BlobId) -> tuple[int, str | None]:
        try:
            data = source.read(blob)
        except MailError:
            return 0, f"message file {blob} is missing from {where}"
        if blob_id_of(data) != blob:
            return 0, f"message file {blob} is damaged in {where} (its hash differs)"
        target.write(data, blob)
        return len(data), None

    with ThreadPoolExecutor(COPIERS) as pool:
        for octets, problem in pool.map(copy, wanted):
            if problem is None:
                done.copied += 1
                done.octets += octets
            else:
                done.problems.append(problem)
            progress.advance(octets=octets)
    return done


def _write_manifest(snapshot: Path, referenced: Collection[BlobId], *, source: Path) -> None:
    conn = sqlite3.connect(snapshot / DATABASE)
    try:
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    manifest = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(),
        "roost": roost.__version__,
        "source": str(source),
        "schema": schema,
        "database_sha256": _file_sha256(snapshot / DATABASE),
        "blobs": len(referenced),
    }
    path = snapshot / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync(path)
    fsync_dir(snapshot)


def prune(dest: Path, keep: int) -> tuple[list[str], int]:
    """Removes all but the newest `keep` snapshots, then the message files no remaining
    snapshot references; returns the names removed and how many files went."""
    found = snapshots(dest)
    gone = found[: max(len(found) - keep, 0)]
    for snapshot in gone:
        # Renamed first, so that an interrupted removal leaves a .tmp- (cleared next time)
        # rather than a snapshot without its database.
        doomed = snapshot.path.with_name(TMP + snapshot.name)
        snapshot.path.rename(doomed)
        shutil.rmtree(doomed)
    if not gone:
        return [], 0
    wanted: set[str] = set()
    for snapshot in found[len(gone) :]:
        wanted.update(_referenced(sqlite3.connect(f"file:{snapshot.database}?mode=ro", uri=True)))
    # No grace period: nothing but `roost backup` writes here, and it is this process.
    removed = FileBlobStore(dest / BLOBS).collect(wanted, grace_seconds=0)
    return [s.name for s in gone], removed


# ----- reading a backup ----------------------------------------------------------------


def snapshots(dest: Path) -> list[Snapshot]:
    """The complete snapshots of the backup at dest, oldest first."""
    directory = dest / SNAPSHOTS
    if not directory.is_dir():
        raise ValueError(f"{dest} is no Roost backup (it has no {SNAPSHOTS}/)")
    found = [
        Snapshot(entry.name, entry)
        for entry in directory.iterdir()
        if not entry.name.startswith(TMP) and (entry / MANIFEST).is_file()
    ]
    return sorted(found, key=lambda s: s.name)


def find_snapshot(dest: Path, name: str | None = None) -> Snapshot:
    """The snapshot called name, or the latest one."""
    found = snapshots(dest)
    if not found:
        raise ValueError(f"{dest} holds no complete snapshot")
    if name is None:
        return found[-1]
    for snapshot in found:
        if snapshot.name == name:
            return snapshot
    raise ValueError(
        f"no snapshot {name} in {dest} (there are: {', '.join(s.name for s in found)})"
    )


def verify_backup(dest: Path, progress: Progress) -> VerifyResult:
    """Checks every snapshot of the backup at dest against its manifest (the database's
    hash, SQLite's integrity check) and every blob they reference against its name."""
    result = VerifyResult()
    wanted: set[BlobId] = set()
    for snapshot in snapshots(dest):
        result.snapshots += 1
        result.problems += [f"{snapshot.name}: {p}" for p in _check_database(snapshot)]
        wanted.update(_referenced(sqlite3.connect(f"file:{snapshot.database}?mode=ro", uri=True)))
    blobs = FileBlobStore(dest / BLOBS)
    for blob in sorted(wanted):
        result.blobs += 1
        try:
            data = blobs.read(blob)
        except MailError:
            result.problems.append(f"message file {blob} is missing")
            continue
        if blob_id_of(data) != blob:
            result.problems.append(f"message file {blob} is damaged (its hash differs)")
        progress.advance(octets=len(data))
    return result


def _check_database(snapshot: Snapshot) -> list[str]:
    manifest = snapshot.manifest()
    if _file_sha256(snapshot.database) != manifest.get("database_sha256"):
        return ["the database differs from the hash in its manifest"]
    conn = sqlite3.connect(f"file:{snapshot.database}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return [] if rows == [("ok",)] else [f"database: {row[0]}" for row in rows]


# ----- restoring a whole server ---------------------------------------------------------


def restore_server(
    snapshot: Snapshot, backup_blobs: Path, database: Path, blob_root: Path, progress: Progress
) -> list[str]:
    """Makes database and blob_root (a data directory without a store) the snapshot's;
    returns the problems (a blob missing or damaged in the backup is left out, and named)."""
    if database.exists():
        raise ValueError(f"{database} exists: restore a whole server only into an empty data dir")
    problems = _check_database(snapshot)
    if problems:
        raise ValueError(f"snapshot {snapshot.name}: {'; '.join(problems)}")
    database.parent.mkdir(parents=True, exist_ok=True)
    target = FileBlobStore(blob_root)
    target.ensure_root()
    referenced = _referenced(sqlite3.connect(f"file:{snapshot.database}?mode=ro", uri=True))
    copied = _copy_blobs(referenced, FileBlobStore(backup_blobs), target, progress, "the backup")
    # The database last: a restore that stopped half-way leaves no store that looks whole.
    tmp = database.with_name(TMP + database.name)
    shutil.copyfile(snapshot.database, tmp)
    _fsync(tmp)
    tmp.rename(database)
    fsync_dir(database.parent)
    return copied.problems


# ----- files -------------------------------------------------------------------------------


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
