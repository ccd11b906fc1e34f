"""Writes made by another process reach the live sessions of the server (issue 10: "the
store publishes"): a message stored by a separate program on the same data directory, and
an account deleted with the roost CLI, reach a client idling with IMAPClient at once."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from imapclient import IMAPClient

from tests.e2e.conftest import PASSWORD, Server

pytestmark = pytest.mark.e2e

# Another process delivering to the store directly, as a second worker or an import would.
DELIVER = """
import asyncio, sys
from pathlib import Path
from roost.delivery import deliver
from roost.store.engines.sqlite import SqliteStore

async def main() -> None:
    store = await SqliteStore.open(Path(sys.argv[1]))
    try:
        account = await store.find_account(sys.argv[2])
        inbox = await store.find_mailbox(account.id, "INBOX")
        await deliver(store, inbox.id, b"From: far@example.org\\r\\nSubject: afar\\r\\n\\r\\nhi\\r\\n")
    finally:
        await store.close()

asyncio.run(main())
"""


def idling(server: Server, user: str) -> IMAPClient:
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=10)
    client.login(user, PASSWORD)
    client.select_folder("INBOX")
    client.idle()
    return client


def wait_for(client: IMAPClient, wanted: bytes, timeout: float = 5.0) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + timeout
    seen: list[tuple[object, ...]] = []
    while time.monotonic() < deadline:
        seen += client.idle_check(timeout=max(0.1, deadline - time.monotonic()))
        if any(wanted in response for response in seen):
            return seen
    raise AssertionError(f"no {wanted!r} within {timeout} s: {seen}")


def test_a_message_stored_by_another_process_reaches_an_idling_client(
    server: Server, user: str
) -> None:
    client = idling(server, user)
    try:
        done = subprocess.run(
            [sys.executable, "-c", DELIVER, str(server.data_dir), user],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        start = time.monotonic()
        seen = wait_for(client, b"EXISTS")
        assert (1, b"EXISTS") in seen
        # The server polls the account log every 0.1 s; allow for a slow machine.
        assert time.monotonic() - start < 2
        client.idle_done()
        messages = client.search("ALL")
        assert client.fetch(messages, ["ENVELOPE"])[1][b"ENVELOPE"].subject == b"afar"
    finally:
        client.logout()


# The same, five times, telling the moment each delivery was committed.
DELIVER_TIMED = (
    DELIVER.replace(
        "        await deliver(store, inbox.id, ",
        "        for _ in range(5):\n"
        "            await asyncio.sleep(0.3)\n"
        "            await deliver(store, inbox.id, ",
    )
    .replace('hi\\r\\n")', 'hi\\r\\n")\n            print(time.time(), flush=True)')
    .replace("import asyncio, sys", "import asyncio, sys, time")
)


def test_another_process_wakes_the_server_at_once(server: Server, user: str) -> None:
    """The server reads the account log when a writer wakes it (SQLite wake-ups), not at
    its next poll (every second): each of five deliveries reaches IDLE within 0.4 s,
    which five polls would all do by chance once in a hundred runs."""
    client = idling(server, user)
    with subprocess.Popen(
        [sys.executable, "-c", DELIVER_TIMED, str(server.data_dir), user],
        env=server.env,
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        try:
            assert writer.stdout is not None
            delays, exists = [], 0
            for count in range(1, 6):
                committed = float(writer.stdout.readline())
                while exists < count:
                    seen = wait_for(client, b"EXISTS")
                    exists = max([exists, *(int(str(r[0])) for r in seen if b"EXISTS" in r)])
                delays.append(time.time() - committed)
            assert writer.wait(timeout=60) == 0
        finally:
            writer.kill()
            client.shutdown()
    assert max(delays) < 0.4, delays


def test_an_account_deleted_with_the_cli_ends_its_sessions(server: Server) -> None:
    user = server.add_user()
    client = idling(server, user)
    try:
        result = server.roost("user", "delete", user, "--yes")
        assert result.returncode == 0, result.stderr
        seen = wait_for(client, b"BYE")
        assert (b"BYE", b"This", b"account", b"was", b"deleted") in seen
    finally:
        client.shutdown()
