"""A publisher for tests of the store's publishing (SQLite: it reads the database file)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from roost.notify.api import Hint

__all__ = ["Recorder"]


class Recorder:
    """A publisher that, as each hint arrives, reads the mailbox's HIGHESTMODSEQ through a
    connection of its own: a hint sent before the commit would find the old value."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.hints: list[Hint] = []
        self.committed: list[int | None] = []

    def publish(self, hint: Hint) -> None:
        self.hints.append(hint)
        with sqlite3.connect(self.database) as conn:
            if hint.mailbox is None:
                sql, key = "SELECT modseq FROM accounts WHERE id = ?", hint.account
            else:
                sql, key = "SELECT highestmodseq FROM mailboxes WHERE id = ?", hint.mailbox
            row = conn.execute(sql, (key,)).fetchone()
        self.committed.append(None if row is None else row[0])
