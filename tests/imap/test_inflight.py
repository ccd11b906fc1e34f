"""Issue 9: a large APPEND literal goes to a spool file as it arrives and comes back into
memory only to be stored, under the server-wide budget of in-flight message bytes; with
the budget taken, APPEND is a temporary NO [LIMIT], and works again once there is room.
The real ImapServer on a loopback port."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from roost.config import load_config
from roost.imap.server import ImapServer
from roost.notify.local import LocalNotifier
from roost.spool import MemoryBudget
from roost.store.engines.sqlite import SqliteStore
from tests.imap.transcript import ADDRESS, PASSWORD, password_hash

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@asynccontextmanager
async def imap_server(
    tmp_path: Path, budget: MemoryBudget
) -> AsyncIterator[tuple[int, SqliteStore]]:
    config = load_config(None, {"ROOST_DATA_DIR": str(tmp_path)}, hostname=lambda: "x")
    notifier = LocalNotifier()
    store = await SqliteStore.open(tmp_path, notifier)
    await store.create_account(ADDRESS, password_hash())
    imap = ImapServer(store=store, notifier=notifier, config=config, tls=None, inflight=budget)
    listening = await imap.listen(0, implicit_tls=False)
    try:
        yield listening.sockets[0].getsockname()[1], store
    finally:
        await imap.close()
        await store.close()


async def logged_in(port: int) -> Stream:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert (await reader.readline()).startswith(b"* OK ")
    writer.write(f"a LOGIN {ADDRESS} {PASSWORD}\r\n".encode())
    assert (await reader.readline()).startswith(b"a OK ")
    return reader, writer


async def append(stream: Stream, tag: str, message: bytes) -> bytes:
    reader, writer = stream
    writer.write(f"{tag} APPEND INBOX {{{len(message)}}}\r\n".encode())
    assert (await reader.readline()).startswith(b"+ ")
    writer.write(message + b"\r\n")
    return await asyncio.wait_for(reader.readline(), 10)


def open_spools(data_dir: Path) -> int:
    """This process's open files in the data dir's spool directory."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(data_dir / "tmp"))
    return count


def message(size: int, subject: str) -> bytes:
    line = b"z" * 78 + b"\r\n"
    return f"Subject: {subject}\r\n\r\n".encode() + line * (size // len(line))


def test_a_large_append_is_spooled_then_stored_whole(tmp_path: Path) -> None:
    async def main() -> None:
        budget = MemoryBudget(4 * 1024 * 1024)
        async with imap_server(tmp_path, budget) as (port, store):
            stream = await logged_in(port)
            big = message(3_000_000, "spooled")
            reply = await append(stream, "b", big)
            assert reply.startswith(b"b OK [APPENDUID "), reply
            account = await store.find_account(ADDRESS)
            assert account is not None
            inbox = await store.find_mailbox(account.id, "INBOX")
            uids, _ = await store.uids(inbox.id)
            [meta] = await store.fetch_meta(inbox.id, uids)
            assert await store.read_blob(meta.blob_id) == big
            assert budget.used == 0 and open_spools(tmp_path) == 0
            stream[1].close()

    asyncio.run(main())


def test_with_the_budget_taken_append_is_a_temporary_no(tmp_path: Path) -> None:
    async def main() -> None:
        budget = MemoryBudget(1024 * 1024, wait=0.3)
        async with imap_server(tmp_path, budget) as (port, _):
            stream = await logged_in(port)
            sentinel = await logged_in(port)
            big = message(600_000, "waits")
            async with budget.hold(budget.limit):  # other connections' messages
                reply = await append(stream, "c", big)
                assert reply.startswith(b"c NO [LIMIT] "), reply
                # The connection is fine, and so is everyone else.
                sentinel[1].write(b"n NOOP\r\n")
                assert await sentinel[0].readline() == b"n OK NOOP completed\r\n"
            assert open_spools(tmp_path) == 0
            reply = await append(stream, "d", big)
            assert reply.startswith(b"d OK [APPENDUID "), reply
            for _, writer in (stream, sentinel):
                writer.close()

    asyncio.run(main())
