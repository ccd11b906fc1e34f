"""Setting a SQLite store back to an earlier schema, for the tests that upgrade one in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from roost.model import BlobId
from roost.store.blobs.files import FileBlobStore
from roost.store.engines.sqlite.store import BLOBS


def undo_small_blobs(conn: sqlite3.Connection, data_dir: Path) -> None:
    """Migration 17 taken away: each message inside the database becomes the file it was
    before (so no mail is lost), and the table goes."""
    files = FileBlobStore(data_dir / BLOBS)
    for blob, data in conn.execute("SELECT id, data FROM small_blobs"):
        files.write(bytes(data), BlobId(blob))
    conn.execute("DROP TABLE small_blobs")


def undo_search_pending(conn: sqlite3.Connection) -> None:
    """Migration 19 taken away: the documents still queued are indexed, as every document
    was at delivery before it, and the queue goes."""
    conn.execute(
        "INSERT INTO search_text (rowid, headers, body) SELECT p.doc_id, t.headers_text, "
        "t.body_text FROM search_pending p JOIN search_docs d ON d.id = p.doc_id "
        "JOIN blob_texts t ON t.blob_id = d.blob_id"
    )
    conn.execute("DROP TABLE search_pending")


def damage(data_dir: Path, blob: str, old: bytes, new: bytes) -> None:
    """Changes a stored message's bytes behind the store's back, wherever it is kept (the
    database's small_blobs, or its file), as a bad disk would."""
    with sqlite3.connect(data_dir / "roost.db") as conn:
        row = conn.execute("SELECT data FROM small_blobs WHERE id = ?", (blob,)).fetchone()
        if row is not None:
            changed = bytes(row[0]).replace(old, new)
            assert changed != bytes(row[0]), "nothing to damage"
            conn.execute("UPDATE small_blobs SET data = ? WHERE id = ?", (changed, blob))
            conn.commit()
            return
    conn.close()
    path = data_dir / BLOBS / blob[:2] / blob[2:]
    changed = path.read_bytes().replace(old, new)
    assert changed != path.read_bytes(), "nothing to damage"
    path.write_bytes(changed)
