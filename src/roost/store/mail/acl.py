"""Rights on mailboxes (RFC 4314) and team accounts (issue 15).

Theory of operation
-------------------
A mailbox's owner holds every right (ALL_RIGHTS) without a row; anyone else holds the
rights of their row in `acl` (mailbox, account, rights), none without one. Rights are the
RFC 4314 letters, kept in the order of ALL_RIGHTS; the obsolete "c" and "d" of RFC 2086
stand for "k" and "xte" (RFC 4314 §2.1.1, as RIGHTS=texk announces).

A team is an account nobody logs in to (TEAM_PASSWORD_HASH): it receives its address's mail
like any account, its quota is its own, and its members hold rights on each of its
mailboxes. A mailbox created below another takes its superior's rows, and a top-level
mailbox of a team those of the team's INBOX, so a team's new folders are the team's (RFC
4314 §3.1 leaves inheritance to the server).

Whoever gains or loses a right, or sees a shared mailbox appear or go, gets a mailbox-level
hint (an account-log row of mailbox NULL, roost.store.mail.changes), so that their live
sessions list it, or stop showing it, at once, in this process or another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, MailboxId
from roost.store.api import (
    ALL_RIGHTS,
    MEMBER_RIGHTS,
    TEAM_PASSWORD_HASH,
    Account,
    AclEntry,
    Mailbox,
    SharedMailbox,
)
from roost.store.engines.api import Row, Tx
from roost.store.mail.changes import account_modseq, log_account_change
from roost.store.mail.lookup import get_mailbox, mailbox_from_row
from roost.store.mail.names import INBOX, SEP, normalise_address

__all__ = [
    "MEMBER_RIGHTS",
    "delete_rights",
    "get_acl",
    "inherit",
    "may_send_as",
    "normalise_rights",
    "rights",
    "set_rights",
    "shared_mailboxes",
    "tell_grantees",
]

_OBSOLETE = {"c": "k", "d": "xte"}


def normalise_rights(text: str) -> str:
    """The rights of text in ALL_RIGHTS order; CANNOT for a letter RFC 4314 does not know."""
    letters = set("".join(_OBSOLETE.get(ch, ch) for ch in text.lower()))
    unknown = letters - set(ALL_RIGHTS)
    if unknown:
        raise MailError(MailErrorKind.CANNOT, f"unknown right {sorted(unknown)[0]!r}")
    return "".join(ch for ch in ALL_RIGHTS if ch in letters)


def rights(tx: Tx, account: AccountId, mailbox: MailboxId) -> str:
    """What account may do with mailbox: everything if it owns it, else its row's rights
    ("" without one, or if the mailbox is gone)."""
    row = tx.one(
        "SELECT m.account_id, a.rights FROM mailboxes m "
        "LEFT JOIN acl a ON a.mailbox_id = m.id AND a.account_id = ? WHERE m.id = ?",
        (account, mailbox),
    )
    if row is None:
        return ""
    return ALL_RIGHTS if row[0] == account else row[1] or ""


def get_acl(tx: Tx, mailbox: MailboxId) -> list[AclEntry]:
    """The rows of mailbox, by address (the owner's rights are implicit, not a row)."""
    get_mailbox(tx, mailbox)
    rows = tx.all(
        "SELECT o.address, a.rights FROM acl a JOIN accounts o ON o.id = a.account_id "
        "WHERE a.mailbox_id = ? ORDER BY o.address",
        (mailbox,),
    )
    return [AclEntry(address=row[0], rights=row[1]) for row in rows]


def _grantee(tx: Tx, mailbox: Mailbox, address: str) -> AccountId:
    """The user address names: NONEXISTENT for no user (or a team: nobody acts as one)."""
    try:
        address = normalise_address(address)
    except MailError:
        raise MailError(MailErrorKind.NONEXISTENT, f"no such user: {address}") from None
    row = tx.one("SELECT id, password_hash FROM accounts WHERE address = ?", (address,))
    if row is None or row[1] == TEAM_PASSWORD_HASH:
        raise MailError(MailErrorKind.NONEXISTENT, f"no such user: {address}")
    if row[0] == mailbox.account_id:
        # RFC 4314 §2: the owner's rights are not the ACL's to take away.
        raise MailError(MailErrorKind.CANNOT, "the owner always holds every right")
    return AccountId(row[0])


def set_rights(tx: Tx, mailbox_id: MailboxId, address: str, new: str) -> str:
    """Replaces the rights of address on mailbox (no rights: removes its row); returns
    them as stored."""
    mailbox = get_mailbox(tx, mailbox_id)
    grantee = _grantee(tx, mailbox, address)
    new = normalise_rights(new)
    if not new:
        _delete(tx, mailbox_id, grantee)
        return new
    tx.execute(
        "INSERT INTO acl (mailbox_id, account_id, rights) VALUES (?, ?, ?) "
        "ON CONFLICT (mailbox_id, account_id) DO UPDATE SET rights = excluded.rights",
        (mailbox_id, grantee, new),
    )
    _tell(tx, [grantee])
    return new


def delete_rights(tx: Tx, mailbox_id: MailboxId, address: str) -> None:
    """Removes the row of address on mailbox (nothing if it had none)."""
    grantee = _grantee(tx, get_mailbox(tx, mailbox_id), address)
    _delete(tx, mailbox_id, grantee)


def _delete(tx: Tx, mailbox: MailboxId, account: AccountId) -> None:
    if tx.execute("DELETE FROM acl WHERE mailbox_id = ? AND account_id = ?", (mailbox, account)):
        _tell(tx, [account])


def _tell(tx: Tx, accounts: Iterable[AccountId]) -> None:
    """A mailbox-level hint for each account: what it sees shared changed."""
    for account in accounts:
        log_account_change(tx, account, account_modseq(tx, account))


def tell_grantees(tx: Tx, mailboxes: Sequence[MailboxId]) -> None:
    """Hints to everyone holding rights on the mailboxes (before they are deleted, say)."""
    if not mailboxes:
        return
    marks = ", ".join("?" * len(mailboxes))
    rows = tx.all(
        f"SELECT DISTINCT account_id FROM acl WHERE mailbox_id IN ({marks})", tuple(mailboxes)
    )
    _tell(tx, sorted(AccountId(row[0]) for row in rows))


def inherit(tx: Tx, account: AccountId, mailbox: MailboxId, name: str) -> None:
    """A new mailbox takes the rows of its superior (a team's top-level one those of its
    INBOX), and their holders hear of it."""
    if name == INBOX:
        return
    if SEP in name:
        parent = name.rsplit(SEP, 1)[0]
    elif _is_team(tx, account):
        parent = INBOX
    else:
        return
    rows = tx.all(
        "SELECT a.account_id, a.rights FROM acl a JOIN mailboxes m ON m.id = a.mailbox_id "
        "WHERE m.account_id = ? AND m.name = ?",
        (account, parent),
    )
    tx.executemany(
        "INSERT INTO acl (mailbox_id, account_id, rights) VALUES (?, ?, ?)",
        [(mailbox, row[0], row[1]) for row in rows],
    )
    _tell(tx, (AccountId(row[0]) for row in rows))


def _is_team(tx: Tx, account: AccountId) -> bool:
    row = tx.one("SELECT password_hash FROM accounts WHERE id = ?", (account,))
    return row is not None and row[0] == TEAM_PASSWORD_HASH


_SHARED = """
    SELECT m.id, m.account_id, m.name, m.uidvalidity, m.uidnext, m.highestmodseq,
           m.special_use, 0, o.address, o.password_hash, a.rights
    FROM acl a JOIN mailboxes m ON m.id = a.mailbox_id JOIN accounts o ON o.id = m.account_id
    WHERE a.account_id = ?"""


def _shared(row: Row) -> SharedMailbox:
    return SharedMailbox(
        mailbox=mailbox_from_row(row[:8]),
        owner=row[8],
        team=row[9] == TEAM_PASSWORD_HASH,
        rights=row[10],
    )


def shared_mailboxes(tx: Tx, account: AccountId) -> list[SharedMailbox]:
    """The mailboxes of other accounts that account holds any right on, by owner and name."""
    rows = tx.all(_SHARED + " ORDER BY o.address, m.name", (account,))
    return [_shared(row) for row in rows]


def may_send_as(tx: Tx, account: AccountId, team: Account) -> bool:
    """A member may send as the team if it may post to the team's INBOX ("p")."""
    row = tx.one("SELECT id FROM mailboxes WHERE account_id = ? AND name = ?", (team.id, INBOX))
    return row is not None and "p" in rights(tx, account, MailboxId(row[0]))
