"""Wake-ups between the processes that share one SQLite store: what LISTEN/NOTIFY is to
the PostgreSQL engine, for workers of one server and the roost CLI on one machine.

Theory of operation
-------------------
The account log is the truth (roost.store.mail.changes); a wake-up only says "read it now"
and carries nothing. A process that follows the store (MailStore.follow: a server worker)
binds a Unix datagram socket and leaves a marker file named after it ("pid.n") in
`<data_dir>/wake/`; after a commit that logged changes, any process (a worker, the CLI)
sends one byte to every other follower's socket, and each of them reads the log at once
instead of at its next poll. Sending never blocks and never fails a write: a follower
whose buffer is full has a wake-up pending already, and one that is gone (its socket
refuses) loses its marker.

The sockets are in Linux's abstract namespace, named from the data directory's real path
and the marker's name: a path under the data directory could pass the 108 octets a socket path may
have. The marker files are how followers find each other, so only a process that may
write the data directory can be woken by name, and a marker left by a killed process is
removed by the first sender that finds its socket gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import socket
import time
from pathlib import Path

__all__ = ["WAKE_DIR", "Follower", "Wakeups"]

WAKE_DIR = "wake"

_numbers = itertools.count()  # the followers of this process, each named pid.n
# A directory's mtime may not change between two markers made within one clock tick: the
# listing is also taken again when it is this old (seconds).
_LISTING_AGE = 1.0


def _address(key: str, name: str) -> bytes:
    return f"\0roost-{key}-{name}".encode()


def _is_name(name: str) -> bool:
    pid, dot, n = name.partition(".")
    return bool(dot) and pid.isdigit() and n.isdigit()


class Wakeups:
    """The wake-ups of the store in data_dir, for this process."""

    __slots__ = ("_dir", "_key", "_listed_at", "_listing", "_listing_mtime", "_mine", "_sender")

    def __init__(self, data_dir: Path) -> None:
        self._dir = data_dir / WAKE_DIR
        self._key = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
        self._sender: socket.socket | None = None
        self._listing: list[str] = []
        self._listing_mtime = -1
        self._listed_at = 0.0
        self._mine: set[str] = set()  # this instance's own followers

    def follow(self) -> Follower:
        """Binds this process's socket and marker (close the Follower to remove them)."""
        self._dir.mkdir(mode=0o700, exist_ok=True)
        name = f"{os.getpid()}.{next(_numbers)}"
        follower = Follower(self._dir / name, _address(self._key, name))
        self._mine.add(name)
        return follower

    def wake_others(self) -> None:
        """Tells every other follower to read the log; never raises, never blocks."""
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        for name in self._followers():
            if name in self._mine:
                continue
            try:
                self._sender.sendto(b"!", _address(self._key, name))
            except BlockingIOError:
                pass  # its buffer is full: it has wake-ups to read already
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    (self._dir / name).unlink()  # its process is gone
            except OSError:
                pass

    def _followers(self) -> list[str]:
        """The followers with a marker, listed again only when the directory changed."""
        try:
            mtime = self._dir.stat().st_mtime_ns
        except OSError:
            return []
        now = time.monotonic()
        if mtime != self._listing_mtime or now - self._listed_at > _LISTING_AGE:
            try:
                names = os.listdir(self._dir)
            except OSError:
                return []
            self._listing = [name for name in names if _is_name(name)]
            self._listing_mtime, self._listed_at = mtime, now
        return self._listing

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
            self._sender = None


class Follower:
    """This process's socket: `wait` returns when woken, or after a while."""

    __slots__ = ("_marker", "_socket")

    def __init__(self, marker: Path, address: bytes) -> None:
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._socket.bind(address)
        except OSError:
            self._socket.close()
            raise
        self._socket.setblocking(False)
        self._marker = marker
        marker.touch(mode=0o600)

    async def wait(self, seconds: float) -> bool:
        """True when woken within seconds (every wake-up pending is consumed), else False."""
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.sock_recv(self._socket, 16), seconds)
        except TimeoutError:
            return False
        with contextlib.suppress(BlockingIOError):
            while True:
                self._socket.recv(16)
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._marker.unlink()
        self._socket.close()

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
