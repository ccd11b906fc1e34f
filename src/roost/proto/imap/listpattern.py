"""LIST/LSUB mailbox patterns (RFC 9051 §6.3.9), matched in linear time.

Theory of operation
-------------------
A pattern is literal characters and two wildcards: "*" matches any run of characters,
"%" any run without the hierarchy delimiter. Translated into a backtracking regular
expression, a pattern such as "%*%*%*%*x" takes time exponential in its wildcards, so
one LIST could hold a CPU for minutes. Instead the pattern is a small NFA simulated with
a bit set: bit i set means "the first i pattern characters are matched". Each name
character costs a few integer operations on that set (wide as the pattern), whatever the
wildcards, so a match costs O(len(name) x len(pattern) / word size) at worst.

Runs of wildcards collapse first ("%*" matches what "*" does, "%%" what "%" does), so
no two wildcards are adjacent and the empty-match closure is a single shift.
"""

from __future__ import annotations

__all__ = ["ListPattern"]

DELIMITER = "/"


def _collapse(pattern: str) -> str:
    out: list[str] = []
    for ch in pattern:
        if ch in "*%" and out and out[-1] in "*%":
            if ch == "*":
                out[-1] = "*"
            continue
        out.append(ch)
    return "".join(out)


class ListPattern:
    """One pattern, compiled once; `matches(name)` in time linear in the name."""

    __slots__ = ("_accept", "_any", "_literal", "_local", "_wild")

    def __init__(self, pattern: str) -> None:
        # RFC 9051 §5.1: INBOX is case-insensitive, also as the start of a pattern.
        if pattern[:5].upper() == "INBOX":
            pattern = "INBOX" + pattern[5:]
        pattern = _collapse(pattern)
        self._any = 0  # positions holding "*"
        self._local = 0  # positions holding "%"
        self._literal: dict[str, int] = {}  # character -> positions holding it
        for i, ch in enumerate(pattern):
            if ch == "*":
                self._any |= 1 << i
            elif ch == "%":
                self._local |= 1 << i
            else:
                self._literal[ch] = self._literal.get(ch, 0) | (1 << i)
        self._wild = self._any | self._local
        self._accept = 1 << len(pattern)

    def _closure(self, states: int) -> int:
        # A wildcard also matches nothing; after collapsing, never two in a row.
        return states | ((states & self._wild) << 1)

    def matches(self, name: str) -> bool:
        states = self._closure(1)
        for ch in name:
            stay = states & (self._any if ch == DELIMITER else self._wild)
            advance = (states & self._literal.get(ch, 0)) << 1
            states = self._closure(stay | advance)
            if not states:
                return False
        return bool(states & self._accept)
