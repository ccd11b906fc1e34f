"""Imports reach live sessions: `roost import`, run as its own process beside a running
server, is seen at once by a client idling on the mailbox (the store publishes; the
server reads other processes' commits from the change log), with flags and dates intact."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server
from tests.e2e.test_cross_process import idling, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("roost-data"))
    yield srv
    stop_server(srv)


def test_an_import_reaches_an_idling_client_with_flags_and_dates(
    server: Server, tmp_path: Path
) -> None:
    user = server.add_user()
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    when = datetime(2019, 5, 4, 3, 2, 1, tzinfo=UTC)
    for n in range(3):
        path = root / "cur" / f"15569{n}.M{n}.host:2,{'FS' if n == 0 else ''}"
        path.write_bytes(f"From: a@b\nSubject: imported {n}\n\nbody {n}\n".encode())
        os.utime(path, (when.timestamp(), when.timestamp()))
    client = idling(server, user)
    try:
        result = server.roost("import", "maildir", str(root), "--user", user)
        assert result.returncode == 0, result.stderr
        assert "imported 3 messages" in result.stdout
        seen = wait_for(client, b"EXISTS")
        assert (3, b"EXISTS") in seen
        client.idle_done()
        fetched = client.fetch(client.search("ALL"), ["FLAGS", "INTERNALDATE"])
        flags = [set(fetched[uid][b"FLAGS"]) - {b"\\Recent"} for uid in sorted(fetched)]
        assert flags == [{b"\\Flagged", b"\\Seen"}, set(), set()]
        dates = {fetched[uid][b"INTERNALDATE"].astimezone(UTC) for uid in fetched}
        assert dates == {when}
    finally:
        client.logout()
    again = server.roost("import", "maildir", str(root), "--user", user)
    assert "imported 0 messages" in again.stdout, again.stderr
    with IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=10) as check:
        check.login(user, PASSWORD)
        assert check.select_folder("INBOX")[b"EXISTS"] == 3
