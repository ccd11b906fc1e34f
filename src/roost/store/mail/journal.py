"""What one unit of work changed, so that the store can publish it after the commit.

Theory of operation
-------------------
DESIGN.md: "The store publishes: a unit of work reports what it touched, and the store
sends the hints after the commit." MailStore runs every write inside a `Journal`, a Tx that
passes statements through to the engine's transaction and also records the changes the
unit made. Units do not record anything themselves: the two places that number changes
(roost.store.mail.changes: `advance` for a mailbox's MODSEQ, `account_modseq` for the
account's) do it, so a write cannot change a mailbox without its hint being known.

A unit takes one account MODSEQ per account it changes, however many mailboxes and rows it
touches; the Journal remembers it, so later steps of the same unit reuse it. A unit whose
savepoint is rolled back (roost.store.engines.sqlite group commit) returns no Journal, so nothing
it did is published. After COMMIT the store publishes `hints()` and remembers the account
log rows it wrote (`seqs`), so that following the log (MailStore.follow) does not publish
them a second time.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.model import AccountId, MailboxId, ModSeq
from roost.notify.api import Hint
from roost.store.engines.api import Row, Tx

__all__ = ["Journal", "journal_of"]


class Journal:
    """A Tx that also records what the unit of work changed."""

    __slots__ = ("_mailboxes", "_tx", "account_modseqs", "accounts_changed", "seqs")

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self.account_modseqs: dict[AccountId, ModSeq] = {}  # one per account per unit
        self.accounts_changed: set[AccountId] = set()  # mailbox-level changes logged
        self._mailboxes: dict[tuple[AccountId, MailboxId], ModSeq] = {}
        self.seqs: list[int] = []  # account_log rows written

    # --- Tx
    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._tx.all(sql, params)

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        return self._tx.one(sql, params)

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._tx.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self._tx.executemany(sql, rows)

    # --- what changed
    def mailbox_changed(self, account: AccountId, mailbox: MailboxId, modseq: ModSeq) -> None:
        key = (account, mailbox)
        self._mailboxes[key] = max(modseq, self._mailboxes.get(key, modseq))

    def hints(self) -> list[Hint]:
        """One hint per mailbox changed (its highest new MODSEQ), and one per account whose
        mailboxes themselves changed (the account MODSEQ)."""
        hints = [Hint(a, m, modseq) for (a, m), modseq in self._mailboxes.items()]
        hints += [Hint(a, None, self.account_modseqs[a]) for a in self.accounts_changed]
        return hints


def journal_of(tx: Tx) -> Journal:
    """The Journal a write runs in. Every write runs in one (MailStore._write), so a unit
    that changes mail outside one is a bug: its change would reach no session."""
    if not isinstance(tx, Journal):
        raise TypeError("a write must run in a Journal (MailStore._write)")
    return tx
