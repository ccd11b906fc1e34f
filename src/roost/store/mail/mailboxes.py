"""Mailboxes of an account: create, delete, rename, subscribe, status.

Mailbox ids and UIDVALIDITY values are never reused, so a deleted and re-created mailbox
is a new mailbox. Every call that changes the account's mailboxes takes one account modseq
and logs each change under it (roost.store.mail.changes).
"""

from __future__ import annotations

import time

from roost.errors import MailError, MailErrorKind
from roost.model import DEFAULT_MAILBOXES, AccountId, MailboxId, ModSeq, UidValidity
from roost.store.api import Mailbox, MailboxChangeKind, MailboxStatus
from roost.store.engines.api import Tx
from roost.store.mail.acl import inherit, tell_grantees
from roost.store.mail.changes import log_mailbox_change
from roost.store.mail.instants import now_utc
from roost.store.mail.lookup import (
    MAILBOX_SELECT,
    find_mailbox,
    get_mailbox,
    mailbox_from_row,
    require_account,
    require_mailbox,
)
from roost.store.mail.messages import copy, list_uids
from roost.store.mail.names import INBOX, SEP, canonical_name, check_new_name, superiors

__all__ = [
    "create_default_mailboxes",
    "create_mailbox",
    "delete_mailbox",
    "list_mailboxes",
    "list_subscriptions",
    "rename_mailbox",
    "set_subscribed",
    "set_uidvalidity",
    "status",
]

# Mailboxes one account may hold (issue 9): far above any real folder tree, far below what
# makes every LIST of the account slow.
MAX_MAILBOXES = 10_000


def _next_uidvalidity(tx: Tx, account: AccountId) -> UidValidity:
    # Increasing within the account (RFC 9051 §2.3.1.1: a name never gets a value it had
    # before), also across deleted mailboxes; kept on the account row, which the unit
    # updates anyway (its MODSEQ), so accounts never wait for each other here. The clock
    # keeps values apart from those of a store restored from an older backup.
    row = tx.one("SELECT last_uidvalidity FROM accounts WHERE id = ?", (account,))
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    value = max(int(time.time()), row[0] + 1)
    tx.execute("UPDATE accounts SET last_uidvalidity = ? WHERE id = ?", (value, account))
    return UidValidity(value)


def _insert_mailbox(tx: Tx, account: AccountId, name: str, special_use: str | None) -> MailboxId:
    row = tx.one(
        "INSERT INTO mailboxes (account_id, name, uidvalidity, special_use) "
        "VALUES (?, ?, ?, ?) RETURNING id",
        (account, name, _next_uidvalidity(tx, account), special_use),
    )
    assert row is not None
    mailbox = MailboxId(row[0])
    log_mailbox_change(tx, account, MailboxChangeKind.CREATED, mailbox, name)
    inherit(tx, account, mailbox, name)
    return mailbox


def create_default_mailboxes(tx: Tx, account: AccountId) -> None:
    """INBOX and DEFAULT_MAILBOXES of a new account, each subscribed."""
    for name, special_use in ((INBOX, None), *DEFAULT_MAILBOXES):
        mailbox = _insert_mailbox(tx, account, name, special_use)
        tx.execute("INSERT INTO subscriptions (account_id, name) VALUES (?, ?)", (account, name))
        log_mailbox_change(tx, account, MailboxChangeKind.SUBSCRIBED, mailbox, name)


def list_mailboxes(tx: Tx, account: AccountId) -> list[Mailbox]:
    rows = tx.all(f"{MAILBOX_SELECT} WHERE m.account_id = ? ORDER BY m.name", (account,))
    return [mailbox_from_row(row) for row in rows]


def list_subscriptions(tx: Tx, account: AccountId) -> list[str]:
    sql = "SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name"
    return [row[0] for row in tx.all(sql, (account,))]


def _create_superiors(tx: Tx, account: AccountId, name: str) -> None:
    # RFC 9051 §6.3.4 and §6.3.6: CREATE and RENAME create missing superior names.
    check_new_name(name)
    missing = [s for s in superiors(name) if find_mailbox(tx, account, s) is None]
    _check_room(tx, account, len(missing))
    for superior in missing:
        _insert_mailbox(tx, account, superior, None)


def _check_room(tx: Tx, account: AccountId, more: int) -> None:
    """LIMIT if the account would hold more than MAX_MAILBOXES mailboxes."""
    row = tx.one("SELECT count(*) FROM mailboxes WHERE account_id = ?", (account,))
    if row is not None and row[0] + more > MAX_MAILBOXES:
        raise MailError(MailErrorKind.LIMIT, f"an account holds at most {MAX_MAILBOXES} mailboxes")


def create_mailbox(tx: Tx, account: AccountId, name: str, special_use: str | None) -> Mailbox:
    name = canonical_name(name)
    require_account(tx, account)
    if find_mailbox(tx, account, name) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, "mailbox exists")
    _create_superiors(tx, account, name)
    _check_room(tx, account, 1)
    return get_mailbox(tx, _insert_mailbox(tx, account, name, special_use))


def set_uidvalidity(
    tx: Tx, mailbox_id: MailboxId, uidvalidity: UidValidity, highestmodseq: ModSeq | None
) -> Mailbox:
    """A migration's: the UIDVALIDITY of the mailbox this one continues, for a mailbox that
    never held a message; the account's later mailboxes get greater values. With
    highestmodseq, HIGHESTMODSEQ is raised to it, so that every change here comes after
    every change a device saw there."""
    mailbox = get_mailbox(tx, mailbox_id)
    if mailbox.uidnext != 1:
        raise MailError(MailErrorKind.CANNOT, "the mailbox has held messages")
    if not 0 < uidvalidity < 2**32:  # RFC 9051: nz-number, a 32-bit value
        raise MailError(MailErrorKind.CANNOT, "UIDVALIDITY out of range")
    if highestmodseq is not None and not 0 <= highestmodseq < 2**63:  # RFC 7162: mod-sequence
        raise MailError(MailErrorKind.CANNOT, "HIGHESTMODSEQ out of range")
    floor = max(mailbox.highestmodseq, highestmodseq or 0)
    tx.execute(
        "UPDATE mailboxes SET uidvalidity = ?, highestmodseq = ? WHERE id = ?",
        (uidvalidity, floor, mailbox_id),
    )
    tx.execute(
        "UPDATE accounts SET last_uidvalidity = ? WHERE id = ? AND last_uidvalidity < ?",
        (uidvalidity, mailbox.account_id, uidvalidity),
    )
    return get_mailbox(tx, mailbox_id)


def _inferiors(tx: Tx, account: AccountId, name: str) -> list[Mailbox]:
    prefix = name + SEP
    # substr rather than LIKE: mailbox names may contain "%" and "_".
    sql = f"{MAILBOX_SELECT} WHERE m.account_id = ? AND substr(m.name, 1, ?) = ?"
    return [mailbox_from_row(row) for row in tx.all(sql, (account, len(prefix), prefix))]


def delete_mailbox(tx: Tx, account: AccountId, name: str) -> None:
    name = canonical_name(name)
    if name == INBOX:
        raise MailError(MailErrorKind.CANNOT, "INBOX cannot be deleted")
    mailbox = require_mailbox(tx, account, name)
    if _inferiors(tx, account, name):
        raise MailError(MailErrorKind.HAS_CHILDREN, "mailbox has inferiors")
    # The mailbox id is never reused, so its messages need no tombstones: a client that
    # knew it sees a new UIDVALIDITY (or no mailbox) and starts over.
    tell_grantees(tx, [mailbox.id])
    for table in ("messages", "tombstones", "acl"):
        tx.execute(f"DELETE FROM {table} WHERE mailbox_id = ?", (mailbox.id,))
    tx.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox.id,))
    log_mailbox_change(tx, account, MailboxChangeKind.DELETED, mailbox.id, name)


def rename_mailbox(tx: Tx, account: AccountId, old: str, new: str) -> None:
    old, new = canonical_name(old), canonical_name(new)
    source = require_mailbox(tx, account, old)
    if find_mailbox(tx, account, new) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, "target mailbox exists")
    # INBOX's inferiors stay where they are when it is renamed, so only other mailboxes
    # cannot move below themselves.
    if old != INBOX and new.startswith(old + SEP):
        raise MailError(MailErrorKind.CANNOT, "cannot rename a mailbox into itself")
    _create_superiors(tx, account, new)
    if old == INBOX:
        _rename_inbox(tx, source, new)
        return
    moves = [(source, new)]
    moves += [(m, new + m.name[len(old) :]) for m in _inferiors(tx, account, old)]
    for mailbox, target in moves:
        check_new_name(target)
        if find_mailbox(tx, account, target) is not None:
            raise MailError(MailErrorKind.ALREADY_EXISTS, f"{target} exists")
        tx.execute("UPDATE mailboxes SET name = ? WHERE id = ?", (target, mailbox.id))
        tell_grantees(tx, [mailbox.id])
        kind = MailboxChangeKind.RENAMED
        log_mailbox_change(tx, account, kind, mailbox.id, target, mailbox.name)


def _rename_inbox(tx: Tx, inbox: Mailbox, new: str) -> None:
    # RFC 9051 §6.3.6: renaming INBOX moves its messages into a new mailbox and leaves
    # INBOX empty; its inferiors are not renamed.
    dest = _insert_mailbox(tx, inbox.account_id, new, None)
    copy(tx, inbox.id, list_uids(tx, inbox.id), dest, move=True, now=now_utc())


def set_subscribed(tx: Tx, account: AccountId, name: str, subscribed: bool) -> None:
    name = canonical_name(name)
    require_account(tx, account)
    if subscribed:
        sql = "INSERT INTO subscriptions (account_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING"
    else:
        sql = "DELETE FROM subscriptions WHERE account_id = ? AND name = ?"
    if tx.execute(sql, (account, name)) == 0:
        return  # no change, nothing to log
    mailbox = find_mailbox(tx, account, name)
    kind = MailboxChangeKind.SUBSCRIBED if subscribed else MailboxChangeKind.UNSUBSCRIBED
    log_mailbox_change(tx, account, kind, None if mailbox is None else mailbox.id, name)


def status(tx: Tx, mailbox_id: MailboxId) -> MailboxStatus:
    """From the counters triggers keep on the mailbox row (migration 6); RECENT counts the
    index range of UIDs at or above first_recent_uid."""
    mailbox = get_mailbox(tx, mailbox_id)
    row = tx.one(
        "SELECT message_count, unseen_count, deleted_count, size_total, deleted_size, "
        "(SELECT COUNT(*) FROM messages m WHERE m.mailbox_id = b.id "
        "AND m.uid >= b.first_recent_uid) "
        "FROM mailboxes b WHERE b.id = ?",
        (mailbox_id,),
    )
    assert row is not None
    messages, unseen, deleted, size, deleted_size, recent_count = row
    return MailboxStatus(
        mailbox=mailbox,
        messages=messages,
        unseen=unseen,
        deleted=deleted,
        size=size,
        recent=recent_count,
        deleted_size=deleted_size,
    )
