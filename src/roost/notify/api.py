"""Push hints between sessions: a hint, then a pull.

After a transaction commits, the store publishes a Hint (roost.store.mail.journal): protocol
code never publishes. A hint may be coalesced or lost; correctness lives in the store's
change log, which a listener pulls when woken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from roost.model import AccountId, MailboxId, ModSeq


@dataclass(frozen=True, slots=True)
class Hint:
    account: AccountId
    mailbox: MailboxId | None  # None: a mailbox-level change (created, renamed, ...)
    modseq: ModSeq


class Listener(Protocol):
    """One session's subscription to one account's hints."""

    async def wait(self) -> None:
        """Returns once at least one hint arrived since the last call to drain()."""
        ...

    def drain(self) -> set[MailboxId | None]:
        """The mailboxes hinted since the last drain (None: mailbox-level change)."""
        ...

    def close(self) -> None: ...


class Publisher(Protocol):
    """What the store needs: somewhere to send the hints of what it committed."""

    def publish(self, hint: Hint) -> None: ...


class Notifier(Publisher, Protocol):
    def listen(self, account: AccountId) -> Listener: ...
