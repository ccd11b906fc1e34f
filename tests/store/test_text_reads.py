"""Reads that match messages' texts take turns (roost.store.mail.store.TEXT_READS): while
one runs, the others wait, and every other read goes on at once (issue 9: four heavy
searches in parallel stalled another user's reads for 10 s)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from roost.errors import MailError, MailErrorKind
from roost.store.api import (
    And,
    BodyContains,
    HasFlag,
    HeaderContains,
    Not,
    Or,
    SizeLarger,
    TextContains,
    reads_text,
)
from roost.store.engines.sqlite import SqliteStore
from roost.store.mail import messages as msgs
from tests.store.contract import OpenStore, account_inbox, append, make


def test_which_queries_read_texts() -> None:
    assert reads_text(TextContains("x")) and reads_text(Not(BodyContains("x")))
    assert reads_text(And((HasFlag("\\Seen"), Or((SizeLarger(5), HeaderContains("a", "b"))))))
    assert not reads_text(And((HasFlag("\\Seen"), Not(SizeLarger(5)))))
    deep: Any = TextContains("x")
    for _ in range(5_000):  # no recursion limit
        deep = Not(deep)
    assert reads_text(deep)


def test_text_searches_take_turns_and_other_reads_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    running: list[int] = []
    real_search = msgs.search

    def slow_search(*args: Any, **kwargs: Any) -> Any:
        running.append(1)
        release.wait(10)
        return real_search(*args, **kwargs)

    async def main() -> None:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            uids = await append(store, inbox, make("Zebra", "stripes"), make("Other", "none"))
            monkeypatch.setattr(msgs, "search", slow_search)
            first = asyncio.create_task(store.search(inbox.id, TextContains("stripes")))
            for _ in range(500):  # until the first search is in the engine
                if running:
                    break
                await asyncio.sleep(0.01)
            others = [
                asyncio.create_task(store.search(inbox.id, BodyContains("stripes")))
                for _ in range(3)
            ]
            await asyncio.sleep(0.2)
            assert len(running) == 1  # the other text searches wait their turn...
            status = await asyncio.wait_for(store.status(inbox.id), 2)  # ...reads do not
            assert status.messages == 2
            # A search without text runs beside the text search.
            flagged = store.search(inbox.id, Not(HasFlag("\\Seen")))
            monkeypatch.setattr(msgs, "search", real_search)
            assert await asyncio.wait_for(flagged, 2) == uids
            monkeypatch.setattr(msgs, "search", slow_search)
            # The first caller gives up; its search still runs, and still holds the turn.
            first.cancel()
            await asyncio.sleep(0.2)
            assert len(running) == 1
            release.set()
            assert [await task for task in others] == [uids[:1]] * 3
            assert len(running) == 4
        finally:
            release.set()
            await store.close()

    asyncio.run(main())


def test_a_read_past_its_time_limit_is_stopped_on_every_engine(open_store: OpenStore) -> None:
    # What bounds a text search's turn: the engine stops the statement itself (SQLite's
    # progress handler, PostgreSQL's statement_timeout) and says LIMIT.
    endless = (
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) "
        "SELECT count(*) FROM c"
    )

    async def main() -> None:
        store = await open_store()
        engine = store._engine  # type: ignore[attr-defined]
        try:
            started = time.monotonic()
            with pytest.raises(MailError) as stopped:
                await engine.run(lambda tx: tx.one(endless), seconds=0.3)
            assert stopped.value.kind is MailErrorKind.LIMIT
            assert time.monotonic() - started < 5
            # The connection is fine afterwards, and reads without a limit are not limited.
            assert await engine.run(lambda tx: tx.one("SELECT 1")) == (1,)
        finally:
            await store.close()

    asyncio.run(main())
