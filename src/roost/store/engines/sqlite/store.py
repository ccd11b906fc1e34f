"""The embedded store: the mail semantics over SqliteEngine, blobs in files beside it."""

from __future__ import annotations

from pathlib import Path

from roost.notify.api import Publisher
from roost.store.blobs.files import FileBlobStore
from roost.store.engines.sqlite.engine import SqliteEngine
from roost.store.mail.store import MailStore

__all__ = ["BLOBS", "DATABASE", "SqliteStore"]

DATABASE = "roost.db"
BLOBS = "blobs"


class SqliteStore(MailStore):
    """The embedded store: SQLite metadata in `<data_dir>/roost.db`, blobs beside it."""

    __slots__ = ()

    @classmethod
    async def open(cls, data_dir: Path, publisher: Publisher | None = None) -> SqliteStore:
        """Creates the directory, database and blob directory if missing; migrates. Hints
        of what it commits go to publisher (none: nobody in this process listens)."""
        blobs = FileBlobStore(data_dir / BLOBS)

        def prepare() -> None:
            data_dir.mkdir(parents=True, exist_ok=True)
            blobs.ensure_root()

        engine = await SqliteEngine.open(data_dir / DATABASE, before=prepare)
        return cls(engine, blobs, publisher)
