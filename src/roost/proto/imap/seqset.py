"""Sequence sets (RFC 9051 §9: sequence-set).

    seq-number   = nz-number / "*"
    seq-range    = seq-number ":" seq-number
    sequence-set = (seq-number / seq-range) ["," sequence-set]

`*` is kept symbolic (None) until the set is resolved against a mailbox, because it means
"the largest number in use" at the time of the command. A range is unordered: 4:2 is 2:4.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from roost.proto.errors import ProtocolError

_SET_RE = re.compile(rb"(?:\d+|\*)(?::(?:\d+|\*))?(?:,(?:\d+|\*)(?::(?:\d+|\*))?)*\Z")
MAX_NUMBER = 2**32 - 1


@dataclass(frozen=True, slots=True)
class SeqSet:
    ranges: tuple[tuple[int | None, int | None], ...]  # None is "*"
    saved: bool = False  # "$": the result saved by SEARCH RETURN (SAVE) (RFC 5182)

    @classmethod
    def parse(cls, raw: bytes) -> SeqSet:
        if raw == b"$":
            return cls((), saved=True)
        if not _SET_RE.match(raw):
            raise ProtocolError(f"invalid sequence set {raw[:40].decode('latin-1')!r}")
        ranges: list[tuple[int | None, int | None]] = []
        for item in raw.split(b","):
            lo, _, hi = item.partition(b":")
            first, last = _number(lo), _number(hi) if hi else _number(lo)
            ranges.append((first, last))
        return cls(tuple(ranges))

    def resolve(self, largest: int) -> list[tuple[int, int]]:
        """Ordered inclusive (lo, hi) ranges, "*" replaced by `largest` (0 if empty)."""
        out = []
        for first, last in self.ranges:
            a = largest if first is None else first
            b = largest if last is None else last
            out.append((a, b) if a <= b else (b, a))
        return out

    def contains(self, number: int, largest: int) -> bool:
        return any(lo <= number <= hi for lo, hi in self.resolve(largest))

    def render(self) -> bytes:
        if self.saved:
            return b"$"

        def one(n: int | None) -> str:
            return "*" if n is None else str(n)

        return ",".join(one(a) if a == b else f"{one(a)}:{one(b)}" for a, b in self.ranges).encode()


def _number(raw: bytes) -> int | None:
    if raw == b"*":
        return None
    n = int(raw)
    if not 0 < n <= MAX_NUMBER:
        raise ProtocolError("sequence numbers run from 1 to 4294967295")
    return n


def compress(numbers: Iterable[int]) -> bytes:
    """Ascending numbers as a compact set: [1,2,3,5] -> b"1:3,5" (empty -> b"")."""
    return render_runs(runs(numbers))


def absent(present: Sequence[int], within: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The runs of numbers inside the ascending inclusive ranges `within` that are not in
    `present` (ascending): what a client knew that no longer exists. Costs the ranges
    plus the present numbers, never the width of the ranges."""
    for lo, hi in _merged(within):
        start = bisect_left(present, lo)
        end = bisect_right(present, hi)
        cursor = lo
        for number in present[start:end]:
            if number > cursor:
                yield cursor, number - 1
            cursor = number + 1
        if cursor <= hi:
            yield cursor, hi


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def clip(ranges: Iterable[tuple[int, int]], top: int) -> list[tuple[int, int]]:
    """The ranges cut to 1..top (UIDs a mailbox has handed out: below UIDNEXT)."""
    return [(lo, min(hi, top)) for lo, hi in ranges if lo <= top]


def render_runs(pairs: Iterable[tuple[int, int]]) -> bytes:
    """(first, last) runs as a set: [(1, 3), (5, 5)] -> b"1:3,5"."""
    return b",".join(str(a).encode() if a == b else f"{a}:{b}".encode() for a, b in pairs)


def runs(numbers: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Consecutive runs of ascending numbers as (first, last) pairs."""
    start = prev = None
    for n in numbers:
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None and prev is not None:
            yield start, prev
        start = prev = n
    if start is not None and prev is not None:
        yield start, prev
