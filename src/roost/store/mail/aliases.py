"""Aliases and catch-alls: more addresses that deliver to accounts.

An alias delivers to one or more accounts (its targets), each getting one copy, and each
target may send as it (a shared address such as sales@, answered by whoever is on duty).
Its address can't be an account's address too, and adding one makes its domain local, as
creating an account does. A target is always an account, never another alias.

A catch-all is a domain's last resort: mail for an address of the domain that is no
account and no alias goes to its targets instead of being refused. It is kept as the alias
"@domain" (as Postfix's virtual tables write it), so one table and one lookup serve both;
nobody may send as it. Deleting an account takes it out of every alias and catch-all; an
alias left without targets is gone.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId
from roost.store.api import Account, Alias
from roost.store.engines.api import Tx
from roost.store.mail.accounts import add_domain, find_account, is_local_domain
from roost.store.mail.acl import may_send_as
from roost.store.mail.names import normalise_address

__all__ = [
    "add_alias",
    "catch_all",
    "delete_alias",
    "find_recipients",
    "list_aliases",
    "owns_address",
    "set_catch_all",
]

_TARGETS = (
    "SELECT a.id, a.address, a.password_hash FROM aliases l"
    " JOIN accounts a ON a.id = l.account_id WHERE l.address = ? ORDER BY a.address"
)


def _targets(tx: Tx, address: str) -> list[Account]:
    return [
        Account(id=AccountId(row[0]), address=row[1], password_hash=row[2])
        for row in tx.all(_TARGETS, (address,))
    ]


def _accounts(tx: Tx, addresses: Sequence[str]) -> list[Account]:
    """The accounts named, each once; NONEXISTENT naming the first that is none."""
    if isinstance(addresses, str):  # a str is a Sequence[str] too: one letter per target
        raise TypeError("targets must be a list of addresses")
    found: dict[AccountId, Account] = {}
    for address in addresses:
        account = find_account(tx, address)
        if account is None:
            raise MailError(MailErrorKind.NONEXISTENT, f"no such account: {address}")
        found.setdefault(account.id, account)
    if not found:
        raise MailError(MailErrorKind.CANNOT, "an alias needs at least one account")
    return list(found.values())


def _insert(tx: Tx, address: str, targets: list[Account]) -> None:
    tx.executemany(
        "INSERT INTO aliases (address, account_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(address, target.id) for target in targets],
    )


def add_alias(tx: Tx, alias: str, targets: Sequence[str]) -> Alias:
    """Makes alias deliver to each of targets too (creating it if needed); returns the
    alias with all its targets."""
    alias = normalise_address(alias)
    accounts = _accounts(tx, targets)
    if find_account(tx, alias) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, f"{alias} is an account")
    add_domain(tx, alias.rpartition("@")[2])
    # More targets keep the spelling the alias was made with (it is matched without case).
    stored = tx.one("SELECT address FROM aliases WHERE address = ? LIMIT 1", (alias,))
    if stored is not None:
        alias = stored[0]
    _insert(tx, alias, accounts)
    return Alias(address=alias, accounts=tuple(a.address for a in _targets(tx, alias)))


def delete_alias(tx: Tx, alias: str, targets: Sequence[str] = ()) -> None:
    """Removes the alias, or only the targets named (the alias goes with its last)."""
    alias = normalise_address(alias)
    if not targets:
        if tx.execute("DELETE FROM aliases WHERE address = ?", (alias,)) == 0:
            raise MailError(MailErrorKind.NONEXISTENT, f"no such alias: {alias}")
        return
    current = {account.address.lower(): account for account in _targets(tx, alias)}
    if not current:
        raise MailError(MailErrorKind.NONEXISTENT, f"no such alias: {alias}")
    for target in targets:
        account = current.get(target.strip().lower())
        if account is None:
            raise MailError(MailErrorKind.NONEXISTENT, f"{alias} does not deliver to {target}")
        tx.execute("DELETE FROM aliases WHERE address = ? AND account_id = ?", (alias, account.id))


def list_aliases(tx: Tx) -> list[Alias]:
    """Every alias with its targets (catch-alls are the domains', roost.store.mail.aliases)."""
    rows = tx.all(
        "SELECT l.address, a.address FROM aliases l JOIN accounts a ON a.id = l.account_id"
        " WHERE l.address NOT LIKE '@%' ORDER BY l.address, a.address"
    )
    grouped: dict[str, list[str]] = {}
    for alias, account in rows:
        grouped.setdefault(alias, []).append(account)
    return [Alias(address=alias, accounts=tuple(targets)) for alias, targets in grouped.items()]


def find_recipients(tx: Tx, address: str) -> list[Account]:
    """The accounts that receive mail for address: its own, or the targets of the alias
    (not the domain's catch-all, which only the caller knows to try last)."""
    account = find_account(tx, address)
    if account is not None:
        return [account]
    try:
        address = normalise_address(address)
    except MailError:
        return []
    return _targets(tx, address)


def owns_address(tx: Tx, account: AccountId, address: str) -> bool:
    """Whether address is the account's own or an alias it is a target of, or a team's
    (or an alias of a team) whose INBOX the account may post to (issue 15): sending as it
    is allowed."""
    recipients = find_recipients(tx, address)
    if any(target.id == account for target in recipients):
        return True
    return any(target.is_team and may_send_as(tx, account, target) for target in recipients)


def set_catch_all(tx: Tx, domain: str, targets: Sequence[str]) -> None:
    """Makes targets the domain's catch-all (replacing any); no targets removes it.
    NONEXISTENT if the domain is not local or a target is no account."""
    domain = domain.lower()
    if not is_local_domain(tx, domain):
        raise MailError(MailErrorKind.NONEXISTENT, f"{domain} is not a local domain")
    accounts = _accounts(tx, targets) if targets else []
    tx.execute("DELETE FROM aliases WHERE address = ?", (f"@{domain}",))
    _insert(tx, f"@{domain}", accounts)


def catch_all(tx: Tx, domain: str) -> list[Account]:
    """The accounts that receive the domain's mail for addresses nobody has."""
    return _targets(tx, f"@{domain.lower()}")
