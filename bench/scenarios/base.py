"""What every scenario shares: the context it runs in, the figures it returns, statistics."""

from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bench.imapclient import ImapClient
from bench.servers import Server

Better = Literal["lower", "higher"]


@dataclass(frozen=True, slots=True)
class Scale:
    """`full` is the issue's sizes; `small` cuts corpora and connection counts by 10x."""

    name: str
    factor: int  # divide sizes and connection counts by this

    def n(self, full: int, minimum: int = 1) -> int:
        return max(minimum, full // self.factor)


SCALES = {"full": Scale("full", 1), "small": Scale("small", 10)}


@dataclass(slots=True)
class Figure:
    key: str  # stable: the report's row and the target's lookup key
    value: float | None  # None: not measured (see note)
    unit: str
    better: Better
    note: str = ""
    detail: bool = False  # per-command breakdowns go to the second table


@dataclass
class Context:
    """Where a scenario's load goes. `server` is None when driving a server we did not start
    (`python -m bench run`): then there is no restart (cold figures) and no /proc memory."""

    host: str
    port: int  # the first node's IMAP port
    password: str
    scale: Scale
    users: dict[str, str]  # role ("big", "mix0", "push", ...) -> address
    mailboxes: dict[str, str]  # size label ("10k", "100k") -> mailbox name of users["big"]
    seed: int = 1
    duration: float = 20.0  # seconds per timed load (device mix)
    server: Server | None = None
    lmtp_port: int | None = None
    https_port: int | None = None  # ActiveSync (Roost only)
    device_counts: tuple[int, ...] | None = None  # overrides the scale's 10 and 50
    drop_caches: bool = False
    notes: list[str] = field(default_factory=list)
    # Every node's IMAP port, when the server is several nodes on one store (Roost on
    # PostgreSQL); empty for one node (then `port`).
    ports: tuple[int, ...] = ()

    @property
    def nodes(self) -> int:
        return len(self.ports) or 1

    def node_port(self, node: int) -> int:
        """The IMAP port of node `node` (counted round the nodes: any int names one)."""
        return self.ports[node % len(self.ports)] if self.ports else self.port

    def user(self, role: str) -> str:
        return self.users.get(role) or self.users["default"]

    async def login(self, role: str, node: int = 0) -> ImapClient:
        return await ImapClient.login(
            self.host, self.node_port(node), self.user(role), self.password
        )


Run = Callable[[Context, int], Awaitable[list[Figure]]]


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    run: Run  # (context, repetition index) -> figures
    repeats: int | None = None  # None: as many as the run asks for


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def not_yet(keys: Sequence[tuple[str, str, Better]], why: str) -> list[Figure]:
    return [Figure(key, None, unit, better, note=why) for key, unit, better in keys]
