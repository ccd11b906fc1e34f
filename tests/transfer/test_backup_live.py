"""Backups and restores beside a running server, with real clients: a backup taken while
writers append holds every message acknowledged before it began; an account restored into
the running server reaches its idling device, and devices of other accounts notice nothing."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from roost.store.api import Store
from roost.transfer.walk import mailbox_messages
from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server
from tests.e2e.test_cross_process import idling, wait_for
from tests.transfer.conftest import with_store

pytestmark = pytest.mark.e2e

_SUBJECT = re.compile(rb"^Subject: (.*?)\r$", re.MULTILINE)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("roost-data"))
    yield srv
    stop_server(srv)


def connect(server: Server, user: str) -> IMAPClient:
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=30)
    client.login(user, PASSWORD)
    return client


def subjects(data_dir: Path, address: str, mailbox: str = "INBOX") -> set[str]:
    async def read(store: Store) -> set[str]:
        account = await store.find_account(address)
        assert account is not None
        box = await store.find_mailbox(account.id, mailbox)
        found: set[str] = set()
        async for _, data in mailbox_messages(store, box.id):
            match = _SUBJECT.search(data)
            assert match is not None
            found.add(match.group(1).decode())
        return found

    return with_store(data_dir, read)


def prefill(server: Server, user: str, tmp_path: Path, count: int) -> None:
    mbox = tmp_path / "prefill.mbox"
    body = "x" * 2000
    mbox.write_text(
        "".join(
            f"From a@b Mon Jan  3 10:00:00 2022\nSubject: old {n}\n\n{body}\n\n"
            for n in range(count)
        )
    )
    result = server.roost("import", "mbox", str(mbox), "--user", user)
    assert result.returncode == 0 and f"imported {count} messages" in result.stdout, result.stderr


class Writers:
    """Threads appending over IMAP; `acked` lists the subjects whose APPEND got its OK."""

    def __init__(self, server: Server, user: str, count: int) -> None:
        self.acked: list[str] = []
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self.write, args=(server, user, n)) for n in range(count)
        ]

    def write(self, server: Server, user: str, writer: int) -> None:
        try:
            with connect(server, user) as client:
                n = 0
                while not self.stop.is_set():
                    subject = f"w{writer}-{n}"
                    client.append(
                        "INBOX", f"From: w@example.org\r\nSubject: {subject}\r\n\r\nhi\r\n"
                    )
                    self.acked.append(subject)  # list.append is atomic
                    n += 1
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_a_backup_taken_while_writers_append_holds_every_acknowledged_message(
    server: Server, tmp_path: Path
) -> None:
    user = server.add_user()
    prefill(server, user, tmp_path, 1500)
    dest = tmp_path / "bk"
    with Writers(server, user, 3) as writers:
        while len(writers.acked) < 30 and not writers.errors:
            time.sleep(0.05)
        before = set(writers.acked)  # acknowledged before the backup began
        result = server.roost("backup", str(dest))
        during = len(writers.acked) - len(before)
    assert not writers.errors, writers.errors
    assert result.returncode == 0, result.stderr
    assert during > 0, "no append ran while the backup did: the test proved nothing"
    fresh = tmp_path / "fresh"
    done = subprocess.run(
        [sys.executable, "-m", "roost", "restore", str(dest)],
        env=dict(server.env, ROOST_DATA_DIR=str(fresh)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    in_backup = subjects(fresh, user)
    assert before <= in_backup
    assert {f"old {n}" for n in range(1500)} <= in_backup
    verified = server.roost("backup", "--verify", str(dest))
    assert verified.returncode == 0 and ": sound" in verified.stdout, verified.stdout


def test_an_account_restored_into_the_running_server_reaches_its_device_and_no_other(
    server: Server, tmp_path: Path
) -> None:
    alice, bob = server.add_user(), server.add_user()
    with connect(server, alice) as client:
        client.create_folder("Projects")
        for n in range(4):
            client.append("INBOX", f"From: a@b\r\nSubject: inbox {n}\r\n\r\nhi\r\n")
            client.append("Projects", f"From: a@b\r\nSubject: project {n}\r\n\r\nhi\r\n")
        inbox_validity = client.select_folder("INBOX")[b"UIDVALIDITY"]
        projects_validity = client.folder_status("Projects", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    with connect(server, bob) as client:
        client.append("INBOX", "From: b@b\r\nSubject: bob's\r\n\r\nhi\r\n")
    dest = tmp_path / "bk"
    assert server.roost("backup", str(dest)).returncode == 0
    # The morning after: a folder deleted, two messages expunged.
    with connect(server, alice) as client:
        client.delete_folder("Projects")
        client.select_folder("INBOX")
        client.delete_messages([1, 2])
        client.expunge()
        kept = client.search("ALL")
    alices, bobs = idling(server, alice), idling(server, bob)
    try:
        result = server.roost("restore", str(dest), "--user", alice)
        assert result.returncode == 0, result.stderr
        assert "Projects: 4 messages restored (re-created, new UIDVALIDITY" in result.stdout
        assert f"INBOX: 2 messages restored (UIDVALIDITY kept {inbox_validity})" in result.stdout
        assert (4, b"EXISTS") in wait_for(alices, b"EXISTS")
        # Bob's device hears nothing of it, and carries on.
        assert [r for r in bobs.idle_check(timeout=1.0) if b"EXISTS" in r or b"BYE" in r] == []
        bobs.idle_done()
        bobs.noop()  # raises if the server had ended the session
        assert len(bobs.search("ALL")) == 1
        alices.idle_done()
        # The UIDs alice's device had still name the same messages; the restored are new.
        uids = alices.search("ALL")
        assert uids[:2] == kept and min(uids[2:]) > max(kept)
        status = alices.folder_status("Projects", ["MESSAGES", "UIDVALIDITY"])
        assert status[b"MESSAGES"] == 4 and status[b"UIDVALIDITY"] != projects_validity
    finally:
        alices.logout()
        bobs.logout()
