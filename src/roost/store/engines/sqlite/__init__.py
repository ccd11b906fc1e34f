"""SQLite as a store engine, the embedded default: SqliteStore (store.py) over SqliteEngine
(engine.py), with an FTS5 TextIndex (fts.py), small messages inside the database and large
ones in files (blobs.py), wake-ups between the processes on one store (wakeups.py) and its
own migrations (migrations/)."""

from roost.store.engines.sqlite.store import BLOBS, DATABASE, SqliteStore

__all__ = ["BLOBS", "DATABASE", "SqliteStore"]
