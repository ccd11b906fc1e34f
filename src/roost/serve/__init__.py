"""The server as processes: the supervisor of `roost serve` and the place of each worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roost.serve.bus import Link

__all__ = ["ALONE", "Place"]


@dataclass(frozen=True, slots=True)
class Place:
    """Which of the server's worker processes this one is (roost.serve.supervisor)."""

    index: int = 0
    count: int = 1
    # This worker's end of the messages between workers (roost.serve.bus); None alone.
    link: Link | None = field(default=None, compare=False)

    @property
    def primary(self) -> bool:
        """The worker that does what must be done once per server: the outbound queue, the
        store's upkeep, the LMTP socket."""
        return self.index == 0

    @property
    def shared(self) -> bool:
        """Whether other workers listen on the same ports (SO_REUSEPORT)."""
        return self.count > 1


ALONE = Place()
