"""The outbound queue: messages accepted for recipients not yet delivered to.

One row per (message, recipient). A row exists from the commit that acknowledged the
message (the client's 250) until delivery to that recipient succeeded or was given up, so
the queue survives a restart or a kill -9. The message bytes are a blob, written and
fsync'd before the transaction that inserts the rows (like `messages.append`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from roost.model import BlobId
from roost.store.api import QueueEntry
from roost.store.engines.api import Row, Tx
from roost.store.mail.instants import from_micros, to_micros

__all__ = [
    "enqueue",
    "entries",
    "flush",
    "remove",
    "retry_later",
]

_SELECT = (
    "SELECT id, blob_id, mail_from, recipient, created, next_attempt, attempts, last_error "
    "FROM outbound"
)


def _entry(row: Row) -> QueueEntry:
    return QueueEntry(
        id=row[0],
        blob_id=BlobId(row[1]),
        mail_from=row[2],
        recipient=row[3],
        created=from_micros(row[4]),
        next_attempt=from_micros(row[5]),
        attempts=row[6],
        last_error=row[7],
    )


def enqueue(
    tx: Tx, blob: BlobId, mail_from: str, recipients: Sequence[str], now: datetime
) -> list[int]:
    ids = []
    for recipient in recipients:
        row = tx.one(
            "INSERT INTO outbound (blob_id, mail_from, recipient, created, next_attempt) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            (blob, mail_from, recipient, to_micros(now), to_micros(now)),
        )
        assert row is not None
        ids.append(int(row[0]))
    return ids


def entries(tx: Tx, due: datetime | None) -> list[QueueEntry]:
    if due is None:
        return [_entry(row) for row in tx.all(f"{_SELECT} ORDER BY id")]
    rows = tx.all(f"{_SELECT} WHERE next_attempt <= ? ORDER BY next_attempt, id", (to_micros(due),))
    return [_entry(row) for row in rows]


def retry_later(tx: Tx, entry: int, when: datetime, error: str) -> None:
    tx.execute(
        "UPDATE outbound SET attempts = attempts + 1, next_attempt = ?, last_error = ? "
        "WHERE id = ?",
        (to_micros(when), error, entry),
    )


def remove(tx: Tx, ids: Sequence[int]) -> int:
    removed = 0
    for entry in ids:
        removed += tx.execute("DELETE FROM outbound WHERE id = ?", (entry,))
    return removed


def flush(tx: Tx, now: datetime) -> int:
    return tx.execute("UPDATE outbound SET next_attempt = ?", (to_micros(now),))
