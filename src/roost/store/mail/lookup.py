"""The rows a unit of work starts from: mailboxes by id or by name, and accounts by id.

Each lookup raises NONEXISTENT where the caller needs the row to exist, so that every
operation on a missing mailbox or account fails the same way before it changes anything.
"""

from __future__ import annotations

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, MailboxId, ModSeq, Uid, UidValidity
from roost.store.api import Mailbox
from roost.store.engines.api import Row, Tx
from roost.store.mail.names import canonical_name

__all__ = [
    "MAILBOX_SELECT",
    "find_mailbox",
    "get_mailbox",
    "mailbox_from_row",
    "require_account",
    "require_mailbox",
]

# Read by mailbox_from_row; callers append WHERE and ORDER BY on the alias m.
MAILBOX_SELECT = """
    SELECT m.id, m.account_id, m.name, m.uidvalidity, m.uidnext, m.highestmodseq,
           m.special_use,
           EXISTS (SELECT 1 FROM subscriptions s
                   WHERE s.account_id = m.account_id AND s.name = m.name)
    FROM mailboxes m"""


def mailbox_from_row(row: Row) -> Mailbox:
    return Mailbox(
        id=MailboxId(row[0]),
        account_id=AccountId(row[1]),
        name=row[2],
        uidvalidity=UidValidity(row[3]),
        uidnext=Uid(row[4]),
        highestmodseq=ModSeq(row[5]),
        special_use=row[6],
        subscribed=bool(row[7]),
    )


def get_mailbox(tx: Tx, mailbox: MailboxId) -> Mailbox:
    row = tx.one(f"{MAILBOX_SELECT} WHERE m.id = ?", (mailbox,))
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    return mailbox_from_row(row)


def find_mailbox(tx: Tx, account: AccountId, name: str) -> Mailbox | None:
    sql = f"{MAILBOX_SELECT} WHERE m.account_id = ? AND m.name = ?"
    row = tx.one(sql, (account, canonical_name(name)))
    return None if row is None else mailbox_from_row(row)


def require_mailbox(tx: Tx, account: AccountId, name: str) -> Mailbox:
    mailbox = find_mailbox(tx, account, name)
    if mailbox is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    return mailbox


def require_account(tx: Tx, account: AccountId) -> None:
    if tx.one("SELECT 1 FROM accounts WHERE id = ?", (account,)) is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
