"""The UIDs of the mailboxes sessions select, kept from one SELECT to the next.

SELECT needs every UID of the mailbox: a session's view maps sequence numbers to UIDs.
Read from the database, that is work proportional to the mailbox, and a device that comes
back to a 100,000-message mailbox after 10 changes should cost 10 changes (DESIGN.md,
"cost follows the change"). So the store keeps each mailbox's UID array with the modseq at
which it was exact, and brings it up to date from the change log: new UIDs are rows changed
after that modseq with a UID above the array's last, removed ones are tombstones after it.
That is exact whoever wrote in between (another process, the CLI), because every change to
a mailbox raises its HIGHESTMODSEQ and leaves rows or tombstones behind; an array older
than the mailbox's vanished floor (roost.store.mail.retention folded tombstones it would need)
is read again.

Reads run on several threads (roost.store.engines.sqlite), so a lock keeps one of them at a time
in the cache; only copies of the arrays leave it, so sessions never share one. A reader
whose snapshot is older than the cached array's modseq reloads the mailbox (the same rule
that covers a database that went back). At most `max_mailboxes` are kept; the least
recently selected go first.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict

from roost.model import MailboxId, ModSeq
from roost.store.engines.api import Tx
from roost.store.mail.lookup import get_mailbox

__all__ = ["UidCache"]


class UidCache:
    __slots__ = ("_entries", "_lock", "_max")

    def __init__(self, max_mailboxes: int = 256) -> None:
        self._entries: OrderedDict[MailboxId, tuple[ModSeq, array[int]]] = OrderedDict()
        self._max = max_mailboxes
        self._lock = threading.Lock()

    def uids(self, tx: Tx, mailbox: MailboxId) -> tuple[array[int], ModSeq]:
        """A copy of the mailbox's ascending UIDs and the HIGHESTMODSEQ they are exact at."""
        with self._lock:
            return self._uids(tx, mailbox)

    def _uids(self, tx: Tx, mailbox: MailboxId) -> tuple[array[int], ModSeq]:
        highest = get_mailbox(tx, mailbox).highestmodseq
        entry = self._entries.get(mailbox)
        if (
            entry is None or entry[0] > highest or entry[0] < _vanished_floor(tx, mailbox)
        ):  # unknown, or the database went back
            uids = _load(tx, mailbox)
        elif entry[0] < highest:
            uids = _advance(tx, mailbox, entry[0], entry[1])
        else:
            uids = entry[1]
        self._entries[mailbox] = (highest, uids)
        self._entries.move_to_end(mailbox)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return array("I", uids), highest


def _vanished_floor(tx: Tx, mailbox: MailboxId) -> int:
    row = tx.one("SELECT vanished_floor FROM mailboxes WHERE id = ?", (mailbox,))
    return int(row[0]) if row else 0


def _load(tx: Tx, mailbox: MailboxId) -> array[int]:
    rows = tx.all("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", (mailbox,))
    return array("I", [row[0] for row in rows])


def _advance(tx: Tx, mailbox: MailboxId, since: ModSeq, uids: array[int]) -> array[int]:
    """uids (exact at modseq `since`) brought up to date; changes it in place."""
    last = uids[-1] if uids else 0
    # UIDs only grow and are never reused: a message added after `since` is above `last`.
    added = tx.all(
        "SELECT uid FROM messages WHERE mailbox_id = ? AND modseq > ? AND uid > ? ORDER BY uid",
        (mailbox, since, last),
    )
    gone = tx.all(
        "SELECT uid FROM tombstones WHERE mailbox_id = ? AND modseq > ? AND uid <= ?",
        (mailbox, since, last),
    )
    for (uid,) in gone:
        i = bisect_left(uids, uid)
        if i < len(uids) and uids[i] == uid:
            del uids[i]
    uids.extend(row[0] for row in added)
    return uids
