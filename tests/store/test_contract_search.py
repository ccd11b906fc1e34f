"""The Store contract for text search through the engine's TextIndex.

The index may only narrow: every search must give what the exact predicates give on a scan
of the mailbox (roost.store.mail.messages.search with index=None), including the needles it
cannot index (shorter than a trigram), non-ASCII case folding, FTS query syntax inside a
needle, and text keys under NOT and OR or beside flags and dates. Part of the contract
suite of test_contract.py (its fixture and helpers, run once per engine).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.model import MailboxId, Uid
from roost.store.api import (
    And,
    BodyContains,
    DateBefore,
    DateField,
    FlagMode,
    HasFlag,
    HeaderContains,
    NewMessage,
    Not,
    Or,
    Query,
    Store,
    TextContains,
    UidIn,
)
from roost.store.mail import messages as msgs
from roost.store.mail.query_sql import has_keyword
from roost.store.mail.store import MailStore
from roost.store.mail.texts import contains, header_contains
from tests.store.contract import OpenStore, account_inbox, append, contract, make

JAN = datetime(2024, 1, 10, tzinfo=UTC)
MAR = datetime(2024, 3, 1, tzinfo=UTC)


async def scan(store: Store, mailbox: MailboxId, query: Query) -> list[Uid]:
    """The reference: the same query with every text predicate scanning the mailbox."""
    assert isinstance(store, MailStore)
    work = partial(msgs.search, mailbox=mailbox, query=query, index=None)
    return await store._engine.run(work)


async def text_fixture(store: Store) -> MailboxId:
    _, inbox = await account_inbox(store)
    await append(
        store,
        inbox,
        make("Straße nach İstanbul", "Crème brûlée à la carte", internaldate=JAN),
        make('Say "hi" * -x AND OR NOT', "NEAR(a b) col:umn ^start {x}", internaldate=MAR),
        make("Turkish \u0131 dotless", "plain ascii body", sent=MAR, flags=["\\Seen"]),
        make("Short", "ab", sender="zoë@example.org"),
    )
    return inbox.id


TEXT_SEARCHES: list[tuple[Query, list[int]]] = [
    # Python casefold: ß is "ss", İ is "i̇" (so "istanbul" is not in "İstanbul").
    (TextContains("STRASSE"), [1]),
    (TextContains("straße"), [1]),
    (HeaderContains("subject", "İSTANBUL"), [1]),
    (TextContains("istanbul"), []),
    (TextContains("CRÈME BRÛLÉE"), [1]),
    (TextContains("creme"), []),  # accents matter
    (BodyContains("BRÛLÉE À LA"), [1]),  # spaces are characters of trigrams too
    (TextContains("É"), [1]),  # one character: no trigram, the scan answers
    (TextContains("DOTLESS"), [3]),
    (And((TextContains("dotless"), TextContains("\u0131"))), [3]),
    (HeaderContains("from", "ZOË"), [4]),
    # FTS5 query syntax is plain text inside a needle.
    (TextContains('"hi"'), [2]),
    (TextContains('"'), [2]),
    (TextContains("* -x"), [2]),
    (TextContains("and or not"), [2]),
    (TextContains("NOT"), [2]),
    (TextContains("NEAR(a"), [2]),
    (TextContains("col:umn"), [2]),
    (TextContains("^st"), [2]),
    (TextContains("{x}"), [2]),
    (BodyContains("ab"), [4]),  # two characters
    (BodyContains("straße"), []),  # only in the subject
    (HeaderContains("subject", "carte"), []),  # only in the body
    # HEADER with an empty needle: every message with the field.
    (HeaderContains("date", ""), [3]),
    (HeaderContains("SUBJECT", ""), [1, 2, 3, 4]),
    (HeaderContains("to", ""), [1, 2, 3, 4]),
    (HeaderContains("x-missing", ""), []),
    (Not(TextContains("straße")), [2, 3, 4]),
    (Not(TextContains("ab")), [1, 2, 3]),
    (Or((TextContains("brûlée"), BodyContains("ascii"))), [1, 3]),
    (Or((TextContains("brûlée"), Not(HeaderContains("subject", "short")))), [1, 2, 3]),
    (And((TextContains("ascii"), HasFlag("\\Seen"))), [3]),
    (And((TextContains("ascii"), Not(HasFlag("\\Seen")))), []),
    (And((Not(HasFlag("\\Seen")), TextContains("example.org"))), [1, 2, 4]),
    (And((TextContains("crème"), DateBefore(DateField.INTERNAL, MAR))), [1]),
    (And((TextContains("crème"), Not(DateBefore(DateField.INTERNAL, MAR)))), []),
    (And((TextContains("example"), And((BodyContains("start"), TextContains("hi"))))), [2]),
]


@pytest.mark.parametrize(
    ("query", "expected"), TEXT_SEARCHES, ids=[repr(q) for q, _ in TEXT_SEARCHES]
)
def test_text_search(open_store: OpenStore, query: Query, expected: list[int]) -> None:
    async def body(store: Store) -> None:
        inbox = await text_fixture(store)
        assert await store.search(inbox, query) == expected

    contract(body)(open_store)


@contract
async def test_text_search_equals_the_scan(store: Store) -> None:
    inbox = await text_fixture(store)
    for query, expected in TEXT_SEARCHES:
        assert await scan(store, inbox, query) == expected, query


@contract
async def test_nul_and_long_needles(store: Store) -> None:
    # PostgreSQL's text cannot hold NUL; SQLite's LIKE refuses patterns over 50,000 bytes.
    _, inbox = await account_inbox(store)
    long = "zebrafish " * 6000
    await append(store, inbox, make("nul\x00here", "a\x00b " + long), make("Other", "ab"))
    assert await store.search(inbox.id, BodyContains("A\x00B")) == [1]
    assert await store.search(inbox.id, HeaderContains("subject", "L\x00H")) == [1]
    assert await store.search(inbox.id, BodyContains(long.upper())) == [1]
    assert await store.search(inbox.id, Not(BodyContains(long + "!"))) == [1, 2]
    # LIKE's wildcards are plain characters of a needle.
    assert await store.search(inbox.id, BodyContains("a%")) == []
    assert await store.search(inbox.id, BodyContains("_b")) == []


@contract
async def test_text_search_stays_in_the_mailbox(store: Store) -> None:
    alice, alice_inbox = await account_inbox(store, "alice@example.org")
    _, bob_inbox = await account_inbox(store, "bob@example.org")
    shared = make("Zebrafish", "the same blob in both accounts")
    _, alice_uid = await append(store, alice_inbox, make("Other", "nothing"), shared)
    await append(store, bob_inbox, shared, make("Zebrafish too", "bob only"))
    sent = await store.find_mailbox(alice.id, "Sent")
    await store.copy(alice_inbox.id, [alice_uid], sent.id)
    assert await store.search(alice_inbox.id, TextContains("zebrafish")) == [alice_uid]
    assert await store.search(bob_inbox.id, TextContains("zebrafish")) == [1, 2]
    assert await store.search(sent.id, TextContains("zebrafish")) == [1]
    assert await store.search(sent.id, Not(TextContains("zebrafish"))) == []


@contract
async def test_text_search_after_expunge_collect_and_redelivery(store: Store) -> None:
    assert isinstance(store, MailStore)  # collect_blobs is maintenance, not Store
    _, inbox = await account_inbox(store)
    message = make("Zebrafish", "stripes")
    [uid] = await append(store, inbox, message)
    await store.store_flags(inbox.id, [uid], FlagMode.ADD, frozenset({"\\Deleted"}))
    await store.expunge(inbox.id)
    assert await store.search(inbox.id, TextContains("stripes")) == []
    await store.collect_blobs(grace_seconds=0)
    [again] = await append(store, inbox, message)
    assert await store.search(inbox.id, TextContains("stripes")) == [again]


@contract
async def test_a_blob_is_searched_by_the_text_it_arrived_with(store: Store) -> None:
    # The search text belongs to the blob (DESIGN.md: computed once per blob at delivery):
    # the same bytes analysed again (by another Roost version, say) keep the first text.
    _, inbox = await account_inbox(store)
    first = make("Zebrafish", "stripes")
    parsed = dataclasses.replace(first.parsed, body_text="spots", headers_text="subject: other")
    second = NewMessage(data=first.data, parsed=parsed)
    uids = await append(store, inbox, first, second, first)
    assert await store.search(inbox.id, TextContains("stripes")) == uids
    assert await store.search(inbox.id, TextContains("spots")) == []
    assert await store.search(inbox.id, HeaderContains("subject", "other")) == []
    assert await store.search(inbox.id, Not(TextContains("zebra"))) == []


# ----- property: the index agrees with the scan -----------------------------------------

# Few characters, chosen to collide: case pairs, ß/ss, dotted and dotless i, accents, the
# FTS5 query syntax and its words, LIKE's wildcards and escape, NUL.
_ALPHABET = 'aAbsSßiIİ\u0131 éÉ"*-:^()%_\\\x00'
_WORDS = ["AND", "OR", "NOT", "NEAR", "ss", "straße", "ab", "é"]
_texts = st.lists(st.sampled_from(_WORDS) | st.text(_ALPHABET, max_size=6), max_size=6).map(
    " ".join
)
_needles = st.sampled_from(_WORDS) | st.text(_ALPHABET, max_size=5)
_leaf = st.one_of(
    st.builds(TextContains, text=_needles),
    st.builds(BodyContains, text=_needles),
    st.builds(HeaderContains, name=st.sampled_from(["subject", "from", "x"]), text=_needles),
    st.just(HasFlag("\\Seen")),
)
_queries = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.builds(Not, query=inner),
        st.builds(And, queries=st.lists(inner, max_size=3).map(tuple)),
        st.builds(Or, queries=st.lists(inner, max_size=3).map(tuple)),
    ),
    max_leaves=5,
)
_corpora = st.lists(st.tuples(_texts, _texts, st.booleans()), min_size=1, max_size=6)


def reference(corpus: list[tuple[str, str, bool]], query: Query) -> list[int]:
    """The uids (1, 2, ...) of corpus's messages that match query, by the meaning in Python."""
    return [uid for uid, message in enumerate(corpus, start=1) if _matches(message, query)]


def _matches(message: tuple[str, str, bool], query: Query) -> bool:
    subject, body, seen = message
    headers = make(subject, body).parsed.headers_text
    match query:
        case TextContains(text=text):
            return contains(headers, text) or contains(body, text)
        case BodyContains(text=text):
            return contains(body, text)
        case HeaderContains(name=name, text=text):
            return header_contains(headers, name, text)
        case HasFlag(flag=flag):
            return seen if flag == "\\Seen" else has_keyword("", flag)
        case Not(query=inner):
            return not _matches(message, inner)
        case And(queries=queries):
            return all(_matches(message, q) for q in queries)
        case Or(queries=queries):
            return any(_matches(message, q) for q in queries)
    raise AssertionError(query)


def test_index_agrees_with_the_scan_and_the_meaning(open_store: OpenStore) -> None:
    async def start() -> tuple[Store, MailboxId]:
        store = await open_store()
        account = await store.create_account("prop@example.org", "hash")
        return store, account.id

    loop = asyncio.new_event_loop()
    store, account = loop.run_until_complete(start())
    boxes = iter(range(10**6))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(corpus=_corpora, queries=st.lists(_queries, min_size=1, max_size=4))
    def check(corpus: list[tuple[str, str, bool]], queries: list[Query]) -> None:
        async def main() -> None:
            box = await store.create_mailbox(account, f"P{next(boxes)}")
            messages = [
                make(subject, body, flags=["\\Seen"] if seen else [])
                for subject, body, seen in corpus
            ]
            await store.append(box.id, messages)
            for query in queries:
                expected = reference(corpus, query)
                assert await store.search(box.id, query) == expected, query
                assert await scan(store, box.id, query) == expected, query

        loop.run_until_complete(main())

    try:
        check()
    finally:
        loop.run_until_complete(store.close())
        loop.close()


@contract
async def test_a_needle_of_any_length_is_found(store: Store) -> None:
    # Boundaries of the trigram fallback: 0, 1, 2 characters scan; 3 and more use the index.
    _, inbox = await account_inbox(store)
    await append(store, inbox, make("x", "abcdef"), make("y", "zzz"))
    for size in range(7):
        needle = "ABCDEF"[:size]
        expected = [1, 2] if size == 0 else [1]
        assert await store.search(inbox.id, BodyContains(needle)) == expected


@contract
async def test_queries_of_a_thousand_keys_and_twenty_thousand_ranges(store: Store) -> None:
    # Issue 9: SQLite refuses an expression deeper than 1,000 and more than 32,766
    # parameters; a query as large as a SEARCH may be is answered all the same.
    _, inbox = await account_inbox(store)
    await append(store, inbox, make("Zebrafish one", "stripes"), make("Other", "ab"))
    many = 1000
    unset = [Not(HasFlag(f"$k{i}")) for i in range(many)]
    assert await store.search(inbox.id, And((*unset, TextContains("zebra")))) == [1]
    assert await store.search(inbox.id, And((TextContains("zebra"),) * many)) == [1]
    flagged = [HasFlag(f"$k{i}") for i in range(many)]
    assert await store.search(inbox.id, Or((*flagged, BodyContains("ab")))) == [2]
    needles = [TextContains(f"needle {i}") for i in range(100)]
    assert await store.search(inbox.id, Or((*needles, TextContains("ab")))) == [2]
    ranges = tuple((uid, uid) for uid in range(2, 40_002, 2))
    assert await store.search(inbox.id, UidIn(ranges)) == [2]
    assert await store.search(inbox.id, Not(UidIn(ranges))) == [1]
    spans = tuple((uid, uid + 1) for uid in range(2, 10_002, 3))
    assert await store.search(inbox.id, UidIn(spans)) == [2]
