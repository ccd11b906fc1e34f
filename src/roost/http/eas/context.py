"""What every ActiveSync command handler is given: the server's services and the request
it answers (the account that logged in, the device, the request line)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from roost.auth.throttle import Throttle
from roost.config import Config
from roost.model import AccountId, MailboxId, ModSeq
from roost.notify.api import Notifier
from roost.proto.eas.query import RequestLine
from roost.sessions import Sessions
from roost.store.api import Account, Store

__all__ = ["Command", "SentIds", "Service"]


class SentIds:
    """The ClientIds of the last messages sent, per account: a retry is not sent twice."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[int, str], None] = OrderedDict()

    def seen(self, account: int, client_id: str) -> bool:
        return (account, client_id) in self._seen

    def add(self, account: int, client_id: str) -> None:
        self._seen[(account, client_id)] = None
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)


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
    # The MODSEQ each device last synced each folder to, as this process saw it: Ping
    # reports a folder that changed since (roost.http.eas.ping). Kept in memory only: after
    # a restart, or on another worker, Ping falls back to "changed since the Ping began".
    synced: dict[tuple[AccountId, str, MailboxId], ModSeq] = field(default_factory=dict)
    sent_ids: SentIds = field(default_factory=SentIds)  # SendMail's retries


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    service: Service
    account: Account
    line: RequestLine

    @property
    def store(self) -> Store:
        return self.service.store

    def remember_sync(self, mailbox: MailboxId, modseq: ModSeq) -> None:
        self.service.synced[(self.account.id, self.line.device_id, mailbox)] = modseq

    def last_sync(self, mailbox: MailboxId) -> ModSeq | None:
        return self.service.synced.get((self.account.id, self.line.device_id, mailbox))
