"""The store checks itself (`roost check [--repair]`, like Dovecot's force-resync).

What is checked, in one read transaction (the blobs after it):

* each mailbox's counters (MESSAGES, UNSEEN, DELETED, SIZE, DELETED-STORAGE), which triggers
  keep, against a count of its messages; each account's quota usage likewise;
* each mailbox's UIDNEXT is above every UID it holds or held (messages and tombstones), and
  its HIGHESTMODSEQ at or above every MODSEQ, so no UID or MODSEQ is ever handed out twice;
* no UID is both a message and a tombstone;
* (MailStore.check) every message's blob is there and matches its name (its SHA-256).

`--repair` (`repair_counters`, one write) sets the counters and usage to the counts, raises
UIDNEXT and HIGHESTMODSEQ past what the mailbox holds, and drops tombstones that a message
contradicts. It never deletes mail: a missing or damaged blob is reported with the messages
that need it, for the operator to restore from a backup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from roost.store.engines.api import Tx

__all__ = ["Finding", "Report", "find_problems", "repair_counters"]

# Per mailbox: its stored counters, then the same values counted from its messages.
_COUNTERS = """
    SELECT b.id, b.name, a.address,
           b.message_count, b.unseen_count, b.deleted_count, b.size_total, b.deleted_size,
           COUNT(m.uid),
           COALESCE(SUM(CASE WHEN m.system_flags & 1 = 0 THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN m.system_flags & 8 != 0 THEN 1 ELSE 0 END), 0),
           COALESCE(SUM(m.size), 0),
           COALESCE(SUM(CASE WHEN m.system_flags & 8 != 0 THEN m.size ELSE 0 END), 0)
    FROM mailboxes b JOIN accounts a ON a.id = b.account_id
    LEFT JOIN messages m ON m.mailbox_id = b.id
    GROUP BY b.id, b.name, a.address, b.message_count, b.unseen_count, b.deleted_count,
             b.size_total, b.deleted_size
    ORDER BY b.id"""
_USAGE = """
    SELECT a.id, a.address, a.storage_used, a.messages_used,
           COALESCE((SELECT SUM(m.size) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                     WHERE b.account_id = a.id), 0),
           (SELECT COUNT(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
            WHERE b.account_id = a.id)
    FROM accounts a ORDER BY a.id"""
# Per mailbox: the highest UID and MODSEQ of its messages and of its tombstones.
_HIGHEST = """
    SELECT b.id, b.name, b.uidnext, b.highestmodseq,
           COALESCE((SELECT MAX(uid) FROM messages WHERE mailbox_id = b.id), 0),
           COALESCE((SELECT MAX(uid) FROM tombstones WHERE mailbox_id = b.id), 0),
           COALESCE((SELECT MAX(modseq) FROM messages WHERE mailbox_id = b.id), 0),
           COALESCE((SELECT MAX(modseq) FROM tombstones WHERE mailbox_id = b.id), 0)
    FROM mailboxes b ORDER BY b.id"""
_BOTH = """
    SELECT t.mailbox_id, t.uid FROM tombstones t
    JOIN messages m ON m.mailbox_id = t.mailbox_id AND m.uid = t.uid"""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: what is wrong, in words an operator can act on; and whether
    `--repair` mends it."""

    text: str
    repairable: bool


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)
    blobs_checked: int = 0
    repaired: bool = False

    @property
    def clean(self) -> bool:
        return not self.findings


def find_problems(tx: Tx) -> list[Finding]:
    """Everything wrong with the rows (not the blobs), as findings."""
    findings: list[Finding] = []
    names = ("MESSAGES", "UNSEEN", "DELETED", "SIZE", "DELETED-STORAGE")
    for row in tx.all(_COUNTERS):
        _, mailbox, address = row[:3]
        for name, stored, counted in zip(names, row[3:8], row[8:13], strict=True):
            if stored != counted:
                text = f"{address} {mailbox!r}: {name} is {stored}, the messages say {counted}"
                findings.append(Finding(text, True))
    for _, address, storage, messages, octets, count in tx.all(_USAGE):
        if (storage, messages) != (octets, count):
            text = (
                f"{address}: quota usage is {storage} octets in {messages} messages, "
                f"the mailboxes hold {octets} in {count}"
            )
            findings.append(Finding(text, True))
    for _, mailbox, uidnext, highest, uid_m, uid_t, mod_m, mod_t in tx.all(_HIGHEST):
        if uidnext <= max(uid_m, uid_t):
            text = f"mailbox {mailbox!r}: UIDNEXT {uidnext} is not above UID {max(uid_m, uid_t)}"
            findings.append(Finding(text, True))
        if highest < max(mod_m, mod_t):
            text = f"mailbox {mailbox!r}: HIGHESTMODSEQ {highest} is below {max(mod_m, mod_t)}"
            findings.append(Finding(text, True))
    for mailbox_id, uid in tx.all(_BOTH):
        text = f"mailbox id {mailbox_id}: UID {uid} is both a message and expunged"
        findings.append(Finding(text, True))
    return findings


def repair_counters(tx: Tx) -> None:
    """Sets everything `find_problems` reports as repairable to what the messages say."""
    tx.execute(
        "UPDATE mailboxes SET "
        "message_count = (SELECT COUNT(*) FROM messages m WHERE m.mailbox_id = mailboxes.id), "
        "unseen_count = (SELECT COUNT(*) FROM messages m WHERE m.mailbox_id = mailboxes.id "
        "AND m.system_flags & 1 = 0), "
        "deleted_count = (SELECT COUNT(*) FROM messages m WHERE m.mailbox_id = mailboxes.id "
        "AND m.system_flags & 8 != 0), "
        "size_total = (SELECT COALESCE(SUM(m.size), 0) FROM messages m "
        "WHERE m.mailbox_id = mailboxes.id), "
        "deleted_size = (SELECT COALESCE(SUM(m.size), 0) FROM messages m "
        "WHERE m.mailbox_id = mailboxes.id AND m.system_flags & 8 != 0)"
    )
    tx.execute(
        "UPDATE accounts SET "
        "storage_used = (SELECT COALESCE(SUM(m.size), 0) FROM messages m "
        "JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = accounts.id), "
        "messages_used = (SELECT COUNT(*) FROM messages m "
        "JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = accounts.id)"
    )
    for mailbox_id, _, uidnext, highest, uid_m, uid_t, mod_m, mod_t in tx.all(_HIGHEST):
        tx.execute(
            "UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?",
            (max(uidnext, uid_m + 1, uid_t + 1), max(highest, mod_m, mod_t), mailbox_id),
        )
    for mailbox_id, uid in tx.all(_BOTH):
        # The message is there: it was not expunged after all.
        tx.execute("DELETE FROM tombstones WHERE mailbox_id = ? AND uid = ?", (mailbox_id, uid))
