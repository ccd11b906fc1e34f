"""SQLite as a store engine, the embedded default: SqliteStore (store.py) over SqliteEngine
(engine.py), with an FTS5 TextIndex (fts.py), blobs in files (roost.store.blobs.files) and
its own migrations (migrations/)."""

from roost.store.engines.sqlite.store import BLOBS, DATABASE, SqliteStore

__all__ = ["BLOBS", "DATABASE", "SqliteStore"]
