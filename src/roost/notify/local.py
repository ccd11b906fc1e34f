"""In-process fan-out of hints: every listener of the account gets woken."""

from __future__ import annotations

import asyncio

from roost.model import AccountId, MailboxId
from roost.notify.api import Hint


class LocalListener:
    __slots__ = ("_account", "_event", "_hub", "_pending")

    def __init__(self, hub: LocalNotifier, account: AccountId) -> None:
        self._hub = hub
        self._account = account
        self._event = asyncio.Event()
        self._pending: set[MailboxId | None] = set()

    def _deliver(self, hint: Hint) -> None:
        self._pending.add(hint.mailbox)
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()

    def drain(self) -> set[MailboxId | None]:
        pending, self._pending = self._pending, set()
        self._event.clear()
        return pending

    def close(self) -> None:
        self._hub._remove(self._account, self)


class LocalNotifier:
    def __init__(self) -> None:
        self._listeners: dict[AccountId, set[LocalListener]] = {}

    def publish(self, hint: Hint) -> None:
        for listener in self._listeners.get(hint.account, ()):
            listener._deliver(hint)

    def listen(self, account: AccountId) -> LocalListener:
        listener = LocalListener(self, account)
        self._listeners.setdefault(account, set()).add(listener)
        return listener

    def _remove(self, account: AccountId, listener: LocalListener) -> None:
        listeners = self._listeners.get(account)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[account]
