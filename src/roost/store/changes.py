"""Counters and the change log: what HIGHESTMODSEQ, QRESYNC and push are built on.

Counters live on the mailbox row. A mutating call takes `highestmodseq + 1` as the modseq of
every row it touches and allocates consecutive UIDs from `uidnext`, in one UPDATE
(`advance`); a call that changes nothing allocates nothing, so HIGHESTMODSEQ moves exactly
when something observable happened. UIDNEXT only grows and mailbox ids are never reused, so
a UID is never reused under one UIDVALIDITY. Expunged messages leave tombstones carrying
the expunge's modseq; `changes_since` reads rows and tombstones with modseq above the
client's through the (mailbox_id, modseq) indexes: cost follows the number of changes.

Mailbox-level changes (created, renamed, deleted, (un)subscribed) are logged per account
with the account's own modseq (`bump_account`), one per call.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, MailboxId, ModSeq, Uid
from roost.store.api import Changes, MailboxChange, MailboxChangeKind
from roost.store.engine import Row, Tx
from roost.store.flags import FLAG_COLUMNS, message_flags
from roost.store.lookup import get_mailbox

__all__ = [
    "advance",
    "bump_account",
    "changes_since",
    "log_mailbox_change",
    "mailbox_changes_since",
    "remove_messages",
]


def advance(tx: Tx, mailbox: MailboxId, new_uids: int) -> tuple[Uid, ModSeq]:
    """Takes the next modseq and new_uids consecutive uids; returns (first uid, modseq)."""
    row = tx.one(
        "UPDATE mailboxes SET uidnext = uidnext + ?, highestmodseq = highestmodseq + 1 "
        "WHERE id = ? RETURNING uidnext - ?, highestmodseq",
        (new_uids, mailbox, new_uids),
    )
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    return Uid(row[0]), ModSeq(row[1])


def remove_messages(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid], modseq: ModSeq) -> None:
    """Deletes the messages and leaves tombstones carrying modseq."""
    rows = [(mailbox, uid) for uid in uids]
    tx.executemany("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?", rows)
    tx.executemany(
        "INSERT INTO tombstones (mailbox_id, uid, modseq) VALUES (?, ?, ?)",
        [(mailbox, uid, modseq) for uid in uids],
    )


def changes_since(tx: Tx, mailbox_id: MailboxId, modseq: ModSeq) -> Changes:
    mailbox = get_mailbox(tx, mailbox_id)
    # "+uid": order the few matching rows, rather than let the planner walk the whole
    # mailbox in uid order (an index on uid also covers these columns) to skip the sort.
    changed = tx.all(
        f"SELECT {FLAG_COLUMNS} FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY +uid",
        (mailbox_id, modseq),
    )
    expunged = tx.all(
        "SELECT uid FROM tombstones WHERE mailbox_id = ? AND modseq > ? ORDER BY +uid",
        (mailbox_id, modseq),
    )
    # A keyword is only ever defined along with a change, so no change means none new.
    defined = (changed or expunged) and tx.one(
        "SELECT keywords FROM mailboxes WHERE id = ?", (mailbox_id,)
    )
    return Changes(
        highestmodseq=mailbox.highestmodseq,
        uidnext=mailbox.uidnext,
        changed=tuple(message_flags(row) for row in changed),
        expunged=tuple(Uid(row[0]) for row in expunged),
        keywords=tuple(defined[0].split()) if defined else (),
    )


def bump_account(tx: Tx, account: AccountId) -> ModSeq:
    row = tx.one(
        "UPDATE accounts SET modseq = modseq + 1 WHERE id = ? RETURNING modseq", (account,)
    )
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    return ModSeq(row[0])


def log_mailbox_change(
    tx: Tx,
    account: AccountId,
    modseq: ModSeq,
    kind: MailboxChangeKind,
    mailbox: MailboxId | None,
    name: str,
    old_name: str | None = None,
) -> None:
    tx.execute(
        "INSERT INTO mailbox_changes (account_id, modseq, kind, mailbox_id, name, old_name) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (account, modseq, kind.value, mailbox, name, old_name),
    )


def mailbox_changes_since(
    tx: Tx, account: AccountId, modseq: ModSeq
) -> tuple[ModSeq, list[MailboxChange]]:
    row = tx.one("SELECT modseq FROM accounts WHERE id = ?", (account,))
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    rows = tx.all(
        "SELECT modseq, kind, mailbox_id, name, old_name FROM mailbox_changes "
        "WHERE account_id = ? AND modseq > ? ORDER BY modseq, id",
        (account, modseq),
    )
    return ModSeq(row[0]), [_mailbox_change(r) for r in rows]


def _mailbox_change(row: Row) -> MailboxChange:
    return MailboxChange(
        modseq=ModSeq(row[0]),
        kind=MailboxChangeKind(row[1]),
        mailbox_id=None if row[2] is None else MailboxId(row[2]),
        name=row[3],
        old_name=row[4],
    )
