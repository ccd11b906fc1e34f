"""What every ActiveSync command handler is given: the server's services and the request
it answers (the account that logged in, the device as the store has it, the request line)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from roost.auth.throttle import Throttle
from roost.config import Config
from roost.model import MailboxId, ModSeq
from roost.notify.api import Notifier
from roost.proto.eas.query import RequestLine
from roost.sessions import Sessions
from roost.store.api import Account, Device, Store

__all__ = ["Command", "Service"]


@dataclass(slots=True, kw_only=True)
class Service:
    """One per server process, built by roost.http.eas.install."""

    config: Config
    store: Store
    notifier: Notifier
    sessions: Sessions
    wake_queue: Callable[[], None]  # the outbound queue has new entries
    throttle: Throttle | None = None  # failed logins (roost.auth.throttle)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    service: Service
    account: Account
    device: Device  # recorded by the endpoint on this request
    line: RequestLine

    @property
    def store(self) -> Store:
        return self.service.store

    async def remember_sync(self, mailbox: MailboxId, modseq: ModSeq) -> None:
        """The device now holds mailbox as of modseq (0: it has more to fetch): what Ping
        compares the mailbox with, in the store so that every worker sees it."""
        await self.store.set_synced(self.account.id, self.device.device_id, mailbox, modseq)

    async def last_syncs(self) -> dict[MailboxId, ModSeq]:
        """What remember_sync recorded for this device, mailbox by mailbox."""
        return await self.store.synced(self.account.id, self.device.device_id)
