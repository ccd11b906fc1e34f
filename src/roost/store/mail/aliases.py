"""Aliases: more addresses of one account, for delivery and for sending.

An alias resolves to exactly one account. Its address can't be an account's address too,
and adding one makes its domain local, as creating an account does.
"""

from __future__ import annotations

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId
from roost.store.api import Account, Alias
from roost.store.engines.api import Tx
from roost.store.mail.accounts import add_domain, find_account
from roost.store.mail.acl import may_send_as
from roost.store.mail.names import normalise_address

__all__ = ["add_alias", "delete_alias", "find_recipient", "list_aliases", "owns_address"]


def add_alias(tx: Tx, alias: str, address: str) -> Alias:
    alias = normalise_address(alias)
    target = find_account(tx, address)
    if target is None:
        raise MailError(MailErrorKind.NONEXISTENT, f"no such account: {address}")
    if find_account(tx, alias) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, f"{alias} is an account")
    if tx.one("SELECT 1 FROM aliases WHERE address = ?", (alias,)) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, f"{alias} is an alias already")
    add_domain(tx, alias.rpartition("@")[2])
    tx.execute("INSERT INTO aliases (address, account_id) VALUES (?, ?)", (alias, target.id))
    return Alias(address=alias, account=target.address)


def delete_alias(tx: Tx, alias: str) -> None:
    alias = normalise_address(alias)
    if tx.execute("DELETE FROM aliases WHERE address = ?", (alias,)) == 0:
        raise MailError(MailErrorKind.NONEXISTENT, f"no such alias: {alias}")


def list_aliases(tx: Tx) -> list[Alias]:
    rows = tx.all(
        "SELECT l.address, a.address FROM aliases l JOIN accounts a ON a.id = l.account_id"
        " ORDER BY l.address"
    )
    return [Alias(address=row[0], account=row[1]) for row in rows]


def find_recipient(tx: Tx, address: str) -> Account | None:
    """The account that receives mail for address: its own, or the one an alias names."""
    account = find_account(tx, address)
    if account is not None:
        return account
    try:
        address = normalise_address(address)
    except MailError:
        return None
    row = tx.one(
        "SELECT a.id, a.address, a.password_hash FROM aliases l"
        " JOIN accounts a ON a.id = l.account_id WHERE l.address = ?",
        (address,),
    )
    if row is None:
        return None
    return Account(id=AccountId(row[0]), address=row[1], password_hash=row[2])


def owns_address(tx: Tx, account: AccountId, address: str) -> bool:
    """Whether address is the account's own or one of its aliases, or a team's whose INBOX
    the account may post to (issue 15): sending as it is allowed."""
    recipient = find_recipient(tx, address)
    if recipient is not None and recipient.is_team:
        return may_send_as(tx, account, recipient)
    return recipient is not None and recipient.id == account
