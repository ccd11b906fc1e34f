"""What the store keeps instead of scanning stays exact whoever changes the mailbox: the
UID arrays (store/uidcache.py) and the STATUS counters (migration 6's triggers).

Two stores open on one data directory stand for the server and another process (the CLI,
a second node): the first keeps its UID arrays between calls, the second changes the
mailbox behind its back, and the first's answers must equal a fresh read, and its
counters a scan of the rows, every time.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from roost.model import MailboxId, Uid
from roost.store.api import FlagMode, Store
from roost.store.engines.sqlite import DATABASE, SqliteStore
from tests.store.contract import make

# (operation, which store does it, argument)
Op = tuple[str, int, int]
OPS = st.lists(
    st.tuples(
        st.sampled_from(["append", "expunge", "flag", "move", "read"]),
        st.integers(0, 1),
        st.integers(0, 20),
    ),
    max_size=25,
)


async def apply(store: Store, op: str, pick: int, inbox: MailboxId, other: MailboxId) -> None:
    uids, _ = await store.uids(inbox)
    chosen = [uids[pick % len(uids)]] if uids else []
    if op == "append":
        await store.append(inbox, [make(f"m{pick}") for _ in range(1 + pick % 3)])
    elif op == "expunge" and chosen:
        await store.store_flags(inbox, chosen, FlagMode.ADD, frozenset({"\\Deleted"}))
        await store.expunge(inbox)
    elif op == "flag" and chosen:
        await store.store_flags(inbox, chosen, FlagMode.ADD, frozenset({"\\Seen"}))
    elif op == "move" and chosen:
        await store.copy(inbox, chosen, other, move=True)


def scan(data_dir: Path, box: MailboxId) -> tuple[int, ...]:
    with sqlite3.connect(data_dir / DATABASE) as conn:
        row = conn.execute(
            "SELECT COUNT(*), SUM(system_flags & 1 = 0), SUM(system_flags & 8 != 0), "
            "TOTAL(size), TOTAL(CASE WHEN system_flags & 8 THEN size END) "
            "FROM messages WHERE mailbox_id = ?",
            (box,),
        ).fetchone()
    return tuple(int(value or 0) for value in row)


async def run(data_dir: Path, ops: list[Op]) -> None:
    server, other = await SqliteStore.open(data_dir), await SqliteStore.open(data_dir)
    try:
        account = await server.create_account("bob@example.org", "h")
        inbox = await server.find_mailbox(account.id, "INBOX")
        archive = await server.find_mailbox(account.id, "Archive")
        await server.append(inbox.id, [make("first"), make("second")])
        for op, who, pick in ops:
            store = (server, other)[who]
            await apply(store, op, pick, inbox.id, archive.id)
            for box in (inbox.id, archive.id):
                cached, modseq = await server.uids(box)
                fresh = await SqliteStore.open(data_dir)
                try:
                    expected, expected_modseq = await fresh.uids(box)
                finally:
                    await fresh.close()
                assert (list(cached), modseq) == (list(expected), expected_modseq)
                assert all(isinstance(u, int) for u in cached)
                status = await server.status(box)
                counted = (
                    status.messages,
                    status.unseen,
                    status.deleted,
                    status.size,
                    status.deleted_size,
                )
                assert counted == scan(data_dir, box)
    finally:
        await server.close()
        await other.close()


@settings(max_examples=25, deadline=None)
@given(ops=OPS)
def test_cached_uids_equal_a_fresh_read(ops: list[Op]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp) / "data", ops))


def test_each_caller_gets_its_own_copy(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SqliteStore.open(tmp_path / "data")
        try:
            account = await store.create_account("bob@example.org", "h")
            inbox = await store.find_mailbox(account.id, "INBOX")
            await store.append(inbox.id, [make("a"), make("b")])
            first, _ = await store.uids(inbox.id)
            del first[0]  # type: ignore[attr-defined]  # an array: the caller may change it
            again, _ = await store.uids(inbox.id)
            assert list(again) == [Uid(1), Uid(2)]
        finally:
            await store.close()

    asyncio.run(main())
