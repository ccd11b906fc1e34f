"""Several accounts' hints as one Listener: a session that watches mailboxes shared with its
user (issue 15) hears the hints of their owners' accounts as well as its own's.

The store publishes a hint under the account that owns the mailbox it changed, so a member
idling in a team mailbox listens to the team's account; which accounts to listen to follows
what is shared with the user (`watch`), and the user's own account is always among them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Set

from roost.model import AccountId, MailboxId
from roost.notify.api import Listener, Notifier

__all__ = ["Listeners"]


class Listeners:
    """A Listener over the hints of the user's own account and of the accounts watched."""

    __slots__ = ("_by_account", "_notifier", "_own")

    def __init__(self, notifier: Notifier, own: AccountId) -> None:
        self._notifier = notifier
        self._own = own
        self._by_account: dict[AccountId, Listener] = {own: notifier.listen(own)}

    def watch(self, accounts: Set[AccountId]) -> None:
        """Listens to exactly these accounts besides the user's own."""
        wanted = set(accounts) | {self._own}
        for account in set(self._by_account) - wanted:
            self._by_account.pop(account).close()
        for account in wanted - set(self._by_account):
            self._by_account[account] = self._notifier.listen(account)

    async def wait(self) -> None:
        listeners = list(self._by_account.values())
        if len(listeners) == 1:
            await listeners[0].wait()
            return
        waits = [asyncio.ensure_future(listener.wait()) for listener in listeners]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    def drain(self) -> set[MailboxId | None]:
        hinted: set[MailboxId | None] = set()
        for listener in self._by_account.values():
            hinted |= listener.drain()
        return hinted

    def close(self) -> None:
        for listener in self._by_account.values():
            listener.close()
        self._by_account.clear()
