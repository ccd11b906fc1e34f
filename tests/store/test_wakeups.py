"""Wake-ups between processes sharing a SQLite store (roost.store.engines.sqlite.wakeups):
the processes here are two Wakeups of one data directory, as two workers would hold."""

from __future__ import annotations

import asyncio
from pathlib import Path

from roost.store.engines.sqlite.wakeups import WAKE_DIR, Wakeups


def test_a_write_elsewhere_wakes_a_follower_and_not_its_own(tmp_path: Path) -> None:
    async def main() -> None:
        here, there = Wakeups(tmp_path), Wakeups(tmp_path)
        with here.follow() as follower:
            assert not await follower.wait(0.05)  # nothing yet
            here.wake_others()  # its own write: the follower published it already
            assert not await follower.wait(0.05)
            there.wake_others()
            there.wake_others()  # two wake-ups pending are read as one
            assert await follower.wait(1.0)
            assert not await follower.wait(0.05)
        here.close()
        there.close()

    asyncio.run(main())


def test_a_follower_that_is_gone_loses_its_marker(tmp_path: Path) -> None:
    async def main() -> None:
        writer, reader = Wakeups(tmp_path), Wakeups(tmp_path)
        follower = reader.follow()
        stale = tmp_path / WAKE_DIR / "999999999.0"  # a killed process's marker
        stale.touch()
        writer.wake_others()
        assert not stale.exists()
        assert await follower.wait(1.0)  # the live one was woken all the same
        follower.close()
        assert list((tmp_path / WAKE_DIR).iterdir()) == []
        writer.close()
        reader.close()

    asyncio.run(main())
