"""Parsing SORT, THREAD (RFC 5256), ESORT and PARTIAL return options (RFC 5267, RFC 9394),
the UID FETCH PARTIAL modifier (RFC 9394 §3.3) and the WITHIN keys (RFC 5032): whole, byte
by byte and with trailing data (parse_one), and what is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.imap import commands as c
from roost.proto.imap.receiver import BadCommand
from roost.proto.imap.searchkeys import partial_page
from roost.proto.imap.seqset import SeqSet
from tests.proto.test_imap_receiver import events, parse_one

ALL = c.AllKey()
SEEN = c.FlagKey(flag="\\Seen", present=True)


def crit(key: str, reverse: bool = False) -> c.SortCriterion:
    return c.SortCriterion(key=key, reverse=reverse)


CASES: list[tuple[bytes, c.Command]] = [
    (
        b"a SORT (SUBJECT) UTF-8 ALL\r\n",
        c.Sort(tag="a", uid=False, criteria=(crit("SUBJECT"),), charset="UTF-8", key=ALL),
    ),
    (
        b"a uid sort (reverse arrival Cc DATE FROM SIZE TO DISPLAYFROM DISPLAYTO) us-ascii "
        b"SEEN ALL\r\n",
        c.Sort(
            tag="a",
            uid=True,
            criteria=(
                crit("ARRIVAL", reverse=True),
                *(crit(k) for k in "CC DATE FROM SIZE TO DISPLAYFROM DISPLAYTO".split()),
            ),
            charset="US-ASCII",
            key=c.AndKey(keys=(SEEN, ALL)),
        ),
    ),
    (
        b"a SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL\r\n",
        c.Sort(
            tag="a",
            uid=False,
            criteria=(crit("DATE"),),
            charset="UTF-8",
            key=ALL,
            returns=("MIN", "MAX", "COUNT", "ALL"),
        ),
    ),
    (
        b"a UID SORT RETURN (PARTIAL -1:-100 COUNT) (DATE) UTF-8 ALL\r\n",
        c.Sort(
            tag="a",
            uid=True,
            criteria=(crit("DATE"),),
            charset="UTF-8",
            key=ALL,
            returns=("PARTIAL", "COUNT"),
            partial=(-1, -100),
        ),
    ),
    (
        b"a THREAD REFERENCES UTF-8 SEEN\r\n",
        c.Thread(tag="a", uid=False, algorithm="REFERENCES", charset="UTF-8", key=SEEN),
    ),
    (
        b'a UID THREAD orderedsubject "US-ASCII" 1:5\r\n',
        c.Thread(
            tag="a",
            uid=True,
            algorithm="ORDEREDSUBJECT",
            charset="US-ASCII",
            key=c.SeqKey(seqset=SeqSet.parse(b"1:5")),
        ),
    ),
    (
        b"a UID SEARCH RETURN (PARTIAL 500:401 MIN) UNDELETED\r\n",
        c.Search(
            tag="a",
            uid=True,
            charset=None,
            key=c.FlagKey(flag="\\Deleted", present=False),
            returns=("PARTIAL", "MIN"),
            partial=(500, 401),
        ),
    ),
    (
        b"a SEARCH YOUNGER 3600 NOT OLDER 60\r\n",
        c.Search(
            tag="a",
            uid=False,
            charset=None,
            key=c.AndKey(
                keys=(
                    c.AgeKey(younger=True, seconds=3600),
                    c.NotKey(key=c.AgeKey(younger=False, seconds=60)),
                ),
            ),
        ),
    ),
    (
        b"a UID FETCH 1:* (FLAGS) (PARTIAL -1:-3 CHANGEDSINCE 5)\r\n",
        c.Fetch(
            tag="a",
            uid=True,
            seqset=SeqSet.parse(b"1:*"),
            items=("UID", "FLAGS", "MODSEQ"),
            changedsince=5,
            partial=(-1, -3),
        ),
    ),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_parses(line: bytes, expected: c.Command) -> None:
    assert parse_one(line) == expected


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"a SORT (SUBJECT) ALL\r\n", "needs a charset"),  # the charset is mandatory
        (b"a SORT SUBJECT UTF-8 ALL\r\n", "("),
        (b"a SORT () UTF-8 ALL\r\n", "at least one sort key"),
        (b"a SORT (COLOUR) UTF-8 ALL\r\n", "unknown sort key"),
        (b"a SORT (REVERSE) UTF-8 ALL\r\n", "unknown sort key"),
        (b"a SORT (DATE) UTF-8\r\n", "needs a charset, then search keys"),
        (b"a SORT RETURN (SAVE) (DATE) UTF-8 ALL\r\n", "unknown SORT return option"),
        (b"a THREAD FANCY UTF-8 ALL\r\n", "unsupported threading algorithm"),
        (b"a THREAD REFERENCES ALL\r\n", "needs a charset"),
        (b"a SEARCH RETURN (PARTIAL 1:5 ALL) ALL\r\n", "PARTIAL and ALL"),
        (b"a SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL\r\n", "PARTIAL and ALL"),
        (b"a SEARCH RETURN (PARTIAL) ALL\r\n", "space"),
        (b"a SEARCH RETURN (PARTIAL 0:5) ALL\r\n", "out of range"),
        (b"a SEARCH RETURN (PARTIAL 1:*) ALL\r\n", "number"),
        (b"a SEARCH RETURN (PARTIAL -1:5) ALL\r\n", "negative"),
        (b"a SEARCH RETURN (PARTIAL 1:-5) ALL\r\n", "number"),
        (b"a SEARCH RETURN (PARTIAL 5) ALL\r\n", ":"),
        (b"a SEARCH RETURN (PARTIAL 1:4294967296) ALL\r\n", "out of range"),
        (b"a SEARCH YOUNGER 0\r\n", "out of range"),
        (b"a SEARCH OLDER\r\n", "space"),
        (b"a FETCH 1:* (FLAGS) (PARTIAL 1:10)\r\n", "UID FETCH modifier"),
        (b"a UID FETCH 1:* (FLAGS) (PARTIAL 1:0)\r\n", "out of range"),
    ],
)
def test_refused_with_a_reason(line: bytes, fragment: str) -> None:
    [event] = events(line)
    assert isinstance(event, BadCommand)
    assert event.tag == "a"
    assert fragment in event.text


ranges = st.tuples(st.integers(1, 40), st.integers(1, 40), st.booleans())


@given(ranges)
def test_partial_range_round_trip(spec: tuple[int, int, bool]) -> None:
    first, last, negative = spec
    text = f"-{first}:-{last}" if negative else f"{first}:{last}"
    command = parse_one(f"a SEARCH RETURN (PARTIAL {text}) ALL\r\n".encode())
    assert isinstance(command, c.Search)
    sign = -1 if negative else 1
    assert command.partial == (sign * first, sign * last)


@given(st.lists(st.integers(), max_size=30), ranges)
def test_partial_page_is_the_slice_the_rfc_describes(
    results: list[int], spec: tuple[int, int, bool]
) -> None:
    first, last, negative = spec
    low, high = min(first, last), max(first, last)
    page = partial_page(results, (-first, -last) if negative else (first, last))
    positions = range(1, len(results) + 1)
    # position p (1-based) is in the page iff it is in the range, counted from the start
    # or, negative, from the end (-1 the last)
    wanted = [
        results[p - 1]
        for p in positions
        if low <= (len(results) - p + 1 if negative else p) <= high
    ]
    assert page == wanted


_SORT_KEYS = sorted("ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO".split())


@given(
    st.lists(st.tuples(st.booleans(), st.sampled_from(_SORT_KEYS)), min_size=1, max_size=6),
    st.booleans(),
    st.sampled_from(["UTF-8", "US-ASCII"]),
)
def test_sort_criteria_round_trip(
    criteria: list[tuple[bool, str]], uid: bool, charset: str
) -> None:
    text = " ".join(("REVERSE " if reverse else "") + key for reverse, key in criteria)
    line = f"a {'UID ' if uid else ''}SORT ({text}) {charset} ALL\r\n".encode()
    assert parse_one(line) == c.Sort(
        tag="a",
        uid=uid,
        criteria=tuple(crit(key, reverse) for reverse, key in criteria),
        charset=charset,
        key=ALL,
    )
