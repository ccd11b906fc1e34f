"""The embedded store: the mail semantics over SqliteEngine; small messages inside the
database and large ones in files beside it (roost.store.engines.sqlite.blobs).

Other processes on the store (server workers, the roost CLI) learn of this one's writes
from the account log, which `follow` reads as soon as one of them wakes it after a commit
(roost.store.engines.sqlite.wakeups), and every FOLLOW_POLL seconds in any case.
"""

from __future__ import annotations

from pathlib import Path

from roost.notify.api import Publisher
from roost.store.blobs.files import FileBlobStore
from roost.store.engines.sqlite.blobs import SqliteBlobStore
from roost.store.engines.sqlite.engine import SqliteEngine
from roost.store.engines.sqlite.wakeups import Wakeups
from roost.store.mail import changes
from roost.store.mail.store import MailStore

__all__ = ["BLOBS", "DATABASE", "SqliteStore"]

DATABASE = "roost.db"
BLOBS = "blobs"
# Without a wake-up (a writer that cannot reach this process's socket), `follow` still
# reads the log this often (seconds).
FOLLOW_POLL = 1.0


class SqliteStore(MailStore):
    """The embedded store: SQLite metadata in `<data_dir>/roost.db`, blobs beside it."""

    __slots__ = ("_wakeups",)

    def __init__(
        self,
        engine: SqliteEngine,
        blobs: SqliteBlobStore,
        publisher: Publisher | None,
        wakeups: Wakeups,
    ) -> None:
        super().__init__(engine, blobs, publisher)
        self._wakeups = wakeups

    @classmethod
    async def open(cls, data_dir: Path, publisher: Publisher | None = None) -> SqliteStore:
        """Creates the directory, database and blob directory if missing; migrates. Hints
        of what it commits go to publisher (none: nobody in this process listens)."""
        files = FileBlobStore(data_dir / BLOBS)

        def prepare() -> None:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            files.ensure_root()

        engine = await SqliteEngine.open(data_dir / DATABASE, before=prepare)
        return cls(engine, SqliteBlobStore(engine, files), publisher, Wakeups(data_dir))

    def _committed(self) -> None:
        self._wakeups.wake_others()

    async def follow(self, interval: float = FOLLOW_POLL) -> None:
        with self._wakeups.follow() as follower:
            # Bound first: whatever commits after the log is read next wakes this one.
            seq = await self._read(changes.last_seq)
            while True:
                await follower.wait(interval)
                seq = await self.publish_others(seq)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._wakeups.close()
