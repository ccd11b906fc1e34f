"""Hostile input (issue 9): one command must not hold the server's CPU or memory.

Each test is one named case, run through the real codec, session and store; the
end-to-end memory bounds against a real server are in tests/e2e/test_hostile.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from roost.delivery import analyse
from roost.imap.commands import fetch
from roost.model import BlobId
from roost.store.api import NewMessage
from roost.store.blobs import blob_id_of
from roost.store.mail.store import MailStore
from tests.imap.transcript import Client, Scene
from tests.store.ondisk import damage


def big_message(size: int, tag: str = "big") -> NewMessage:
    line = (b"x" * 76) + b"\r\n"
    body = line * (size // len(line))
    data = f"From: a@example.org\r\nSubject: {tag}\r\n\r\n".encode() + body
    return NewMessage(data=data, parsed=analyse(data))


async def send(client: Client, command: str) -> bytes:
    client.conn.output.clear()
    await client.session.feed(command.encode() + b"\r\n")
    out = bytes(client.conn.output)
    client.conn.output.clear()
    return out


def test_list_with_many_wildcards_answers_at_once(tmp_path: Path) -> None:
    # "%*%*%*%*%*%*%*%*x" against a 30-character name held the server for minutes when
    # patterns were backtracking regular expressions.
    async def main() -> None:
        async with Scene(tmp_path) as s:
            for n in range(20):
                await s.store.create_mailbox(s.account.id, f"{'a' * 30}{n}", None)
            await s.login(1)
            one = s.clients["1"]
            start = time.perf_counter()
            out = await send(one, 'l1 LIST "" "' + "%*" * 200 + 'x"')
            assert out == b"l1 OK LIST completed\r\n"
            out = await send(one, 'l2 LSUB "" "' + "*%" * 200 + 'x"')
            assert out == b"l2 OK LSUB completed\r\n"
            out = await send(one, 'l3 LIST "" "' + "%*" * 200 + '0"')
            assert out.count(b"* LIST ") == 2  # ...0 and ...10
            assert time.perf_counter() - start < 5

    asyncio.run(main())


def test_a_section_asked_many_times_is_answered_once(tmp_path: Path) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as s:
            inbox = await s.store.find_mailbox(s.account.id, "INBOX")
            await s.store.append(inbox.id, [big_message(200_000)])
            await s.login(1)
            one = s.clients["1"]
            await send(one, "s SELECT INBOX")
            out = await send(one, "f FETCH 1 (" + " ".join(["BODY.PEEK[]"] * 200) + ")")
            assert out.endswith(b"f OK FETCH completed\r\n")
            assert out.count(b"BODY[] {") == 1
            assert len(out) < 210_000

    asyncio.run(main())


def test_sections_adding_up_past_the_budget_are_refused_before_any_output(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as s:
            inbox = await s.store.find_mailbox(s.account.id, "INBOX")
            await s.store.append(inbox.id, [big_message(100_000), big_message(1_000, "small")])
            await s.login(1)
            one = s.clients["1"]
            await send(one, "s SELECT INBOX")
            # 200 distinct partial ranges, each nearly the whole message.
            items = " ".join(f"BODY.PEEK[]<{n}.100000>" for n in range(200))
            out = await send(one, f"f FETCH 1:2 ({items})")
            assert out.startswith(b"f NO [LIMIT] "), out[:200]
            # Five whole-message sections are within the budget of a message with a small
            # header, so a client asking for them gets them all.
            out = await send(
                one,
                "g FETCH 2 (BODY.PEEK[] BODY.PEEK[TEXT] RFC822 BINARY.PEEK[1] BODY.PEEK[1])",
            )
            assert out.endswith(b"g OK FETCH completed\r\n"), out[-200:]
            # A handful of header sections of any message is fine too.
            fields = " ".join(f"BODY.PEEK[HEADER.FIELDS (X-{n})]" for n in range(10))
            out = await send(one, f"h FETCH 1:2 ({fields})")
            assert out.endswith(b"h OK FETCH completed\r\n"), out[-200:]

    asyncio.run(main())


def test_message_bytes_are_read_in_bounded_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    writes: list[int] = []

    async def main() -> None:
        async with Scene(tmp_path) as s:
            inbox = await s.store.find_mailbox(s.account.id, "INBOX")
            await s.store.append(inbox.id, [big_message(100_000, str(n)) for n in range(12)])
            await s.login(1)
            one = s.clients["1"]
            await send(one, "s SELECT INBOX")
            store_class = type(s.store)
            original = store_class.read_blobs

            async def spy(
                self: MailStore, blobs: Sequence[BlobId], *, prefixes: Sequence[int] | None = None
            ) -> list[bytes]:
                data = await original(self, blobs, prefixes=prefixes)
                reads.append(sum(map(len, data)))
                return data

            monkeypatch.setattr(store_class, "read_blobs", spy)
            monkeypatch.setattr(fetch, "READ_BATCH", 250_000)
            conn_write = one.conn.write

            async def spy_write(data: bytes) -> None:
                writes.append(len(data))
                await conn_write(data)

            monkeypatch.setattr(one.conn, "write", spy_write)
            out = await send(one, "f FETCH 1:* (UID BODY.PEEK[])")
            assert out.endswith(b"f OK FETCH completed\r\n")
            assert out.count(b"BODY[] {") == 12

    asyncio.run(main())
    assert len(reads) == 6 and max(reads) <= 250_000, reads
    # No write holds more than one message's section plus a batch of small pieces.
    assert max(writes) <= 110_000, writes


def test_a_damaged_message_file_is_a_no_corruption_not_its_bytes(tmp_path: Path) -> None:
    # Issue 9: a corrupted blob is detected (its name is its SHA-256) and reported, never
    # served as OK; the session goes on.
    async def main() -> None:
        async with Scene(tmp_path) as s:
            inbox = await s.store.find_mailbox(s.account.id, "INBOX")
            message = big_message(2_000, "soon damaged")
            await s.store.append(inbox.id, [message])
            blob = blob_id_of(message.data)
            damage(tmp_path, blob, b"x", b"y")
            await s.login(1)
            one = s.clients["1"]
            await send(one, "s SELECT INBOX")
            out = await send(one, "f FETCH 1 (BODY.PEEK[])")
            assert out.startswith(b"f NO [CORRUPTION] "), out
            assert await send(one, "n NOOP") == b"n OK NOOP completed\r\n"

    asyncio.run(main())


def test_literals_before_login_are_small(tmp_path: Path) -> None:
    # Issue 9: 20 unauthenticated 40 MB literals grew the server by 800 MB. Before login a
    # literal may hold a user name or a password (8 KiB), no more; after it, a message.
    async def main() -> None:
        async with Scene(tmp_path) as s:
            stranger = await s.client(1)
            out = await send(stranger, "a LOGIN {40000000}")
            assert out.startswith(b"a BAD [TOOBIG] "), out
            assert await send(stranger, "b NOOP") == b"b OK NOOP completed\r\n"
            out = await send(stranger, "c LOGIN alice@example.org {6}")
            assert out == b"+ Ready\r\n"
            out = await send(stranger, "secret")
            assert out.startswith(b"c OK "), out
            body = b"Subject: big\r\n\r\n" + b"x" * 20_000 + b"\r\n"
            out = await send(stranger, f"d APPEND INBOX {{{len(body)}}}")
            assert out == b"+ Ready\r\n"
            stranger.conn.output.clear()
            await stranger.session.feed(body + b"\r\n")
            assert bytes(stranger.conn.output).startswith(b"d OK [APPENDUID ")

    asyncio.run(main())


def test_an_overlong_continuation_line_ends_the_command_waiting_for_it(tmp_path: Path) -> None:
    # Issue 9: a SASL response or IDLE's DONE past the line limit used to leave the command
    # unanswered, and the client's next command was taken for the continuation.
    async def main() -> None:
        async with Scene(tmp_path) as s:
            stranger = await s.client(1)
            assert await send(stranger, "a AUTHENTICATE PLAIN") == b"+ \r\n"
            out = await send(stranger, "QUFB" * 20_000)
            assert out == b"a BAD line longer than 65536 octets\r\n", out
            assert await send(stranger, "b NOOP") == b"b OK NOOP completed\r\n"
            await s.login(2)
            member = s.clients["2"]
            await send(member, "s SELECT INBOX")
            assert await send(member, "i IDLE") == b"+ idling\r\n"
            out = await send(member, "D" * 70_000)
            assert out == b"i BAD line longer than 65536 octets\r\n", out
            assert await send(member, "n NOOP") == b"n OK NOOP completed\r\n"

    asyncio.run(main())


def test_a_create_of_ten_thousand_levels_is_refused_whole(tmp_path: Path) -> None:
    # Issue 9: one CREATE of a 10,000-level name made 10,000 mailboxes, after which LIST "*"
    # answered 101 MB. Now the name is refused with [LIMIT] and nothing of it is made.
    async def main() -> None:
        async with Scene(tmp_path) as s:
            await s.login(1)
            one = s.clients["1"]
            before = await send(one, 'l1 LIST "" "*"')
            name = "/".join("x" * 10 for _ in range(10_000))
            # A literal (LITERAL+): the name is longer than a command line may be.
            out = await send(one, f"c CREATE {{{len(name)}+}}\r\n{name}")
            assert out.startswith(b"c NO [LIMIT] "), out[:200]
            assert await send(one, 'l2 LIST "" "*"') == before.replace(b"l1 ", b"l2 ")
            assert (await send(one, 'c2 CREATE "a/b/c"')).startswith(b"c2 OK")

    asyncio.run(main())
