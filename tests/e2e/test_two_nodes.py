"""Two Roost nodes on one PostgreSQL behave as one server (issue 10, point 6).

Two `roost serve` processes (their own ports, one database_url), driven by IMAPClient and
imaplib: an idling client of node 1 hears APPEND, STORE and EXPUNGE made through node 2 at
once (LISTEN/NOTIFY; the median is printed, and held here to 100 ms, a bound loose enough
for a busy test machine: the 20 ms target is measured by the benchmark); QRESYNC on node 2 after changes on node 1 is exact; UIDs stay unique
when both nodes append to one mailbox at once; a node killed with SIGKILL loses nothing it
acknowledged, and the other keeps serving.
"""

from __future__ import annotations

import imaplib
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server

pytestmark = pytest.mark.e2e

MESSAGE = b"From: a@example.org\r\nSubject: %d\r\nMessage-ID: <%d@n>\r\n\r\nbody %d\r\n"


@pytest.fixture
def nodes(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Server, Server]]:
    env = {"ROOST_DATABASE_URL": postgres_url}
    one = start_server(tmp_path / "one", extra_env=env)
    try:
        two = start_server(tmp_path / "two", extra_env=env)
        try:
            yield one, two
        finally:
            stop_server(two)
    finally:
        stop_server(one)


def client(server: Server, user: str) -> IMAPClient:
    c = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=15)
    c.login(user, PASSWORD)
    return c


def wait_for(idler: IMAPClient, kind: bytes, timeout: float = 5.0) -> float:
    """Seconds until an untagged response of this kind arrives during IDLE."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        for response in idler.idle_check(timeout=timeout):
            if kind in response:
                return time.monotonic() - start
    raise AssertionError(f"no {kind!r} within {timeout} s")


def test_idle_on_one_node_hears_changes_made_on_the_other(nodes: tuple[Server, Server]) -> None:
    one, two = nodes
    user = one.add_user()
    idler, writer = client(one, user), client(two, user)
    try:
        idler.select_folder("INBOX")
        writer.select_folder("INBOX")
        delays: list[float] = []
        for n in range(15):
            idler.idle()
            writer.append("INBOX", MESSAGE % (n, n, n))
            # From the APPEND's OK (the commit) to node 1's EXISTS.
            delays.append(wait_for(idler, b"EXISTS"))
            idler.idle_done()
        idler.idle()
        writer.add_flags([3], [b"\\Flagged"])
        wait_for(idler, b"FETCH")
        idler.idle_done()
        idler.idle()
        writer.delete_messages([4])
        writer.expunge()
        wait_for(idler, b"EXPUNGE")
        idler.idle_done()
        median = statistics.median(delays)
        print(f"\ncross-node push, APPEND's OK to EXISTS: median {median * 1000:.1f} ms")
        assert median < 0.100, delays  # loose for a busy CI machine; the target is 20 ms
        assert len(idler.search("ALL")) == 14
    finally:
        idler.logout()
        writer.logout()


def test_qresync_on_one_node_after_changes_on_the_other(nodes: tuple[Server, Server]) -> None:
    one, two = nodes
    user = one.add_user()
    a = client(one, user)
    try:
        a.select_folder("INBOX")
        for n in range(5):
            a.append("INBOX", MESSAGE % (n, n, n))
        status = a.folder_status("INBOX", ["HIGHESTMODSEQ", "UIDVALIDITY"])
        modseq, uidvalidity = status[b"HIGHESTMODSEQ"], status[b"UIDVALIDITY"]
        a.select_folder("INBOX")
        a.add_flags([2], [b"\\Seen"])
        a.delete_messages([3, 5])
        a.expunge()
    finally:
        a.logout()
    raw = imaplib.IMAP4(two.host, two.imap_port)
    try:
        raw.login(user, PASSWORD)
        raw._simple_command("ENABLE", "QRESYNC")
        typ, _ = raw._simple_command("SELECT", "INBOX", f"(QRESYNC ({uidvalidity} {modseq} 1:5))")
        assert typ == "OK"
        vanished = raw.response("VANISHED")[1]
        fetched = raw.response("FETCH")[1]
        assert vanished == [b"(EARLIER) 3,5"], vanished
        assert fetched is not None and len(fetched) == 1 and b"UID 2 " in fetched[0]
    finally:
        raw.logout()


def test_uids_stay_unique_when_both_nodes_append_at_once(nodes: tuple[Server, Server]) -> None:
    one, two = nodes
    user = one.add_user()
    got: dict[str, list[int]] = {}

    def appender(server: Server, name: str) -> None:
        c = client(server, user)
        try:
            uids = []
            for n in range(25):
                response = c.append("INBOX", MESSAGE % (n, n, n))
                uids.append(int(response.split(b"APPENDUID ")[1].split(b"]")[0].split()[1]))
            got[name] = uids
        finally:
            c.logout()

    threads = [
        threading.Thread(target=appender, args=(server, name))
        for server, name in ((one, "one"), (two, "two"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everyone = got["one"] + got["two"]
    assert len(everyone) == 50 and len(set(everyone)) == 50
    check = client(two, user)
    try:
        check.select_folder("INBOX")
        assert sorted(check.search("ALL")) == sorted(everyone)
    finally:
        check.logout()


def test_a_killed_node_loses_nothing_and_the_other_keeps_serving(
    nodes: tuple[Server, Server],
) -> None:
    one, two = nodes
    user = one.add_user()
    acknowledged: list[int] = []
    c = client(one, user)
    for n in range(10):
        response = c.append("INBOX", MESSAGE % (n, n, n))
        acknowledged.append(int(response.split(b"APPENDUID ")[1].split(b"]")[0].split()[1]))
    one.process.send_signal(signal.SIGKILL)
    one.process.wait(10)
    c.shutdown()
    survivor = client(two, user)
    try:
        survivor.select_folder("INBOX")
        assert sorted(survivor.search("ALL")) == acknowledged
        survivor.append("INBOX", MESSAGE % (99, 99, 99))
        assert len(survivor.search("ALL")) == 11
    finally:
        survivor.logout()


def test_the_cli_on_the_same_database_reaches_both_nodes(nodes: tuple[Server, Server]) -> None:
    one, two = nodes
    user = one.add_user()
    idlers = [client(one, user), client(two, user)]
    try:
        for idler in idlers:
            idler.select_folder("INBOX")
            idler.idle()
        result = one.roost("user", "delete", "--yes", user)  # the roost CLI, a third process
        assert result.returncode == 0, result.stderr
        for idler in idlers:
            wait_for(idler, b"BYE")
    finally:
        for idler in idlers:
            idler.shutdown()
