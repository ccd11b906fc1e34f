"""roost.spool: the server-wide budget of message bytes in memory, and spool files."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from roost.errors import MailErrorKind
from roost.spool import BudgetExhausted, MemoryBudget, SpoolFiles, message_spool, read_back


def test_holders_past_the_limit_wait_their_turn_in_order() -> None:
    async def main() -> list[str]:
        budget = MemoryBudget(100, wait=5)
        order: list[str] = []
        release = asyncio.Event()

        async def holder(name: str, size: int) -> None:
            async with budget.hold(size):
                order.append(name)
                await release.wait()

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(holder("first", 80))
            await asyncio.sleep(0)
            tasks.create_task(holder("big", 50))  # 130 > 100: waits
            await asyncio.sleep(0)
            tasks.create_task(holder("small", 10))  # would fit, but does not jump the queue
            for _ in range(5):
                await asyncio.sleep(0)
            assert order == ["first"] and budget.used == 80
            release.set()
        assert budget.used == 0
        return order

    assert asyncio.run(main()) == ["first", "big", "small"]


def test_no_room_in_time_is_a_temporary_failure_and_leaks_nothing() -> None:
    async def main() -> None:
        budget = MemoryBudget(100, wait=0.05)
        async with budget.hold(100):
            with pytest.raises(BudgetExhausted) as caught:
                async with budget.hold(1):
                    pytest.fail("got room that was not there")
            assert caught.value.kind is MailErrorKind.LIMIT
            assert budget.used == 100
        assert budget.used == 0
        async with budget.hold(100):  # and the next one gets it all
            assert budget.used == 100

    asyncio.run(main())


def test_a_message_larger_than_the_budget_goes_through_alone() -> None:
    async def main() -> None:
        budget = MemoryBudget(100, wait=0.05)
        async with budget.hold(10_000):
            assert budget.used == 100
        assert budget.used == 0

    asyncio.run(main())


def test_a_cancelled_waiter_gives_its_place_back() -> None:
    async def main() -> None:
        budget = MemoryBudget(100, wait=5)
        async with budget.hold(90):
            waiting = asyncio.create_task(budget.hold(50).__aenter__())
            await asyncio.sleep(0.01)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        assert budget.used == 0
        async with budget.hold(100):
            pass

    asyncio.run(main())


def test_spool_files_live_in_the_data_dir_and_leave_nothing(tmp_path: Path) -> None:
    spools = SpoolFiles(tmp_path / "tmp")
    spool = spools.new()
    spool.write(b"x" * 1000)
    assert (tmp_path / "tmp").stat().st_mode & 0o777 == 0o700
    assert os.listdir(tmp_path / "tmp") == []  # unlinked at creation
    assert asyncio.run(read_back(spool)) == b"x" * 1000
    spools.close_all()
    assert spool.closed


def test_a_message_of_unknown_size_stays_in_memory_while_small(tmp_path: Path) -> None:
    with message_spool(tmp_path / "tmp") as spool:
        spool.write(b"y" * 1000)
        assert not spool._rolled  # type: ignore[attr-defined]
        spool.write(b"y" * 300_000)
        assert spool._rolled  # type: ignore[attr-defined]
        assert asyncio.run(read_back(spool)) == b"y" * 301_000
