"""How flags are stored and compared.

A message's flags are stored as a bitmask of the system flags (in SYSTEM_FLAGS order) plus
its keywords as given, space-separated; keywords compare case-insensitively (RFC 9051
§2.3.2), and a keyword keeps the spelling it was first stored with.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from roost.model import DELETED, SEEN, SYSTEM_FLAGS
from roost.store.api import FlagMode, MessageFlags
from roost.store.engines.api import Row

__all__ = ["BIT_DELETED", "BIT_SEEN", "FLAG_COLUMNS", "Flags", "message_flags", "stored_flags"]

_SYSTEM_BITS = {flag.casefold(): 1 << i for i, flag in enumerate(SYSTEM_FLAGS)}
BIT_SEEN = _SYSTEM_BITS[SEEN.casefold()]
BIT_DELETED = _SYSTEM_BITS[DELETED.casefold()]


@dataclass(frozen=True, slots=True)
class Flags:
    bits: int = 0
    keywords: tuple[str, ...] = ()  # unique case-insensitively, sorted by casefold

    @classmethod
    def parse(cls, flags: frozenset[str] | set[str]) -> Flags:
        bits = 0
        keywords: dict[str, str] = {}
        for flag in flags:
            folded = flag.casefold()
            if flag.startswith("\\") and folded in _SYSTEM_BITS:
                bits |= _SYSTEM_BITS[folded]
                continue
            if not flag or any(c.isspace() for c in flag):
                # The protocol layers only pass atoms; anything else is a bug upstream.
                raise ValueError(f"invalid keyword {flag!r}")
            keywords.setdefault(folded, flag)
        return cls(bits, tuple(keywords[k] for k in sorted(keywords)))

    @classmethod
    def load(cls, bits: int, keywords: str) -> Flags:
        return cls(bits, tuple(keywords.split()))

    def dump(self) -> str:
        return " ".join(self.keywords)

    def as_set(self) -> frozenset[str]:
        system = (flag for flag in SYSTEM_FLAGS if self.bits & _SYSTEM_BITS[flag.casefold()])
        return frozenset((*system, *self.keywords))

    def _folded(self) -> frozenset[str]:
        return frozenset(k.casefold() for k in self.keywords)

    def same(self, other: Flags) -> bool:
        return self.bits == other.bits and self._folded() == other._folded()

    def apply(self, mode: FlagMode, other: Flags) -> Flags:
        if mode is FlagMode.ADD:
            mine = self._folded()
            extra = tuple(k for k in other.keywords if k.casefold() not in mine)
            merged = sorted((*self.keywords, *extra), key=str.casefold)
            return Flags(self.bits | other.bits, tuple(merged))
        if mode is FlagMode.REMOVE:
            gone = other._folded()
            kept = tuple(k for k in self.keywords if k.casefold() not in gone)
            return Flags(self.bits & ~other.bits, kept)
        # REPLACE: equal sets keep their stored spelling, so nothing counts as a change.
        return self if self.same(other) else other


# The columns message_flags reads, in its order.
FLAG_COLUMNS = "uid, modseq, system_flags, keywords"


@lru_cache(maxsize=1024)
def stored_flags(bits: int, keywords: str) -> frozenset[str]:
    """The flag set of stored columns. Cached: a mailbox has few distinct combinations, and
    decoding them per row dominated FETCH of many messages."""
    return Flags.load(bits, keywords).as_set()


def message_flags(row: Row) -> MessageFlags:
    """(uid, modseq, system_flags, keywords, ...) -> MessageFlags."""
    return MessageFlags(uid=row[0], modseq=row[1], flags=stored_flags(row[2], row[3]))
