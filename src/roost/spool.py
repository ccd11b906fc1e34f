"""Incoming messages kept out of memory while they arrive, and the server-wide budget of
message bytes held in memory (issue 9).

Theory of operation
-------------------
A client sends a message (an IMAP APPEND literal, SMTP/LMTP DATA) at its own pace; held
in memory, a hundred slow senders each 16 MB into a 50 MB message grew the server by
1.6 GB. So a message above `SPOOL_THRESHOLD` is written to a temporary file as it arrives
(`SpoolFiles`, in `<data_dir>/tmp`: the data directory's disk, never a tmpfs /tmp, and
unlinked at creation, so a crash leaves nothing behind).

The store takes a message as bytes, so once the whole message is in, it is read back into
memory for the store's append, and only then: under the server-wide `MemoryBudget`
(`max_inflight_bytes`), which every protocol shares. A connection whose message would take
the budget past its limit waits its turn; after `BUDGET_WAIT` seconds it gets a temporary
failure (IMAP `NO [LIMIT]`, SMTP `452 4.3.1`), and the client tries again. A single
message larger than the whole budget still goes through, alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Protocol

from roost.errors import MailError, MailErrorKind

__all__ = [
    "BUDGET_WAIT",
    "SPOOL_THRESHOLD",
    "BudgetExhausted",
    "MemoryBudget",
    "SpoolFiles",
    "Spooled",
    "message_spool",
    "read_back",
    "spool_directory",
]

# Messages up to this size stay in memory while they arrive; larger ones go to a file.
SPOOL_THRESHOLD = 256 * 1024
# How long a message waits for room in the budget before the client is told to try later.
BUDGET_WAIT = 30.0


class BudgetExhausted(MailError):
    """The server holds `max_inflight_bytes` of messages already and none left in time: a
    temporary failure, the client tries again later (IMAP NO [LIMIT], SMTP 452)."""

    def __init__(self, text: str) -> None:
        super().__init__(
            MailErrorKind.LIMIT, f"Server busy with other messages ({text}); try again"
        )


class MemoryBudget:
    """A server-wide count of message bytes held in memory; `hold(n)` waits for room.

    First come, first served: a large message waiting is not overtaken for ever by small
    ones."""

    def __init__(self, limit: int, *, wait: float = BUDGET_WAIT) -> None:
        self.limit = limit
        self.wait = wait
        self.used = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    @contextlib.asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Holds `size` bytes of the budget (at most all of it) for the block. Raises
        BudgetExhausted when no room came within `wait` seconds."""
        size = min(size, self.limit)
        await self._acquire(size)
        try:
            yield
        finally:
            self.used -= size
            self._wake()

    async def _acquire(self, size: int) -> None:
        if not self._waiters and self.used + size <= self.limit:
            self.used += size
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (size, waiter)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(self.wait):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.used -= size  # granted just as the wait ended: give it back
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(entry)
            self._wake()  # the ones behind may fit now
            if isinstance(exc, TimeoutError):
                raise BudgetExhausted(f"{self.used} of {self.limit} bytes in use") from None
            raise

    def _wake(self) -> None:
        while self._waiters:
            size, waiter = self._waiters[0]
            if waiter.done():
                self._waiters.popleft()
                continue
            if self.used + size > self.limit:
                return
            self._waiters.popleft()
            self.used += size
            waiter.set_result(None)


def spool_directory(data_dir: Path) -> Path:
    return data_dir / "tmp"


def ensure_directory(directory: Path) -> None:
    if not directory.is_dir():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def message_spool(directory: Path) -> tempfile.SpooledTemporaryFile[bytes]:
    """A file for a message of unknown size (SMTP DATA): memory up to SPOOL_THRESHOLD,
    then a temporary file in `directory`."""
    ensure_directory(directory)
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_THRESHOLD, dir=str(directory))


class SpoolFiles:
    """The temporary files of one connection's large incoming messages; `close_all` once
    the command that took them is done (and when the connection ends)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._open: list[IO[bytes]] = []

    def new(self) -> IO[bytes]:
        ensure_directory(self.directory)
        # Unlinked at creation (O_TMPFILE where the kernel has it): nothing survives a crash.
        spool = tempfile.TemporaryFile(dir=self.directory)  # noqa: SIM115 - closed by close_all
        self._open.append(spool)
        return spool

    def close_all(self) -> None:
        for spool in self._open:
            spool.close()
        self._open.clear()


class Spooled(Protocol):
    """A spool file as the codec hands it back (roost.proto.imap.cursor.Spool)."""

    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def read(self, size: int = -1, /) -> bytes: ...
    def flush(self) -> None: ...


async def read_back(spool: Spooled) -> bytes:
    """A spooled message's bytes, read in a thread (tens of megabytes)."""

    def read() -> bytes:
        spool.flush()
        spool.seek(0, os.SEEK_SET)
        return spool.read()

    return await asyncio.to_thread(read)
