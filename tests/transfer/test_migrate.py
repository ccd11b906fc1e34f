"""`roost migrate` from a second Roost instance: every mailbox arrives with its UIDVALIDITY
and UIDs (so a device synced with the source keeps its cache), flags, keywords,
INTERNALDATE, subscriptions and special use; a second run copies nothing twice and brings
the source's changes; a run killed with SIGKILL resumes without duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server

pytestmark = pytest.mark.e2e

WHEN = datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("source"))
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("target"))
    yield srv
    stop_server(srv)


def connect(server: Server, user: str) -> IMAPClient:
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=30)
    client.login(user, PASSWORD)
    return client


def migrate(
    source: Server, target: Server, user: str, tmp_path: Path, *options: str
) -> subprocess.Popen[str]:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    return subprocess.Popen(
        [sys.executable, "-m", "roost", "migrate", "--from",
         f"imap://{user.replace('@', '%40')}@{source.host}:{source.imap_port}",
         "--password-file", str(secret), *options],
        env=target.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def run_migrate(source: Server, target: Server, user: str, tmp_path: Path) -> str:
    process = migrate(source, target, user, tmp_path)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


Snapshot = dict[str, tuple[int, dict[int, tuple[object, ...]]]]


def snapshot(server: Server, user: str) -> tuple[Snapshot, dict[str, tuple[bytes, ...]]]:
    """Per mailbox: UIDVALIDITY and, per UID, (flags, INTERNALDATE, bytes); and each
    mailbox's LIST attributes (special use, \\Subscribed)."""
    with connect(server, user) as client:
        attributes: dict[str, tuple[bytes, ...]] = {}
        for flags, _, name in client.list_folders():
            attributes[name] = tuple(
                sorted(f for f in flags if f not in (b"\\HasChildren", b"\\HasNoChildren"))
            )
        boxes: Snapshot = {}
        for name in attributes:
            validity = client.select_folder(name, readonly=True)[b"UIDVALIDITY"]
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"]) if uids else {}
            boxes[name] = (
                validity,
                {
                    uid: (
                        frozenset(fetched[uid][b"FLAGS"]) - {b"\\Recent"},
                        fetched[uid][b"INTERNALDATE"],
                        fetched[uid][b"BODY[]"],
                    )
                    for uid in uids
                },
            )
        subscribed = {name for _, _, name in client.list_sub_folders()}
        return boxes, {n: (*a, b"sub" if n in subscribed else b"") for n, a in attributes.items()}


def inbox_size(server: Server, user: str) -> int:
    """Messages in the user's INBOX; 0 while the account does not exist."""
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=30)
    try:
        client.login(user, PASSWORD)
    except LoginError:
        client.shutdown()
        return 0
    try:
        return int(client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"])
    finally:
        client.logout()


def message(subject: str) -> bytes:
    return f"From: a@example.org\r\nSubject: {subject}\r\n\r\n{subject} body\r\n".encode()


def populate(source: Server, user: str) -> None:
    with connect(source, user) as client:
        client.create_folder("Projects/2024")
        client.create_folder("Entwürfe")
        client.unsubscribe_folder("Junk")
        client.rename_folder("Sent", "Sent Items")  # its \Sent goes with it
        for n in range(6):
            client.append("INBOX", message(f"inbox {n}"), flags=[b"\\Seen"] if n % 2 else [],
                          msg_time=WHEN + timedelta(days=n))  # fmt: skip
        client.append(
            "Projects/2024", message("plan"), flags=[b"$Work", b"\\Flagged"], msg_time=WHEN
        )
        client.append("Sent Items", message("sent"), flags=[b"\\Seen"], msg_time=WHEN)
        client.append("Entwürfe", message("entwurf"), flags=[b"\\Draft"], msg_time=WHEN)
        client.select_folder("INBOX")
        client.delete_messages([2, 5])  # gaps in the UIDs: they must stay gaps
        client.expunge()


def test_an_account_arrives_with_its_uids_flags_dates_subscriptions_and_special_use(
    source: Server, target: Server, tmp_path: Path
) -> None:
    user = source.add_user()
    populate(source, user)
    out = run_migrate(source, target, user, tmp_path)
    assert f"created {user}" in out and "migrated 7 messages" in out
    assert "INBOX: 4 messages copied, UIDs kept" in out
    assert snapshot(target, user) == snapshot(source, user)
    # A CONDSTORE device asking for what changed since the MODSEQ it had at the source
    # hears of every message here (their flags once), never of none.
    with connect(source, user) as client:
        seen = client.folder_status("INBOX", ["HIGHESTMODSEQ"])[b"HIGHESTMODSEQ"]
    with connect(target, user) as client:
        client.select_folder("INBOX", readonly=True)
        every = client.search("ALL")
        changed = client.fetch(every, ["FLAGS"], modifiers=[f"CHANGEDSINCE {seen}"])
        here = client.fetch(every, ["MODSEQ"])
        assert len(changed) == 4, (seen, here)
        assert client.folder_status("INBOX", ["HIGHESTMODSEQ"])[b"HIGHESTMODSEQ"] > seen
    # Again: nothing twice.
    again = run_migrate(source, target, user, tmp_path)
    assert "migrated 0 messages" in again
    # Changes at the source before the cut-over: a run brings them.
    with connect(source, user) as client:
        client.select_folder("INBOX")
        client.add_flags([1], [b"\\Answered", b"$Later"])
        client.append("Projects/2024", message("late"), msg_time=WHEN)
    third = run_migrate(source, target, user, tmp_path)
    assert "INBOX: 0 messages copied, UIDs kept, flags updated on 1" in third
    assert "Projects/2024: 1 messages copied, UIDs kept" in third
    assert snapshot(target, user) == snapshot(source, user)


def test_mail_delivered_here_before_the_last_run_never_hides_the_sources(
    source: Server, target: Server, tmp_path: Path
) -> None:
    """The MX moved before the final run: a message delivered here took the UID that the
    source then gave to its own next message. Both are kept; the source's arrives as new
    mail, and every other UID still names the source's message."""
    user = source.add_user()
    populate(source, user)
    run_migrate(source, target, user, tmp_path)
    with connect(target, user) as client:
        client.append("INBOX", message("delivered here"))
    with connect(source, user) as client:
        client.append("INBOX", message("delivered there"), flags=[b"\\Seen"], msg_time=WHEN)
    out = run_migrate(source, target, user, tmp_path)
    assert "INBOX: 1 messages copied, UIDs kept" in out
    theirs, _ = snapshot(source, user)
    mine, _ = snapshot(target, user)
    validity, there = theirs["INBOX"]
    _, here = mine["INBOX"]
    (collided,) = set(here) & set(there) - {u for u in there if here[u] == there[u]}
    assert here[collided][2] == message("delivered here")
    assert {u: v for u, v in here.items() if u <= collided and u != collided} == {
        u: v for u, v in there.items() if u != collided
    }
    (arrived,) = set(here) - set(there)
    assert arrived > collided and here[arrived] == there[collided]
    assert mine["INBOX"][0] == validity


# Enough that the copy outlasts a look at the target (a login) by far.
MANY = 2500


def test_a_migration_killed_half_way_resumes_without_duplicates(
    source: Server, target: Server, tmp_path: Path
) -> None:
    user = source.add_user()
    mbox = tmp_path / "many.mbox"
    mbox.write_text(
        "".join(
            f"From a@b Mon Jan  3 10:00:00 2022\nSubject: m{n}\n\n{'x' * 1000}\n\n"
            for n in range(MANY)
        )
    )
    assert source.roost("import", "mbox", str(mbox), "--user", user).returncode == 0
    process = migrate(source, target, user, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while inbox_size(target, user) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert process.returncode == -signal.SIGKILL
    part = inbox_size(target, user)
    assert 0 < part < MANY, "the kill did not land half-way: the test proved nothing"
    out = run_migrate(source, target, user, tmp_path)
    assert f"INBOX: {MANY - part} messages copied, UIDs kept" in out
    assert snapshot(target, user) == snapshot(source, user)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


def test_sync_keeps_bringing_changes_until_interrupted(
    source: Server, target: Server, tmp_path: Path
) -> None:
    user = source.add_user()
    populate(source, user)
    process = migrate(source, target, user, tmp_path, "--sync", "0.2")
    try:
        wait_until(lambda: inbox_size(target, user) == 4, "first run")
        with connect(source, user) as client:
            client.append("INBOX", message("while syncing"), msg_time=WHEN)
            client.select_folder("INBOX")
            client.add_flags([3], [b"$Synced"])
        wait_until(lambda: snapshot(target, user) == snapshot(source, user), "sync")
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert "INBOX: 1 messages copied, UIDs kept" in out
