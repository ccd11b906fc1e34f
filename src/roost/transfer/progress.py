"""Progress of a long command, as plain lines on stderr: a few per minute at most, so a
log or a terminal reads alike, and nothing to depend on."""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress"]

INTERVAL = 2.0  # seconds between lines


class Progress:
    """Counts units of work (`advance`) and reports now and then: "import: 1200/5000
    messages (310/s)". `done` prints the final line whatever the interval. Without a
    stream it only counts."""

    __slots__ = ("_clock", "_last", "_start", "count", "octets", "stream", "task", "total", "unit")

    def __init__(
        self, stream: TextIO | None, task: str, *, total: int | None = None, unit: str = "messages"
    ) -> None:
        self.stream = stream
        self.task = task
        self.total = total
        self.unit = unit
        self.count = 0
        self.octets = 0
        self._clock = time.monotonic
        self._start = self._last = self._clock()

    def advance(self, count: int = 1, octets: int = 0) -> None:
        self.count += count
        self.octets += octets
        now = self._clock()
        if now - self._last >= INTERVAL:
            self._last = now
            self._report(now)

    def elapsed(self) -> float:
        return self._clock() - self._start

    def rate(self) -> float:
        return self.count / max(self.elapsed(), 1e-6)

    def done(self, note: str = "") -> None:
        self._report(self._clock(), note)

    def _report(self, now: float, note: str = "") -> None:
        of = "" if self.total is None else f"/{self.total}"
        elapsed = max(now - self._start, 1e-6)
        size = f", {self.octets / 1e6:.1f} MB" if self.octets else ""
        if self.stream is None:
            return
        line = f"{self.task}: {self.count}{of} {self.unit}{size} ({self.count / elapsed:.0f}/s)"
        print(line + (f" {note}" if note else ""), file=self.stream, flush=True)
