"""LIST patterns (RFC 9051 §6.3.9): the linear-time matcher agrees with the definition."""

from __future__ import annotations

import re
import time

from hypothesis import given
from hypothesis import strategies as st

from roost.proto.imap.listpattern import ListPattern


def reference(pattern: str, name: str) -> bool:
    """The definition as a (backtracking) regular expression: only for short inputs."""
    if pattern[:5].upper() == "INBOX":
        pattern = "INBOX" + pattern[5:]
    body = "".join(".*" if ch == "*" else "[^/]*" if ch == "%" else re.escape(ch) for ch in pattern)
    return re.fullmatch(body, name, re.DOTALL) is not None


def test_star_matches_across_levels() -> None:
    p = ListPattern("Work/*")
    assert p.matches("Work/a")
    assert p.matches("Work/a/b")
    assert p.matches("Work/")
    assert not p.matches("Work")
    assert not p.matches("Play/a")


def test_percent_stays_on_one_level() -> None:
    p = ListPattern("Work/%")
    assert p.matches("Work/a")
    assert not p.matches("Work/a/b")
    assert ListPattern("%").matches("INBOX")
    assert not ListPattern("%").matches("a/b")


def test_literals_wildcards_in_the_middle_and_the_empty_pattern() -> None:
    assert ListPattern("a%c").matches("abbc")
    assert ListPattern("a%c").matches("ac")
    assert not ListPattern("a%c").matches("ab/c")
    assert ListPattern("a*c").matches("ab/c")
    assert ListPattern("").matches("")
    assert not ListPattern("").matches("a")


def test_inbox_prefix_is_case_insensitive() -> None:
    assert ListPattern("inbox").matches("INBOX")
    assert ListPattern("Inbox/%").matches("INBOX/Sub")
    assert not ListPattern("inbox").matches("inbox")  # the store's name is always INBOX


def test_many_wildcards_against_a_long_name_take_no_time() -> None:
    # Issue 9: "%*%*%*%*%*%*%*%*x" against a 30-character name held a regex engine for
    # minutes. The matcher's cost is linear in the name: a generous bound, far from minutes.
    pattern = ListPattern("%*" * 500 + "x")
    name = "a" * 30_000
    start = time.perf_counter()
    assert not pattern.matches(name)
    assert pattern.matches(name + "x")
    assert time.perf_counter() - start < 5


_CHARS = st.sampled_from("ab/*%")


@given(st.text(_CHARS, max_size=8), st.text(st.sampled_from("ab/"), max_size=8))
def test_agrees_with_the_definition(pattern: str, name: str) -> None:
    assert ListPattern(pattern).matches(name) == reference(pattern, name)


@given(st.text(max_size=12), st.text(max_size=12))
def test_arbitrary_text_agrees_with_the_definition(pattern: str, name: str) -> None:
    assert ListPattern(pattern).matches(name) == reference(pattern, name)
