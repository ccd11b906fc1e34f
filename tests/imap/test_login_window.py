"""Issue 9: a connection that does not log in within LOGIN_WINDOW gets a BYE and is closed,
whether it sends nothing or trickles a byte at a time (slowloris); one that logged in is
not touched by it. The real ImapServer on a loopback port, with the window shortened."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roost.config import load_config
from roost.imap import server as server_module
from roost.imap.server import ImapServer
from roost.notify.local import LocalNotifier
from roost.store.engines.sqlite import SqliteStore
from tests.imap.transcript import ADDRESS, PASSWORD, password_hash


def test_a_stranger_is_shown_out_after_the_login_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "LOGIN_WINDOW", 0.5)

    async def main() -> None:
        config = load_config(None, {"ROOST_DATA_DIR": str(tmp_path)}, hostname=lambda: "x")
        notifier = LocalNotifier()
        store = await SqliteStore.open(tmp_path, notifier)
        await store.create_account(ADDRESS, password_hash())
        imap = ImapServer(store=store, notifier=notifier, config=config, tls=None)
        listening = await imap.listen(0, implicit_tls=False)
        port = listening.sockets[0].getsockname()[1]
        try:
            silent = await asyncio.open_connection("127.0.0.1", port)
            trickler = await asyncio.open_connection("127.0.0.1", port)
            member = await asyncio.open_connection("127.0.0.1", port)
            for reader, _ in (silent, trickler, member):
                assert (await reader.readline()).startswith(b"* OK ")
            member[1].write(f"a LOGIN {ADDRESS} {PASSWORD}\r\n".encode())
            assert (await member[0].readline()).startswith(b"a OK ")
            for byte in b"b N":  # a byte at a time, never a whole line, within the window
                trickler[1].write(bytes([byte]))
                await asyncio.sleep(0.1)
            for reader, writer in (silent, trickler):
                rest = await asyncio.wait_for(reader.read(), 3)
                assert rest == b"* BYE Autologout; idle too long\r\n", rest
                writer.close()
            member[1].write(b"c NOOP\r\n")
            assert await asyncio.wait_for(member[0].readline(), 3) == b"c OK NOOP completed\r\n"
            member[1].close()
        finally:
            await imap.close()
            await store.close()

    asyncio.run(main())
