"""A command's responses leave in one write (Session.send queues, Session.flush writes), so
each command costs one system call, not one per untagged line; a response larger than
FLUSH_AT still streams in pieces with back-pressure (issue 17)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from roost.imap.session import FLUSH_AT
from tests.imap.transcript import Client, Scene


def count_writes(client: Client) -> list[bytes]:
    """Every write the session makes from now on."""
    writes: list[bytes] = []
    write = client.conn.write

    async def counted(data: bytes) -> None:
        writes.append(data)
        await write(data)

    client.conn.write = counted  # type: ignore[method-assign]
    return writes


def append(size: int) -> bytes:
    body = b"Subject: big\r\n\r\n" + b"x" * size
    return b"a APPEND INBOX {%d+}\r\n%b\r\n" % (len(body), body)


def test_select_answers_in_one_write(tmp_path: Path) -> None:
    async def body() -> None:
        async with Scene(tmp_path) as scene:
            await scene.login(1)
            client = await scene.client(1)
            await client.session.feed(append(10))
            client.receive()
            writes = count_writes(client)

            await client.session.feed(b"s SELECT INBOX\r\n")

            assert len(writes) == 1
            lines = writes[0].split(b"\r\n")
            assert b"* 1 EXISTS" in lines
            assert lines[-2].startswith(b"s OK [READ-WRITE]")

    asyncio.run(body())


def test_pipelined_commands_answer_one_write_each(tmp_path: Path) -> None:
    """Each as soon as it is complete: a quick command does not wait for a slow one that
    the client sent after it."""

    async def body() -> None:
        async with Scene(tmp_path) as scene:
            await scene.login(1)
            client = await scene.client(1)
            await client.session.feed(append(10))
            client.receive()
            writes = count_writes(client)

            await client.session.feed(b"a NOOP\r\nb SELECT INBOX\r\nc FETCH 1:* FLAGS\r\n")

            assert [w.rsplit(b"\r\n", 2)[-2][:5] for w in writes] == [b"a OK ", b"b OK ", b"c OK "]
            assert b"* 1 EXISTS\r\n" in writes[1]
            assert b"* 1 FETCH (FLAGS (" in writes[2]

    asyncio.run(body())


def test_a_large_fetch_still_streams(tmp_path: Path) -> None:
    async def body() -> None:
        async with Scene(tmp_path) as scene:
            await scene.login(1)
            client = await scene.client(1)
            for _ in range(4):
                await client.session.feed(append(FLUSH_AT // 2))
            await client.session.feed(b"s SELECT INBOX\r\n")
            client.receive()
            writes = count_writes(client)

            await client.session.feed(b"f FETCH 1:* BODY.PEEK[]\r\n")

            assert len(writes) >= 2
            assert all(len(w) >= FLUSH_AT for w in writes[:-1])
            assert writes[-1].rsplit(b"\r\n", 2)[-2].startswith(b"f OK ")

    asyncio.run(body())


def test_a_push_during_idle_goes_out_at_once(tmp_path: Path) -> None:
    async def body() -> None:
        async with Scene(tmp_path) as scene:
            await scene.login(1, 2)
            idler, writer = await scene.client(1), await scene.client(2)
            await idler.session.feed(b"s SELECT INBOX\r\ni IDLE\r\n")
            assert idler.receive()[-1] == "+ idling"
            writes = count_writes(idler)

            await writer.session.feed(append(10))
            await idler.session.push()

            assert writes == [b"* 1 EXISTS\r\n* 1 RECENT\r\n"]

    asyncio.run(body())
