"""Prometheus metrics (prometheus_client), on a registry passed in: never the global one.

The HTTP layer serves them at /metrics (roost.http.app). Counters and histograms move as
events happen (roost.sessions, the delivery and submission paths); gauges that describe
the store (queue size and age, database size) are read when Prometheus scrapes
(`refresh`), so they cost nothing between scrapes.

Labels are bounded sets: protocol names, command names (the protocol's own verbs, a
closed set), results. Never an address or a peer: those belong in the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from roost.store.api import QueueEntry

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Command latencies: most answer in well under a millisecond; a big FETCH or SEARCH in
# seconds.
_COMMAND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_PUSH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)


class Metrics:
    """Every Roost metric, registered on `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.connections = Counter(
            "roost_connections", "Connections accepted", ["protocol"], registry=r
        )
        self.sessions = Gauge("roost_sessions", "Connections open now", ["protocol"], registry=r)
        self.commands = Histogram(
            "roost_command_seconds",
            "Time to answer a command, by command",
            ["protocol", "command"],
            buckets=_COMMAND_BUCKETS,
            registry=r,
        )
        self.logins = Counter(
            "roost_logins", "Login attempts by result", ["protocol", "result"], registry=r
        )
        self.deliveries = Counter(
            "roost_deliveries",
            "Deliveries into a local mailbox, by result",
            ["protocol", "result"],
            registry=r,
        )
        self.submissions = Counter(
            "roost_submissions", "Messages submitted, by result", ["result"], registry=r
        )
        self.relays = Counter(
            "roost_relay_attempts",
            "Outbound relay attempts per recipient, by result",
            ["result"],
            registry=r,
        )
        self.tls_failures = Counter(
            "roost_tls_handshake_failures", "Failed TLS handshakes", ["protocol"], registry=r
        )
        self.push = Histogram(
            "roost_push_seconds",
            "From a change hint to its untagged responses written to an idling client",
            buckets=_PUSH_BUCKETS,
            registry=r,
        )
        self.queue_size = Gauge(
            "roost_queue_entries", "Recipients waiting in the outbound queue", registry=r
        )
        self.queue_age = Gauge(
            "roost_queue_oldest_seconds", "Age of the oldest queued recipient", registry=r
        )
        self.store_bytes = Gauge(
            "roost_store_database_bytes",
            "Size of the SQLite database files (0 on PostgreSQL)",
            registry=r,
        )

    def refresh(self, queue: Sequence[QueueEntry], data_dir: Path | None) -> None:
        """Sets the gauges read at scrape time: the queue, and the database's size."""
        self.queue_size.set(len(queue))
        oldest = min((entry.created for entry in queue), default=None)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        self.queue_age.set(max(age, 0.0))
        self.store_bytes.set(_database_bytes(data_dir) if data_dir is not None else 0)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


def _database_bytes(data_dir: Path) -> int:
    total = 0
    for path in data_dir.glob("roost.db*"):
        try:
            total += path.stat().st_size
        except OSError:
            continue  # the WAL may vanish between glob and stat
    return total
