"""Issue 9: a connection that has not logged in and keeps sending garbage (a scanner, an
HTTP client at the IMAP port) gets a BYE at its tenth BAD; a logged-in client's BADs are
only BADs. The real ImapServer on a loopback port."""

from __future__ import annotations

import asyncio
from pathlib import Path

from roost.config import load_config
from roost.imap.server import ImapServer
from roost.imap.session import MAX_BAD_BEFORE_LOGIN
from roost.notify.local import LocalNotifier
from roost.store.engines.sqlite import SqliteStore
from tests.imap.transcript import ADDRESS, PASSWORD, password_hash


def test_repeated_garbage_before_login_ends_the_connection(tmp_path: Path) -> None:
    async def main() -> None:
        config = load_config(None, {"ROOST_DATA_DIR": str(tmp_path)}, hostname=lambda: "x")
        notifier = LocalNotifier()
        store = await SqliteStore.open(tmp_path, notifier)
        await store.create_account(ADDRESS, password_hash())
        imap = ImapServer(store=store, notifier=notifier, config=config, tls=None)
        port = (await imap.listen(0, implicit_tls=False)).sockets[0].getsockname()[1]
        try:
            member = await asyncio.open_connection("127.0.0.1", port)
            scanner = await asyncio.open_connection("127.0.0.1", port)
            for reader, _ in (member, scanner):
                assert (await reader.readline()).startswith(b"* OK ")
            member[1].write(f"a LOGIN {ADDRESS} {PASSWORD}\r\n".encode())
            assert (await member[0].readline()).startswith(b"a OK ")

            # Each kind of BAD counts: junk with no tag, an unknown command, a known one
            # that needs a login, and a line of binary junk.
            garbage = [b"GET / HTTP/1.1", b"x FOO", b"y SELECT INBOX", b"\x16\x03\x01\x02"]
            reader, writer = scanner
            for n in range(MAX_BAD_BEFORE_LOGIN - 1):
                writer.write(garbage[n % len(garbage)] + b"\r\n")
                line = await asyncio.wait_for(reader.readline(), 5)
                assert b" BAD " in line, line
            writer.write(b"z NOOP\r\n")  # a good command does not reset the count
            assert await reader.readline() == b"z OK NOOP completed\r\n"
            writer.write(b"GET /favicon.ico HTTP/1.1\r\n")
            rest = await asyncio.wait_for(reader.read(), 5)
            assert rest.endswith(b"* BYE Too many bad commands; closing\r\n"), rest
            writer.close()

            # A logged-in client's mistakes are only mistakes.
            reader, writer = member
            for n in range(2 * MAX_BAD_BEFORE_LOGIN):
                writer.write(f"b{n} FOO\r\n".encode())
                assert (await reader.readline()).startswith(f"b{n} BAD ".encode())
            writer.write(b"c NOOP\r\n")
            assert await reader.readline() == b"c OK NOOP completed\r\n"
            writer.close()
        finally:
            await imap.close()
            await store.close()

    asyncio.run(main())
