"""Searches take turns (issue 9): four long searches at once hold one of the engine's
readers, never all of them, so every other read goes on meanwhile. Deterministic: the
searches are held inside the engine by a gate, not made slow with a big mailbox."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from roost.store.api import All, TextContains
from roost.store.engines.sqlite import SqliteStore
from roost.store.mail import messages as msgs
from roost.store.mail.store import SEARCH_LANES
from tests.store.contract import account_inbox, append, make

T = TypeVar("T")


class GatedEngine:
    """The real engine, with each search held at the gate until it opens."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.gate = threading.Event()
        self.inside = 0
        self.entered = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    async def run(self, work: Callable[[Any], T], **options: Any) -> T:
        if getattr(work, "func", None) is not msgs.search:
            return await self.engine.run(work, **options)

        def held(tx: Any) -> T:
            self.inside += 1
            self.loop.call_soon_threadsafe(self.entered.set)
            self.gate.wait(timeout=30)
            return work(tx)

        return await self.engine.run(held, **options)


def test_four_searches_leave_the_other_reads_free(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SqliteStore.open(tmp_path / "data")
        try:
            _, inbox = await account_inbox(store)
            await append(store, inbox, make("Zebrafish", "stripes"))
            gated = GatedEngine(store._engine)
            store._engine = gated  # type: ignore[assignment]
            searches = [
                asyncio.create_task(store.search(inbox.id, TextContains("zebra"))) for _ in range(4)
            ]
            async with asyncio.timeout(5):
                await gated.entered.wait()
            # Reads of other sessions are answered while the searches wait or run.
            for _ in range(20):
                async with asyncio.timeout(5):
                    await store.get_mailbox(inbox.id)
                    await store.changes_since(inbox.id, 0)  # type: ignore[arg-type]
            assert gated.inside == SEARCH_LANES  # the others wait for their turn
            gated.gate.set()
            assert await asyncio.gather(*searches) == [[1]] * 4
            assert await store.search(inbox.id, All()) == [1]
        finally:
            await store.close()

    asyncio.run(main())
