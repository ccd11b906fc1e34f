"""The Store contract for text search through the engine's TextIndex.

The index may only narrow: every search must give what the exact predicates give on a scan
of the mailbox (roost.store.messages.search with index=None), including the needles it
cannot index (shorter than a trigram), non-ASCII case folding, FTS query syntax inside a
needle, and text keys under NOT and OR or beside flags and dates. Part of the contract
suite of test_contract.py (its fixture and helpers, run once per engine).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import tempfile
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.model import MailboxId, Uid
from roost.store import messages as msgs
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
)
from roost.store.fts import FOLD_FUNCTION, Fts5TextIndex, casefold
from roost.store.mailstore import MailStore
from roost.store.query import SQL_FUNCTIONS, compile_search
from roost.store.sqlite import DATABASE, SqliteEngine, SqliteStore, connect
from tests.store.test_contract import (
    OpenStore,
    account_inbox,
    append,
    contract,
    make,
    migration_script,
    open_store,
)

__all__ = ["open_store"]  # the fixture, re-used from test_contract

JAN = datetime(2024, 1, 10, tzinfo=UTC)
MAR = datetime(2024, 3, 1, tzinfo=UTC)


async def scan(data_dir: Path, mailbox: MailboxId, query: Query) -> list[Uid]:
    """The reference: the same query with every text predicate scanning the mailbox."""
    engine = await SqliteEngine.open(data_dir / DATABASE)
    try:
        return await engine.run(partial(msgs.search, mailbox=mailbox, query=query, index=None))
    finally:
        await engine.close()


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


def test_text_search_equals_the_scan(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            inbox = await text_fixture(store)
        finally:
            await store.close()
        for query, expected in TEXT_SEARCHES:
            assert await scan(tmp_path, inbox, query) == expected, query

    asyncio.run(main())


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


# ----- the SQLite engine ----------------------------------------------------------------


def _documents(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / DATABASE) as conn:
        count: int = conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]
    conn.close()
    return count


def test_sqlite_collect_drops_unreferenced_documents(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            uids = await append(store, inbox, make("Keep", "kept"), make("Drop", "dropped"))
            assert _documents(tmp_path) == 2
            await store.store_flags(inbox.id, uids[1:], FlagMode.ADD, frozenset({"\\Deleted"}))
            await store.expunge(inbox.id)
            await store.collect_blobs(grace_seconds=0)
            assert _documents(tmp_path) == 1
            assert await store.search(inbox.id, TextContains("kept")) == uids[:1]
        finally:
            await store.close()

    asyncio.run(main())


def test_sqlite_migration_indexes_existing_mail(tmp_path: Path) -> None:
    async def deliver() -> MailboxId:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            await append(store, inbox, make("Straße", "zebrafish"), make("Other", "nothing"))
            return inbox.id
        finally:
            await store.close()

    async def search(inbox: MailboxId) -> list[Uid]:
        store = await SqliteStore.open(tmp_path)
        try:
            return await store.search(inbox, And((TextContains("ZEBRA"), TextContains("ss"))))
        finally:
            await store.close()

    inbox = asyncio.run(deliver())
    with sqlite3.connect(tmp_path / DATABASE) as conn:  # as before the index, then its migration
        conn.executescript("DROP TABLE search_text; DROP TABLE search_docs;")
        conn.create_function(FOLD_FUNCTION, 1, casefold, deterministic=True)
        conn.executescript(migration_script("search"))
    conn.close()
    assert asyncio.run(search(inbox)) == [1]
    assert _documents(tmp_path) == 2


def test_sqlite_search_starts_from_the_index_hits(tmp_path: Path) -> None:
    # Cost follows the matches: a positive text key drives the statement through the FTS
    # table and messages_blob, never a scan of the mailbox; the others probe the hits once.
    asyncio.run(asyncio.run(SqliteStore.open(tmp_path)).close())
    index = Fts5TextIndex()
    conn = connect(tmp_path / DATABASE)
    try:
        for query in (
            TextContains("zebrafish"),
            And((Not(HasFlag("\\Seen")), HeaderContains("from", "alice"))),
        ):
            sql, params = compile_search(query, MailboxId(1), index)
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            assert plan[0].startswith("SCAN search_text VIRTUAL TABLE"), plan
            assert any("messages USING INDEX messages_blob (blob_id=?)" in p for p in plan), plan
            assert not any("mailbox_id=?" in p for p in plan), plan
        either = Or((TextContains("zebrafish"), BodyContains("stripes")))
        sql, params = compile_search(And((either, Not(HasFlag("\\Seen")))), MailboxId(1), index)
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert "COMPOUND QUERY" in plan and "SCAN hits" in plan, plan
        assert any("messages USING INDEX messages_blob (blob_id=?)" in p for p in plan), plan
        sql, params = compile_search(Not(TextContains("zebrafish")), MailboxId(1), index)
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert any(p.startswith("LIST SUBQUERY") for p in plan), plan
    finally:
        conn.close()


def test_sqlite_exact_predicates_run_on_candidates_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for name, (arity, function) in list(SQL_FUNCTIONS.items()):

        def counted(*args: object, name: str = name, function: Any = function) -> bool:
            calls.append(name)
            return bool(function(*args))

        monkeypatch.setitem(SQL_FUNCTIONS, name, (arity, counted))

    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            messages = [make(f"Note {n}", "nothing to see") for n in range(40)]
            messages[7] = make("Zebrafish", "stripes")
            messages[30] = make("Other", "a zebrafish again")
            await append(store, inbox, *messages)
            for query, expected in (
                (TextContains("zebrafish"), [8, 31]),
                (Not(TextContains("zebrafish")), [n for n in range(1, 41) if n not in (8, 31)]),
                (Or((TextContains("ZEBRAFISH"), HasFlag("\\Seen"))), [8, 31]),
                (And((HeaderContains("subject", "note"), BodyContains("again"))), []),
            ):
                calls.clear()
                assert await store.search(inbox.id, query) == expected
                # At most two candidates, two functions each (and they do run).
                assert 1 <= len(calls) <= 4, (query, calls)
        finally:
            await store.close()

    asyncio.run(main())


# ----- property: the index agrees with the scan -----------------------------------------

# Few characters, chosen to collide: case pairs, ß/ss, dotted and dotless i, accents, the
# FTS5 query syntax and its words.
_ALPHABET = 'aAbsSßiIİ\u0131 éÉ"*-:^()'
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


def test_index_agrees_with_the_scan() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        store = asyncio.run(SqliteStore.open(data_dir))
        account = asyncio.run(store.create_account("prop@example.org", "hash"))
        boxes = iter(range(10**6))

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(corpus=_corpora, queries=st.lists(_queries, min_size=1, max_size=4))
        def check(corpus: list[tuple[str, str, bool]], queries: list[Query]) -> None:
            async def main() -> None:
                box = await store.create_mailbox(account.id, f"P{next(boxes)}")
                flags = [["\\Seen"] if seen else [] for _, _, seen in corpus]
                messages = [
                    make(subject, body, flags=flag)
                    for (subject, body, _), flag in zip(corpus, flags, strict=True)
                ]
                await store.append(box.id, messages)
                for query in queries:
                    assert await store.search(box.id, query) == await scan(
                        data_dir, box.id, query
                    ), query

            asyncio.run(main())

        try:
            check()
        finally:
            asyncio.run(store.close())


def test_a_needle_of_any_length_is_found(tmp_path: Path) -> None:
    # Boundaries of the trigram fallback: 0, 1, 2 characters scan; 3 and more use the index.
    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            await append(store, inbox, make("x", "abcdef"), make("y", "zzz"))
            for size in range(7):
                needle = "ABCDEF"[:size]
                expected = [1, 2] if size == 0 else [1]
                assert await store.search(inbox.id, BodyContains(needle)) == expected
        finally:
            await store.close()

    asyncio.run(main())
