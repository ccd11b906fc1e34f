"""seqset.absent: the numbers a client knew that are no longer present (QRESYNC past the
tombstone floor, RFC 7162 §3.2.5.2), computed from ranges without walking their width."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from roost.proto.imap.seqset import absent, render_runs


def test_gaps_between_present_numbers() -> None:
    assert list(absent([2, 3, 7], [(1, 9)])) == [(1, 1), (4, 6), (8, 9)]
    assert list(absent([], [(5, 5)])) == [(5, 5)]
    assert list(absent([1, 2, 3], [(1, 3)])) == []
    assert render_runs(absent([2], [(1, 3), (2, 6)])) == b"1,3:6"


def test_a_huge_range_costs_only_its_present_numbers() -> None:
    present = list(range(1, 1000, 2))
    gaps = list(absent(present, [(1, 4_000_000_000)]))
    assert gaps[0] == (2, 2) and gaps[-1] == (1000, 4_000_000_000) and len(gaps) == 500


ranges = st.lists(st.tuples(st.integers(1, 60), st.integers(0, 20)), max_size=5).map(
    lambda pairs: [(lo, lo + width) for lo, width in pairs]
)


@given(st.sets(st.integers(1, 90)), ranges)
def test_agrees_with_the_definition(present: set[int], within: list[tuple[int, int]]) -> None:
    wanted = {n for lo, hi in within for n in range(lo, hi + 1)} - present
    got = [n for lo, hi in absent(sorted(present), within) for n in range(lo, hi + 1)]
    assert got == sorted(wanted)
