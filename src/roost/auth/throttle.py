"""Failed logins slow down, then block, a guesser (issue 9): per source address and per
account, over every protocol that logs in (IMAP, POP3, submission, and whatever calls
roost.auth.login.log_in).

Theory of operation
-------------------
Each failed login is remembered twice, with its time: under the source address (an IPv6
address by its /64, which one subscriber holds whole) and under the user name tried. Only
failures within the last `window` seconds count.

- A source past `delay_after` failures waits before each further attempt is checked: 1, 2,
  4, 8... seconds, at most `max_delay`; past `block_after` it is blocked for
  `block_seconds`: every attempt from it is refused at once, the right password too, with
  a temporary failure (IMAP `NO [UNAVAILABLE]`, POP3 `-ERR [SYS/TEMP]`, SMTP `454 4.7.0`).
- An account past `account_delay_after` failures (from anywhere) makes every attempt for
  it wait the same growing delay before the check, but is never blocked: a guesser spread
  over many addresses slows the account's logins down; the real user, from an address
  that is not blocked, still gets in (a few seconds later), and a success forgets the
  account's failures.

The delay comes before the password is checked and does not depend on it, so it tells a
guesser nothing. A household behind one NAT with the right passwords never fails, so never
waits; one device with an old password, retrying every minute, stays under the defaults.
Sources on this machine are not throttled unless `throttle_loopback`: a webmail or proxy
there speaks for many users, and one of them must not block the rest.

A server of several worker processes counts as one: each worker's throttle shares its
failures and successes with the others (`share`, `heard`, over roost.serve.bus), whose
clocks agree (time.monotonic is the machine's), so a guesser whose connections the kernel
spreads over the workers is slowed and blocked after as many failures as by one process.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from roost.config import Config

__all__ = ["Throttle", "ThrottlePolicy", "source_key"]

log = logging.getLogger("roost.auth")

# Keys remembered at most (the oldest are forgotten first): bounded memory under a flood
# of made-up user names from made-up addresses.
MAX_KEYS = 100_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottlePolicy:
    window: float = 900.0  # seconds a failure counts
    delay_after: int = 5  # failures from one source before its attempts wait
    block_after: int = 20  # failures from one source before it is blocked
    block_seconds: float = 900.0
    account_delay_after: int = 10  # failures for one account before its attempts wait
    first_delay: float = 1.0  # then doubling...
    max_delay: float = 15.0  # ...up to this
    throttle_loopback: bool = False

    @classmethod
    def from_config(cls, config: Config) -> ThrottlePolicy:
        return cls(
            window=config.auth_failure_window,
            delay_after=config.auth_delay_after,
            block_after=config.auth_block_after,
            block_seconds=config.auth_block_seconds,
            account_delay_after=config.auth_account_delay_after,
            max_delay=config.auth_max_delay,
            throttle_loopback=config.limit_loopback,
        )


def source_key(peer: str, *, loopback: bool = False) -> str | None:
    """The key a source address is counted under: an IPv4 address, an IPv6 /64. None for a
    Unix socket, and for a loopback address unless `loopback`: not throttled."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return None  # "local": a Unix socket
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return str(address) if loopback else None
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class _Failures:
    """Failure times per key, within the window, in least-recently-failed order."""

    def __init__(self, window: float, keep: int) -> None:
        self.window = window
        self.keep = keep  # more than this many are never needed
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def count(self, key: str, now: float) -> int:
        times = self._times.get(key)
        if times is None:
            return 0
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._times[key]
            return 0
        return len(times)

    def add(self, key: str, now: float) -> int:
        times = self._times.pop(key, None) or deque(maxlen=self.keep)
        times.append(now)
        self._times[key] = times
        while len(self._times) > MAX_KEYS:
            self._times.popitem(last=False)
        return self.count(key, now)

    def forget(self, key: str) -> None:
        self._times.pop(key, None)


class Throttle:
    """The server's memory of failed logins; one per server process, shared by every
    protocol."""

    def __init__(
        self, policy: ThrottlePolicy, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy
        self.clock = clock
        self._sources = _Failures(policy.window, policy.block_after + 1)
        self._accounts = _Failures(policy.window, policy.account_delay_after + 64)
        self._blocked: dict[str, float] = {}  # source -> until
        # Where failures and successes go for the other workers of the server to hear
        # (roost.serve.bus); None in a server of one process.
        self.share: Callable[[dict[str, Any]], None] | None = None

    def _source(self, peer: str) -> str | None:
        return source_key(peer, loopback=self.policy.throttle_loopback)

    def blocked(self, peer: str) -> float:
        """Seconds the source is still blocked for; 0 if it is not."""
        key = self._source(peer)
        if key is None:
            return 0.0
        until = self._blocked.get(key)
        if until is None:
            return 0.0
        left = until - self.clock()
        if left <= 0:
            del self._blocked[key]
            return 0.0
        return left

    def delay(self, peer: str, user: str) -> float:
        """How long to wait before checking this attempt's password."""
        now = self.clock()
        policy = self.policy
        key = self._source(peer)
        over = 0
        if key is not None:
            over = self._sources.count(key, now) - policy.delay_after + 1
        over = max(
            over, self._accounts.count(_user_key(user), now) - policy.account_delay_after + 1
        )
        if over <= 0:
            return 0.0
        return float(min(policy.max_delay, policy.first_delay * 2 ** min(over - 1, 30)))

    def failed(self, peer: str, user: str) -> None:
        now = self.clock()
        source, account = self._source(peer), _user_key(user)
        self._failed(source, account, now, here=True)
        if self.share is not None:
            self.share({"failed": [source, account, now]})

    def _failed(self, source: str | None, account: str, now: float, *, here: bool) -> None:
        self._accounts.add(account, now)
        if source is None:
            return
        failures = self._sources.add(source, now)
        if failures >= self.policy.block_after and source not in self._blocked:
            self._blocked[source] = now + self.policy.block_seconds
            if here:  # one line per block, from the worker that saw the last failure
                log.warning(
                    "login blocked source=%s failures=%d window=%d seconds=%d",
                    source,
                    failures,
                    self.policy.window,
                    self.policy.block_seconds,
                )
            if len(self._blocked) > MAX_KEYS:
                self._blocked.pop(next(iter(self._blocked)))

    def succeeded(self, user: str) -> None:
        """The account's failures are forgotten (the source's are not: a guesser with an
        account of its own must not wipe its record by logging in to it)."""
        account = _user_key(user)
        self._accounts.forget(account)
        if self.share is not None:
            self.share({"succeeded": account})

    def heard(self, worker: int, message: dict[str, Any]) -> None:
        """Takes in what another worker's throttle shared (roost.serve.bus): raises
        KeyError, TypeError or ValueError for a message it does not understand."""
        if "failed" in message:
            source, account, at = message["failed"]
            if not (source is None or isinstance(source, str)) or not isinstance(account, str):
                raise TypeError("failed: [source, account, time]")
            self._failed(source, account, float(at), here=False)
        elif "succeeded" in message:
            self._accounts.forget(str(message["succeeded"]))
        else:
            raise KeyError("neither failed nor succeeded")


def _user_key(user: str) -> str:
    return user.strip().lower()[:320]
