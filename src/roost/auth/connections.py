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
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from roost.auth.throttle import source_key
from roost.config import Config

__all__ = ["ConnectionLimits", "Place"]


class ConnectionLimits:
    """The server's count of connections per address (before login) and per account."""

    def __init__(self, *, per_address: int, per_account: int, loopback: bool = True) -> None:
        self.per_address = per_address
        self.per_account = per_account
        self.loopback = loopback
        self._addresses: Counter[str] = Counter()
        self._accounts: Counter[str] = Counter()

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
        if self._addresses[key] >= self.per_address:
            return None
        self._addresses[key] += 1
        return Place(limits=self, address=key)

    def count(self, *, address: str | None = None, account: str | None = None) -> int:
        if address is not None:
            return self._addresses[address]
        return self._accounts[account or ""]

    def _release(self, counter: Counter[str], key: str) -> None:
        counter[key] -= 1
        if counter[key] <= 0:
            del counter[key]


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
        if limits._accounts[account] >= limits.per_account:
            return False
        self._leave()
        limits._accounts[account] += 1
        self.account = account
        return True

    def close(self) -> None:
        self._leave()

    def _leave(self) -> None:
        if self.account is not None:
            self.limits._release(self.limits._accounts, self.account)
            self.account = None
        elif self.address is not None:
            self.limits._release(self.limits._addresses, self.address)
        self.address = None
