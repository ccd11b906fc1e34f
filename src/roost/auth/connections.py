"""How many connections one address, and one account, may hold (issue 9).

Theory of operation
-------------------
Every connection a listener accepts asks for a `Place` first (`ConnectionLimits.connect`):
while it has not logged in, it counts against its source address (an IPv4 address, an
IPv6 /64), and an address holding `per_address` such connections already is refused at
once (IMAP `* BYE [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`, SMTP `421 4.7.0`), so strangers
cannot take every socket the server has. When it logs in (`Place.log_in`), it stops
counting against the address and counts against the account instead; past `per_account`
the login is refused (IMAP `NO [LIMIT]`, POP3 `-ERR [IN-USE]`, SMTP `454 4.7.0`) and the
connection stays as it was. Both limits are generous: a household behind one NAT, every
device with a handful of connections, stays far below them. Unix-socket peers (an MTA on
this machine) are not counted, nor are loopback peers unless `loopback` (limit_loopback).

A server of several worker processes counts as one (roost.serve.bus): a worker tells the
others its own count of an address or an account each time it changes (`share`), and all
of its counts every REFRESH seconds; a worker checks a limit against its own count plus
the latest the others told it (`heard`). A count not told again within EXPIRY seconds is
forgotten, so a lost message or a worker that died cannot hold places for ever, and a
worker starting afresh says so (`started`), which drops what the one before it told.
Between two workers the counts may lag by the time a datagram takes: two connections
arriving together on two workers may both get the last place.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from roost.auth.throttle import source_key
from roost.config import Config

__all__ = ["EXPIRY", "REFRESH", "ConnectionLimits", "Place"]

# Seconds between two full reports of a worker's counts to the others, and after which a
# count the others did not hear again is forgotten.
REFRESH = 5.0
EXPIRY = 3 * REFRESH
# Counts per message of a full report: a datagram of a few dozen KiB at most.
_REPORT_CHUNK = 500
_ADDRESS, _ACCOUNT = "address", "account"


class ConnectionLimits:
    """The server's count of connections per address (before login) and per account."""

    def __init__(
        self,
        *,
        per_address: int,
        per_account: int,
        loopback: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address = per_address
        self.per_account = per_account
        self.loopback = loopback
        self.clock = clock
        self._addresses: Counter[str] = Counter()
        self._accounts: Counter[str] = Counter()
        # What the other workers told: (kind, key) -> worker -> (count, when heard).
        self._others: dict[tuple[str, str], dict[int, tuple[int, float]]] = {}
        # Where this worker's counts go for the others (roost.serve.bus); None alone.
        self.share: Callable[[Any], None] | None = None

    @classmethod
    def from_config(cls, config: Config) -> ConnectionLimits:
        return cls(
            per_address=config.max_connections_per_address,
            per_account=config.max_connections_per_account,
            loopback=config.limit_loopback,
        )

    def connect(self, peer: str) -> Place | None:
        """A place for a new connection from `peer`, or None: the address has too many."""
        key = source_key(peer, loopback=self.loopback)
        if key is None:
            return Place(limits=self, address=None, counted=False)
        if self._total(_ADDRESS, key) >= self.per_address:
            return None
        self._change(_ADDRESS, key, +1)
        return Place(limits=self, address=key)

    def count(self, *, address: str | None = None, account: str | None = None) -> int:
        """The server's count (this worker's and the others'), of an address or an account."""
        if address is not None:
            return self._total(_ADDRESS, address)
        return self._total(_ACCOUNT, account or "")

    def _counter(self, kind: str) -> Counter[str]:
        return self._addresses if kind == _ADDRESS else self._accounts

    def _total(self, kind: str, key: str) -> int:
        total = self._counter(kind)[key]
        told = self._others.get((kind, key))
        if told:
            oldest = self.clock() - EXPIRY
            for worker, (count, heard) in list(told.items()):
                if heard < oldest:
                    del told[worker]
                else:
                    total += count
            if not told:
                del self._others[(kind, key)]
        return total

    def _change(self, kind: str, key: str, delta: int) -> None:
        counter = self._counter(kind)
        counter[key] += delta
        count = counter[key]
        if count <= 0:
            del counter[key]
        if self.share is not None:
            self.share({"counts": [[kind, key, max(count, 0)]]})

    # ----- several workers (roost.serve.bus) --------------------------------------------

    def started(self) -> None:
        """Tells the other workers this one starts with no connections."""
        if self.share is not None:
            self.share({"started": True})

    def report(self) -> None:
        """Tells the other workers every count of this one (every REFRESH seconds)."""
        if self.share is None:
            return
        counts = list(self._counts())
        for start in range(0, len(counts), _REPORT_CHUNK):
            self.share({"counts": counts[start : start + _REPORT_CHUNK]})

    def _counts(self) -> Iterator[list[Any]]:
        for kind in (_ADDRESS, _ACCOUNT):
            for key, count in self._counter(kind).items():
                yield [kind, key, count]

    def heard(self, worker: int, message: dict[str, Any]) -> None:
        """Takes in what another worker told of its counts; raises KeyError, TypeError or
        ValueError for a message it does not understand."""
        if not isinstance(message, dict):
            raise TypeError("not an object")
        if message.get("started"):
            for told in self._others.values():
                told.pop(worker, None)
            return
        now = self.clock()
        for kind, key, count in message["counts"]:
            if kind not in (_ADDRESS, _ACCOUNT) or not isinstance(key, str):
                raise ValueError(f"not a count: {kind!r} {key!r}")
            if not isinstance(count, int):
                raise TypeError("a count is an integer")
            told = self._others.setdefault((kind, key), {})
            if count > 0:
                told[worker] = (count, now)
            else:
                told.pop(worker, None)
                if not told:
                    del self._others[(kind, key)]


@dataclass(slots=True, kw_only=True)
class Place:
    """One connection's place in the count; `close` it when the connection ends."""

    limits: ConnectionLimits
    address: str | None  # counted against this address until it logs in
    account: str | None = None
    counted: bool = True  # False: a peer the limits leave alone (loopback, a Unix socket)

    def log_in(self, account: str) -> bool:
        """Moves the place from the address to the account; False (nothing moved) if the
        account holds too many connections already."""
        limits = self.limits
        if self.account == account or not self.counted:
            return True
        if limits._total(_ACCOUNT, account) >= limits.per_account:
            return False
        self._leave()
        limits._change(_ACCOUNT, account, +1)
        self.account = account
        return True

    def close(self) -> None:
        self._leave()

    def _leave(self) -> None:
        if self.account is not None:
            self.limits._change(_ACCOUNT, self.account, -1)
            self.account = None
        elif self.address is not None:
            self.limits._change(_ADDRESS, self.address, -1)
        self.address = None
