"""THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3) and the THREAD response."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from roost.proto.imap.threading import (
    Thread,
    ThreadMessage,
    ordered_subject,
    references,
    render_threads,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def msg(
    number: int,
    subject: str = "",
    *,
    day: int | None = None,
    mid: str | None = None,
    refs: str = "",
    reply: bool = False,
) -> ThreadMessage:
    return ThreadMessage(
        number=number,
        sent=T0 + timedelta(days=number if day is None else day),
        subject=subject,
        reply=reply,
        message_id=mid if mid is not None else f"m{number}",
        references=tuple(refs.split()),
    )


def threaded(*messages: ThreadMessage) -> str:
    return render_threads(references(list(messages))).decode()


def test_render_chains_branches_and_dummies() -> None:
    assert render_threads([]) == b"THREAD"
    chain = Thread(1, [Thread(2, [Thread(3)])])
    branch = Thread(4, [Thread(5), Thread(6, [Thread(7)])])
    dummy = Thread(None, [Thread(8), Thread(9)])
    assert render_threads([chain, branch, dummy]) == b"THREAD (1 2 3)(4 (5)(6 7))((8)(9))"


def test_deep_chains_need_no_recursion() -> None:
    depth = 5000
    chain = [msg(1)] + [msg(n, refs=f"m{n - 1}") for n in range(2, depth + 1)]
    rendered = threaded(*chain)
    assert rendered == "THREAD (" + " ".join(str(n) for n in range(1, depth + 1)) + ")"


def test_references_link_parents_and_children() -> None:
    assert threaded(msg(1), msg(2, refs="m1"), msg(3, refs="m1 m2")) == "THREAD (1 2 3)"
    assert threaded(msg(1), msg(2, refs="m1"), msg(3, refs="m1")) == "THREAD (1 (2)(3))"
    # In-Reply-To alone was reduced to one reference at delivery; a truncated References
    # is overridden by the message's own last reference (step 1.B)
    assert threaded(msg(1), msg(2), msg(3, refs="m1 m2")) == "THREAD (1 2 3)"


def test_missing_parents_become_dummies_then_are_pruned() -> None:
    # step 3: a dummy with one child at the top is replaced by that child
    assert threaded(msg(2, refs="gone")) == "THREAD (2)"
    # ... with two it stays, holding both
    assert threaded(msg(2, refs="gone"), msg(3, refs="gone")) == "THREAD ((2)(3))"
    # below the top a dummy's children always move up to its place
    assert threaded(msg(1), msg(2, refs="m1 gone"), msg(3, refs="m1 gone")) == ("THREAD (1 (2)(3))")


def test_threads_and_siblings_sort_by_sent_date() -> None:
    messages = [
        msg(1, "a", day=5),
        msg(2, "b", day=1),
        msg(3, day=9, refs="m2"),
        msg(4, day=3, refs="m2"),
    ]
    assert threaded(*messages) == "THREAD (2 (4)(3))(1)"
    # equal dates: mailbox order
    assert threaded(msg(1, "a", day=1), msg(2, "b", day=1)) == "THREAD (1)(2)"


def test_subjects_gather_threads() -> None:
    # step 5: a reply with the same base subject goes under the original
    assert threaded(msg(1, "lunch"), msg(2, "lunch", reply=True)) == "THREAD (1 2)"
    # the original wins the subject table even when it comes second
    assert threaded(msg(1, "lunch", reply=True), msg(2, "lunch")) == "THREAD (2 1)"
    # two originals: a new dummy holds both
    assert threaded(msg(1, "lunch"), msg(2, "lunch")) == "THREAD ((1)(2))"
    # a dummy already holding the subject takes the others
    messages = [msg(1, "x", refs="gone"), msg(2, "x", refs="gone"), msg(3, "x")]
    assert threaded(*messages) == "THREAD ((1)(2)(3))"
    # empty subjects are never gathered
    assert threaded(msg(1), msg(2)) == "THREAD (1)(2)"


def test_loops_and_duplicate_ids_do_not_break_threading() -> None:
    assert threaded(msg(1, refs="m2"), msg(2, refs="m1")) in ("THREAD (1 2)", "THREAD (2 1)")
    assert threaded(msg(1, refs="m1")) == "THREAD (1)"
    # a second message with the same Message-ID gets an id of its own
    assert threaded(msg(1, mid="x"), msg(2, mid="x"), msg(3, refs="x")) == "THREAD (1 3)(2)"
    # no Message-ID at all: nothing can refer to it
    assert threaded(msg(1, mid=""), msg(2, mid="", refs="m1"), msg(3, refs="")) == (
        "THREAD (1)(2)(3)"
    )


def test_ordered_subject() -> None:
    messages = [
        msg(1, "lunch", day=3),
        msg(2, "report", day=1),
        msg(3, "lunch", day=2),
        msg(4, "lunch", day=4),
        msg(5, "report", day=5),
        msg(6, "zzz", day=0),
    ]
    # RFC 5256 §3: one thread per base subject, first (by date) message the parent of the
    # others; threads by their first message's date
    assert render_threads(ordered_subject(messages)) == b"THREAD (6)(2 5)(3 (1)(4))"


# --- properties -----------------------------------------------------------------------


_ids = st.sampled_from([f"m{n}" for n in range(1, 9)] + ["x", "y"])


@st.composite
def mailboxes(draw: st.DrawFn) -> list[ThreadMessage]:
    count = draw(st.integers(0, 12))
    return [
        ThreadMessage(
            number=n,
            sent=T0 + timedelta(hours=draw(st.integers(0, 5))),
            subject=draw(st.sampled_from(["", "a", "b"])),
            reply=draw(st.booleans()),
            message_id=draw(st.none() | _ids),
            references=tuple(draw(st.lists(_ids, max_size=4))),
        )
        for n in range(1, count + 1)
    ]


def _numbers(threads: list[Thread]) -> Iterator[int | None]:
    stack = list(threads)
    while stack:
        node = stack.pop()
        yield node.number
        stack.extend(node.children)


def _dummies_are_well_placed(threads: list[Thread]) -> bool:
    for top in threads:
        if top.number is None and len(top.children) < 2:
            return False
        stack = list(top.children)
        while stack:
            node = stack.pop()
            if node.number is None:
                return False  # RFC 5256 §3 (3): no dummy below the top after pruning
            stack.extend(node.children)
    return True


_THREAD_LINE = re.compile(r"THREAD( \(.*\))?")


@given(mailboxes())
def test_every_message_appears_exactly_once(messages: list[ThreadMessage]) -> None:
    for algorithm in (references, ordered_subject):
        threads = algorithm(messages)
        numbers = [n for n in _numbers(threads) if n is not None]
        assert sorted(numbers) == [m.number for m in messages]
        assert _dummies_are_well_placed(threads)
        rendered = render_threads(threads).decode()
        assert _THREAD_LINE.fullmatch(rendered)
        assert sorted(map(int, re.findall(r"\d+", rendered))) == sorted(numbers)
        assert rendered.count("(") == rendered.count(")")


@given(mailboxes())
def test_references_does_not_depend_on_input_order(messages: list[ThreadMessage]) -> None:
    assert references(messages) == references(list(reversed(messages)))
