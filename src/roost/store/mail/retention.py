"""Bounded storage: tombstones and change logs kept for a horizon, then folded.

Theory of operation
-------------------
Expunged messages leave tombstones and every change leaves account-log rows; without a
limit they would grow forever. Past the horizon (`retention_days`) they are dropped and
remembered as a floor, so no answer is ever wrong, only less precise:

* a mailbox's vanished_floor is the highest MODSEQ of the tombstones dropped. A device
  asking for changes after an older MODSEQ gets Changes with `complete_since` false:
  QRESYNC then reports as VANISHED every UID of the range it knows that no longer exists
  (RFC 7162 §3.2.5.2 allows exactly that), and the UID cache reloads the mailbox;
* an account's log_floor is the highest account MODSEQ of the log rows dropped (with them
  go the mailbox_changes rows at or below it): `account_changes_since` from below it is
  refused (JMAP's cannotCalculateChanges), so the device lists everything again.

Within one mailbox (one account) MODSEQs grow with time, so everything at or below a floor
is older than the horizon. Each unit of work handles at most `batch` rows, so that a
first run over years of history does not hold the write lock for long.
"""

from __future__ import annotations

from roost.store.engines.api import Tx

__all__ = ["fold_account_log", "fold_tombstones"]


def fold_tombstones(tx: Tx, before: int, batch: int) -> int:
    """Drops tombstones expunged before `before` (unix microseconds) of up to `batch`
    mailboxes' worth, raising their floors; returns how many went."""
    rows = tx.all(
        "SELECT mailbox_id, MAX(modseq) FROM tombstones WHERE expunged_at < ? "
        "GROUP BY mailbox_id ORDER BY mailbox_id LIMIT ?",
        (before, batch),
    )
    dropped = 0
    for mailbox, floor in rows:
        tx.execute(
            "UPDATE mailboxes SET vanished_floor = CASE WHEN vanished_floor < ? THEN ? "
            "ELSE vanished_floor END WHERE id = ?",
            (floor, floor, mailbox),
        )
        dropped += tx.execute(
            "DELETE FROM tombstones WHERE mailbox_id = ? AND modseq <= ?", (mailbox, floor)
        )
    return dropped


def fold_account_log(tx: Tx, before: int, batch: int) -> int:
    """Drops account-log rows written before `before` (and the mailbox_changes under the
    same account MODSEQs) of up to `batch` accounts, raising their floors; returns how
    many log rows went."""
    rows = tx.all(
        "SELECT account_id, MAX(modseq) FROM account_log WHERE at < ? "
        "GROUP BY account_id ORDER BY account_id LIMIT ?",
        (before, batch),
    )
    dropped = 0
    for account, floor in rows:
        tx.execute(
            "UPDATE accounts SET log_floor = CASE WHEN log_floor < ? THEN ? "
            "ELSE log_floor END WHERE id = ?",
            (floor, floor, account),
        )
        tx.execute(
            "DELETE FROM mailbox_changes WHERE account_id = ? AND modseq <= ?", (account, floor)
        )
        dropped += tx.execute(
            "DELETE FROM account_log WHERE account_id = ? AND modseq <= ?", (account, floor)
        )
    return dropped
