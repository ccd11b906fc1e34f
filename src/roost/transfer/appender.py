"""Appending batches with one in flight: while the store commits a batch (its blob files
written and fsync'd on the store's threads, then the transaction), the caller reads and
analyses the next. One at a time, so that each mailbox gets its messages in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from roost.model import MailboxId
from roost.store.api import AppendResult, NewMessage, Store
from roost.transfer.progress import Progress

__all__ = ["Appender"]


class Appender:
    """Use as `async with Appender(store) as appender: await appender.append(...)`; on
    leaving, the last batch has committed (or, after an error, has been waited for: a
    store write is never cancelled half-way)."""

    __slots__ = ("_inflight", "_pending", "added", "progress", "store")

    def __init__(self, store: Store, progress: Progress | None = None) -> None:
        self.store = store
        self.progress = progress
        self.added = 0
        self._inflight: asyncio.Task[AppendResult] | None = None
        self._pending: tuple[int, int] = (0, 0)

    async def append(self, mailbox: MailboxId, batch: Sequence[NewMessage]) -> None:
        """Hands batch to the store once the previous one has committed; its refusal
        (OVER_QUOTA...) is raised by the next call, or on leaving."""
        if not batch:
            return
        await self.settle()
        self._pending = (len(batch), sum(len(m.data) for m in batch))
        self._inflight = asyncio.create_task(self.store.append(mailbox, list(batch)))

    async def settle(self) -> None:
        """Waits for the batch in flight."""
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            self.added += len((await inflight).uids)
            if self.progress is not None:
                self.progress.advance(self._pending[0], octets=self._pending[1])

    async def __aenter__(self) -> Appender:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            await self.settle()
        elif self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            with contextlib.suppress(Exception):
                await inflight
