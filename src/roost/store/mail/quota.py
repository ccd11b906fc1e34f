"""Quotas: per-account limits on storage and message count (DESIGN.md "Quotas").

Usage is a pair of running totals on the account row that triggers keep equal to the sum
of the account's message sizes and their number (migrations/0003_quota.sql), so reading
it costs one row. `charge` is called by every unit of work that adds mail (append, copy,
move) inside its transaction, before it writes a row: one conditional UPDATE of the account
row checks the limits and locks the row until the commit (no check-then-insert that a
concurrent writer could slip between); a refusal raises OVER_QUOTA and the transaction
rolls back with nothing written, whatever the batch size. Only growth is
checked: a MOVE within one account changes nothing and always succeeds, and an account
already over a lowered limit may still delete, move and rename.
"""

from __future__ import annotations

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId
from roost.store.api import Quota
from roost.store.engines.api import Tx

__all__ = ["WITHIN_LIMITS", "charge", "get_quota", "refuse", "set_quota"]


def get_quota(tx: Tx, account: AccountId) -> Quota:
    row = tx.one(
        "SELECT storage_limit, message_limit, storage_used, messages_used "
        "FROM accounts WHERE id = ?",
        (account,),
    )
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    return Quota(
        storage_limit=row[0], message_limit=row[1], storage_used=row[2], messages_used=row[3]
    )


def set_quota(
    tx: Tx, account: AccountId, storage_limit: int | None, message_limit: int | None
) -> None:
    for value in (storage_limit, message_limit):
        if value is not None and value < 0:
            raise MailError(MailErrorKind.CANNOT, "a limit cannot be negative")
    changed = tx.execute(
        "UPDATE accounts SET storage_limit = ?, message_limit = ? WHERE id = ?",
        (storage_limit, message_limit, account),
    )
    if changed == 0:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")


# Checks the limits against the account row it locks: a concurrent unit adding mail to the
# same account waits for (SQLite: is serialised behind; PostgreSQL: conflicts with and is
# retried after) this one's commit, so two cannot both take the last room. A no-op
# assignment, because the usage itself is charged by the triggers that count every
# message row inserted or deleted (migrations), in this same transaction.
# WITHIN_LIMITS is the condition, with parameters (octets, octets, messages, messages);
# roost.store.mail.changes uses it too, to take the account's MODSEQ in the same UPDATE.
WITHIN_LIMITS = (
    "(? <= 0 OR storage_limit IS NULL OR storage_used + ? <= storage_limit) "
    "AND (? <= 0 OR message_limit IS NULL OR messages_used + ? <= message_limit)"
)
_CHARGE = f"UPDATE accounts SET storage_used = storage_used WHERE id = ? AND {WITHIN_LIMITS}"


def charge(tx: Tx, account: AccountId, octets: int, messages: int) -> None:
    """Refuses (OVER_QUOTA) adding `octets` and `messages` to the account if that would
    take it past a limit. Net changes of zero or less are never refused. One conditional
    UPDATE checks and locks; the rows the caller then inserts are charged by triggers."""
    if octets <= 0 and messages <= 0:
        return
    # RFC 9208 §4.1: an operation that would exceed a limit fails as a whole.
    if tx.execute(_CHARGE, (account, octets, octets, messages, messages)) == 1:
        return
    refuse(tx, account, octets)


def refuse(tx: Tx, account: AccountId, octets: int) -> None:
    """Raises what a charge that did not fit says: NONEXISTENT if there is no such account,
    else OVER_QUOTA naming the limit."""
    quota = get_quota(tx, account)
    if octets > 0 and _exceeds(quota.storage_used + octets, quota.storage_limit):
        raise MailError(MailErrorKind.OVER_QUOTA, "storage quota exceeded")
    raise MailError(MailErrorKind.OVER_QUOTA, "message quota exceeded")


def _exceeds(usage: int, limit: int | None) -> bool:
    return limit is not None and usage > limit
