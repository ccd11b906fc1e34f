"""Domains and accounts: the units of work behind the Store's account methods.

An account is created with its default mailboxes, all subscribed, in the same
transaction; deleting an account deletes everything it owns.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, MailboxId
from roost.store.api import TEAM_PASSWORD_HASH, Account
from roost.store.engines.api import Row, Tx
from roost.store.mail.acl import MEMBER_RIGHTS, set_rights, tell_grantees
from roost.store.mail.changes import account_modseq, log_account_change
from roost.store.mail.mailboxes import create_default_mailboxes
from roost.store.mail.names import normalise_address

__all__ = [
    "add_domain",
    "create_account",
    "create_team",
    "delete_account",
    "delete_domain",
    "find_account",
    "is_local_domain",
    "list_accounts",
    "list_domains",
    "set_password",
]

_ACCOUNT_SELECT = "SELECT id, address, password_hash FROM accounts"


def _account(row: Row) -> Account:
    return Account(id=AccountId(row[0]), address=row[1], password_hash=row[2])


def add_domain(tx: Tx, domain: str) -> None:
    tx.execute("INSERT INTO domains (name) VALUES (?) ON CONFLICT DO NOTHING", (domain.lower(),))


def list_domains(tx: Tx) -> list[str]:
    return [row[0] for row in tx.all("SELECT name FROM domains ORDER BY name")]


def is_local_domain(tx: Tx, domain: str) -> bool:
    return tx.one("SELECT 1 FROM domains WHERE name = ?", (domain.lower(),)) is not None


def delete_domain(tx: Tx, domain: str) -> None:
    """Removes a local domain with no account or alias left in it: mail for it is then
    refused. NONEXISTENT if it is not local, HAS_CHILDREN (naming them) if addresses remain."""
    domain = domain.lower()
    if not is_local_domain(tx, domain):
        raise MailError(MailErrorKind.NONEXISTENT, f"{domain} is not a local domain")
    pattern = "%@" + domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    left = [
        row[0]
        for row in tx.all(
            "SELECT address FROM accounts WHERE lower(address) LIKE ? ESCAPE '\\'"
            " UNION SELECT address FROM aliases WHERE lower(address) LIKE ? ESCAPE '\\'"
            " AND address <> ? ORDER BY 1",
            (pattern, pattern, f"@{domain}"),
        )
    ]
    if left:
        shown = ", ".join(left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
        raise MailError(MailErrorKind.HAS_CHILDREN, f"{domain} still has addresses: {shown}")
    # Its catch-all (roost.store.mail.aliases) is a setting of the domain: it goes along.
    tx.execute("DELETE FROM aliases WHERE address = ?", (f"@{domain}",))
    tx.execute("DELETE FROM domains WHERE name = ?", (domain,))


def find_account(tx: Tx, address: str) -> Account | None:
    try:
        address = normalise_address(address)
    except MailError:
        return None
    row = tx.one(f"{_ACCOUNT_SELECT} WHERE address = ?", (address,))
    return None if row is None else _account(row)


def _require_account(tx: Tx, address: str) -> Account:
    account = find_account(tx, address)
    if account is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    return account


def list_accounts(tx: Tx) -> list[Account]:
    return [_account(row) for row in tx.all(f"{_ACCOUNT_SELECT} ORDER BY address")]


def create_account(tx: Tx, address: str, password_hash: str) -> Account:
    address = normalise_address(address)
    if find_account(tx, address) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, "address taken")
    if tx.one("SELECT 1 FROM aliases WHERE address = ?", (address,)) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, "address taken by an alias")
    add_domain(tx, address.rpartition("@")[2])
    row = tx.one(
        "INSERT INTO accounts (address, password_hash) VALUES (?, ?) RETURNING id",
        (address, password_hash),
    )
    assert row is not None
    account = AccountId(row[0])
    create_default_mailboxes(tx, account)
    return Account(id=account, address=address, password_hash=password_hash)


def create_team(tx: Tx, address: str, members: Sequence[str]) -> Account:
    """A team account at address (issue 15; nobody logs in to it) whose members hold
    MEMBER_RIGHTS on each of its mailboxes. NONEXISTENT if a member is no user;
    ALREADY_EXISTS if the address is taken."""
    team = create_account(tx, address, TEAM_PASSWORD_HASH)
    sql = "SELECT id FROM mailboxes WHERE account_id = ? ORDER BY id"
    for member in members:
        for row in tx.all(sql, (team.id,)):
            set_rights(tx, MailboxId(row[0]), member, MEMBER_RIGHTS)
    return team


def set_password(tx: Tx, address: str, password_hash: str) -> None:
    account = _require_account(tx, address)
    if account.is_team:
        # Issue 15: a password would make the team an account someone logs in to.
        raise MailError(MailErrorKind.CANNOT, f"{address} is a team: nobody logs in to it")
    tx.execute("UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account.id))


def delete_account(tx: Tx, address: str) -> None:
    account = _require_account(tx, address)
    owned = "SELECT id FROM mailboxes WHERE account_id = ?"
    # Who holds rights on its mailboxes (a team's members) sees them go at once.
    tell_grantees(tx, [MailboxId(row[0]) for row in tx.all(owned, (account.id,))])
    tx.execute(f"DELETE FROM acl WHERE mailbox_id IN ({owned})", (account.id,))
    tx.execute("DELETE FROM acl WHERE account_id = ?", (account.id,))
    for table in ("messages", "tombstones"):
        tx.execute(f"DELETE FROM {table} WHERE mailbox_id IN ({owned})", (account.id,))
    for table in ("mailboxes", "subscriptions", "mailbox_changes", "aliases", "account_services"):
        tx.execute(f"DELETE FROM {table} WHERE account_id = ?", (account.id,))
    # The account log keeps one row saying so (its rows before go): live sessions of the
    # account, in this process or another, hear that it is gone.
    tx.execute("DELETE FROM account_log WHERE account_id = ?", (account.id,))
    log_account_change(tx, account.id, account_modseq(tx, account.id))
    tx.execute("DELETE FROM accounts WHERE id = ?", (account.id,))
