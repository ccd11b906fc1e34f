"""Finding a message by its Message-ID within one mailbox (Sent-folder deduplication).

The (mailbox_id, message_id) index makes the lookup cost follow the number of matches.
"""

from __future__ import annotations

from datetime import datetime

from roost.model import BlobId, MailboxId, Uid
from roost.store.engines.api import Tx
from roost.store.mail.instants import to_micros

__all__ = ["by_message_id"]


def by_message_id(
    tx: Tx, mailbox: MailboxId, message_id: str, since: datetime
) -> list[tuple[Uid, BlobId]]:
    rows = tx.all(
        "SELECT uid, blob_id FROM messages WHERE mailbox_id = ? AND message_id = ? "
        "AND savedate >= ? ORDER BY uid",
        (mailbox, message_id, to_micros(since)),
    )
    return [(Uid(row[0]), BlobId(row[1])) for row in rows]
