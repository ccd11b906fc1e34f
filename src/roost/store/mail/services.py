"""Which services an account may use: the units of work behind `account_services` and
`set_account_services`.

Providers sell access per service ("complete sync for selected users"): an account may be
limited to, say, IMAP and submission. No row means every service, so accounts created
before this existed, or without a choice, keep everything. The names are those of
roost.auth.services.SERVICES; the store keeps them as given (sorted, comma-separated) and
knows nothing of what they mean.
"""

from __future__ import annotations

from collections.abc import Iterable

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId
from roost.store.engines.api import Tx

__all__ = ["account_services", "set_account_services"]


def account_services(tx: Tx, account: AccountId) -> frozenset[str] | None:
    """The services the account may use; None: all of them."""
    row = tx.one("SELECT services FROM account_services WHERE account_id = ?", (account,))
    if row is None:
        return None
    text: str = row[0]
    return frozenset(name for name in text.split(",") if name)


def set_account_services(tx: Tx, account: AccountId, services: Iterable[str] | None) -> None:
    """Limits the account to services (None: every service again). NONEXISTENT if there is
    no such account."""
    if tx.one("SELECT 1 FROM accounts WHERE id = ?", (account,)) is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    tx.execute("DELETE FROM account_services WHERE account_id = ?", (account,))
    if services is not None:
        names = sorted({name.strip().lower() for name in services if name.strip()})
        tx.execute(
            "INSERT INTO account_services (account_id, services) VALUES (?, ?)",
            (account, ",".join(names)),
        )
