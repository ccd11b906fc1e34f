"""Counters and the change log: what HIGHESTMODSEQ, QRESYNC and push are built on.

Counters live on the mailbox row. A mutating call takes `highestmodseq + 1` as the modseq of
every row it touches and allocates consecutive UIDs from `uidnext`, in one UPDATE
(`advance`); a call that changes nothing allocates nothing, so HIGHESTMODSEQ moves exactly
when something observable happened. UIDNEXT only grows and mailbox ids are never reused, so
a UID is never reused under one UIDVALIDITY. Expunged messages leave tombstones carrying
the expunge's modseq; `changes_since` reads rows and tombstones with modseq above the
client's through the (mailbox_id, modseq) indexes: cost follows the number of changes.

Every change also carries the account's own MODSEQ (`account_modseq`: one per unit of
work and account) and a row of the account log (migration 10) per mailbox it changed, so
`account_changes_since` answers for a whole account in time proportional to the changes.
Mailbox-level changes (created, renamed, deleted, (un)subscribed) are logged per account in
mailbox_changes under that account MODSEQ, with one account-log row of mailbox NULL.

Both counters report to the unit's Journal (roost.store.mail.journal), which the store publishes
after the commit: nothing else needs to remember to publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, MailboxId, ModSeq, Uid, UidValidity
from roost.notify.api import Hint
from roost.store.api import AccountChanges, Changes, MailboxChange, MailboxChangeKind
from roost.store.engines.api import Row, Tx
from roost.store.mail import quota
from roost.store.mail.flags import FLAG_COLUMNS, message_flags
from roost.store.mail.instants import now_utc, to_micros
from roost.store.mail.journal import journal_of

__all__ = [
    "Advanced",
    "account_changes_since",
    "account_modseq",
    "advance",
    "changes_since",
    "last_seq",
    "log_mailbox_change",
    "log_since",
    "mailbox_changes_since",
    "remove_messages",
]

_LOG = "INSERT INTO account_log (account_id, modseq, mailbox_id, mailbox_modseq, at) VALUES "


class Advanced(NamedTuple):
    """What `advance` took, and of which mailbox (so that a unit need not look it up)."""

    first: Uid  # the first of the new uids
    modseq: ModSeq
    account: AccountId
    uidvalidity: UidValidity


def advance(
    tx: Tx, mailbox: MailboxId, new_uids: int, charge: tuple[int, int] | None = None
) -> Advanced:
    """Takes the next modseq and new_uids consecutive uids of mailbox. Also takes the
    account's MODSEQ for this unit and logs the change in the account log; `charge`
    (octets, messages) is checked against the account's quota on the way
    (roost.store.mail.quota), in the same UPDATE of the account row when it can be."""
    journal = journal_of(tx)
    row = tx.one(
        "UPDATE mailboxes SET uidnext = uidnext + ?, highestmodseq = highestmodseq + 1 "
        "WHERE id = ? RETURNING uidnext - ?, highestmodseq, account_id, uidvalidity",
        (new_uids, mailbox, new_uids),
    )
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    first, modseq, account = Uid(row[0]), ModSeq(row[1]), AccountId(row[2])
    logged = tx.one(
        _LOG + "(?, ?, ?, ?, ?) RETURNING seq",
        (account, account_modseq(tx, account, charge), mailbox, modseq, to_micros(now_utc())),
    )
    assert logged is not None
    journal.seqs.append(logged[0])
    journal.mailbox_changed(account, mailbox, modseq)
    return Advanced(first, modseq, account, UidValidity(row[3]))


def account_modseq(tx: Tx, account: AccountId, charge: tuple[int, int] | None = None) -> ModSeq:
    """The account's MODSEQ of this unit of work: taken (incremented) once per unit. With
    `charge`, the quota is checked too (one UPDATE of the account row for both: an APPEND
    pays one statement less)."""
    journal = journal_of(tx)
    taken = journal.account_modseqs.get(account)
    if taken is not None:
        if charge is not None:
            quota.charge(tx, account, *charge)
        return taken
    if charge is None or (charge[0] <= 0 and charge[1] <= 0):
        row = tx.one(
            "UPDATE accounts SET modseq = modseq + 1 WHERE id = ? RETURNING modseq", (account,)
        )
    else:
        octets, messages = charge
        row = tx.one(
            "UPDATE accounts SET modseq = modseq + 1 "
            f"WHERE id = ? AND {quota.WITHIN_LIMITS} RETURNING modseq",
            (account, octets, octets, messages, messages),
        )
        if row is None:
            quota.refuse(tx, account, octets)
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    journal.account_modseqs[account] = ModSeq(row[0])
    return ModSeq(row[0])


def remove_messages(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid], modseq: ModSeq) -> None:
    """Deletes the messages and leaves tombstones carrying modseq."""
    rows = [(mailbox, uid) for uid in uids]
    tx.executemany("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?", rows)
    at = to_micros(now_utc())
    tx.executemany(
        "INSERT INTO tombstones (mailbox_id, uid, modseq, expunged_at) VALUES (?, ?, ?, ?)",
        [(mailbox, uid, modseq, at) for uid in uids],
    )


def changes_since(tx: Tx, mailbox_id: MailboxId, modseq: ModSeq) -> Changes:
    # Every command's sync asks this: the mailbox row is read once, for all it answers.
    mailbox = tx.one(
        "SELECT highestmodseq, uidnext, vanished_floor, keywords FROM mailboxes WHERE id = ?",
        (mailbox_id,),
    )
    if mailbox is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    highest, uidnext, floor, keywords = mailbox
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
    return Changes(
        highestmodseq=ModSeq(highest),
        uidnext=Uid(uidnext),
        changed=tuple(message_flags(row) for row in changed),
        expunged=tuple(Uid(row[0]) for row in expunged),
        vanished_floor=ModSeq(floor),
        # A keyword is only ever defined along with a change, so no change means none new.
        keywords=tuple(keywords.split()) if changed or expunged else (),
    )


def log_mailbox_change(
    tx: Tx,
    account: AccountId,
    kind: MailboxChangeKind,
    mailbox: MailboxId | None,
    name: str,
    old_name: str | None = None,
) -> ModSeq:
    """Logs a change of the account's mailboxes under the unit's account MODSEQ."""
    modseq = account_modseq(tx, account)
    tx.execute(
        "INSERT INTO mailbox_changes (account_id, modseq, kind, mailbox_id, name, old_name) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (account, modseq, kind.value, mailbox, name, old_name),
    )
    log_account_change(tx, account, modseq)
    return modseq


def log_account_change(tx: Tx, account: AccountId, modseq: ModSeq) -> None:
    """The account-log row (mailbox NULL) of a change of the account itself, once per unit."""
    journal = journal_of(tx)
    if account in journal.accounts_changed:
        return
    row = tx.one(
        _LOG + "(?, ?, NULL, NULL, ?) RETURNING seq", (account, modseq, to_micros(now_utc()))
    )
    assert row is not None
    journal.seqs.append(row[0])
    journal.accounts_changed.add(account)
    journal.account_modseqs.setdefault(account, modseq)


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


def account_changes_since(tx: Tx, account: AccountId, modseq: ModSeq) -> AccountChanges:
    """What changed in the account after its MODSEQ `modseq`: its mailboxes' own changes,
    and for each mailbox whose messages changed, that mailbox's changes from the first
    change the account log names after `modseq`. One snapshot, so the answer is one state."""
    current, mailbox_changes = mailbox_changes_since(tx, account, modseq)
    floor = tx.one("SELECT log_floor FROM accounts WHERE id = ?", (account,))
    if floor is not None and modseq < floor[0]:
        # JMAP's cannotCalculateChanges: the device starts over from a full listing.
        raise MailError(MailErrorKind.CANNOT, "changes that old are no longer kept")
    rows = tx.all(
        "SELECT mailbox_id, MIN(mailbox_modseq) FROM account_log "
        "WHERE account_id = ? AND modseq > ? AND mailbox_id IS NOT NULL "
        "GROUP BY mailbox_id ORDER BY mailbox_id",
        (account, modseq),
    )
    gone = {c.mailbox_id for c in mailbox_changes if c.kind is MailboxChangeKind.DELETED}
    messages: dict[MailboxId, Changes] = {}
    for mailbox_id, first in rows:
        if mailbox_id in gone:
            continue  # deleted since: its messages went with it
        messages[MailboxId(mailbox_id)] = changes_since(tx, mailbox_id, ModSeq(first - 1))
    return AccountChanges(modseq=current, mailboxes=tuple(mailbox_changes), messages=messages)


def last_seq(tx: Tx) -> int:
    """The newest account-log row: where a process starts following the others."""
    row = tx.one("SELECT COALESCE(MAX(seq), 0) FROM account_log")
    assert row is not None
    return int(row[0])


def log_since(tx: Tx, seq: int, limit: int) -> list[tuple[int, Hint]]:
    """The account-log rows after seq (at most limit), each as (seq, the hint it implies)."""
    rows = tx.all(
        "SELECT seq, account_id, modseq, mailbox_id, mailbox_modseq FROM account_log "
        "WHERE seq > ? ORDER BY seq LIMIT ?",
        (seq, limit),
    )
    return [
        (
            row[0],
            Hint(AccountId(row[1]), None, ModSeq(row[2]))
            if row[3] is None
            else Hint(AccountId(row[1]), MailboxId(row[3]), ModSeq(row[4])),
        )
        for row in rows
    ]
