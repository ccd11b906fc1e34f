"""Hostile commands against a real server (issue 9): its memory stays bounded, and a
session opened before the abuse and a fresh login both still work afterwards."""

from __future__ import annotations

import imaplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, so that its peak memory is this module's alone."""
    srv = start_server(tmp_path_factory.mktemp("hostile"))
    yield srv
    stop_server(srv)


def peak_rss(server: Server) -> int:
    """The server process's peak resident set (VmHWM), in bytes."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(ln for ln in status.splitlines() if ln.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def big_message(size: int) -> bytes:
    line = b"y" * 998 + b"\r\n"
    return b"From: a@example.org\r\nSubject: big\r\n\r\n" + line * (size // len(line))


def login(server: Server, user: str) -> imaplib.IMAP4:
    client = imaplib.IMAP4(server.host, server.imap_port)
    client.login(user, PASSWORD)
    return client


def test_repeated_and_oversized_body_fetches_keep_memory_bounded(own_server: Server) -> None:
    user = own_server.add_user()
    sentinel = login(own_server, user)
    sentinel.select("INBOX")
    client = login(own_server, user)
    for _ in range(3):
        typ, _ = client.append("INBOX", None, None, big_message(10 * MIB))
        assert typ == "OK"
    client.select("INBOX")
    before = peak_rss(own_server)

    # 200 copies of one section: answered once (it once took the server to 4 GB).
    typ, data = client.fetch("1", "(" + " ".join(["BODY.PEEK[]"] * 200) + ")")
    assert typ == "OK"
    literals = [part for part in data if isinstance(part, tuple)]
    assert len(literals) == 1 and len(literals[0][1]) >= 10 * MIB - 4096

    # Every message, 3,000 times over: answered once per message, streamed.
    typ, data = client.fetch("1:*", "(" + " ".join(["BODY.PEEK[]"] * 3000) + ")")
    assert typ == "OK"
    assert len([part for part in data if isinstance(part, tuple)]) == 3

    # Distinct sections adding up to 200 times the message: refused before any output.
    items = " ".join(f"BODY.PEEK[]<{n}.{10 * MIB}>" for n in range(200))
    typ, data = client.fetch("1:*", f"({items})")
    assert typ == "NO" and data[0].startswith(b"[LIMIT]"), data

    grown = peak_rss(own_server) - before
    # Reading a 10 MiB message and writing it out holds it a few times over at most;
    # before the fix this was gigabytes.
    assert grown < 200 * MIB, f"peak grew by {grown / MIB:.0f} MiB"

    # The session opened before the abuse and a new login still work.
    start = time.monotonic()
    typ, data = sentinel.noop()
    assert typ == "OK"
    fresh = login(own_server, user)
    typ, data = fresh.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    assert time.monotonic() - start < 10
    for c in (client, sentinel, fresh):
        c.logout()


def test_list_with_many_wildcards_does_not_stop_the_server(own_server: Server) -> None:
    user = own_server.add_user()
    client = login(own_server, user)
    for n in range(5):
        client.create(f"{'m' * 30}{n}")
    start = time.monotonic()
    typ, data = client.list('""', '"' + "%*" * 8 + 'x"')
    assert typ == "OK" and data == [None]
    typ, data = client.list('""', '"' + "%*" * 500 + '3"')
    assert typ == "OK" and len(data) == 1
    assert time.monotonic() - start < 5
    fresh = login(own_server, user)
    assert fresh.noop()[0] == "OK"
    fresh.logout()
    client.logout()
