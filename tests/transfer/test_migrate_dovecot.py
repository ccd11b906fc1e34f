"""`roost migrate` from Debian's Dovecot (started as bench/ starts it: Maildir++, "." as
hierarchy separator, modified UTF-7 names): every folder arrives under Roost's name for it
("Projects.2024" becomes "Projects/2024") with Dovecot's UIDVALIDITY and UIDs, flags,
keywords, INTERNALDATE and subscriptions."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bench.servers import PASSWORD as DOVECOT_PASSWORD
from bench.servers import DovecotServer, wait_for_port
from imapclient import IMAPClient

from tests.e2e.conftest import Server, start_server, stop_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("dovecot") is None, reason="Debian's dovecot is missing"),
]

USER = "dave@example.org"
WHEN = datetime(2019, 7, 1, 8, 0, tzinfo=UTC)

# Per mailbox (Roost's name): UIDVALIDITY, and per UID (flags, INTERNALDATE, bytes).
Contents = dict[str, tuple[int, dict[int, tuple[object, ...]]]]


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    # Not under pytest's temporary directory: as root, that is 0700, and Dovecot's own
    # users must reach its passwd file and mail.
    with tempfile.TemporaryDirectory(prefix="roost-dovecot-") as work:
        Path(work).chmod(0o755)
        yield from _dovecot(Path(work))


def _dovecot(work: Path) -> Iterator[DovecotServer]:
    server = DovecotServer(work)
    server.write_config()
    # As DovecotServer.start does, but with its log file closed afterwards.
    with (server.workdir / "dovecot.stderr").open("ab") as log:
        server.process = subprocess.Popen(server.command(), stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for_port(server.port, server.process)
            server.add_users([USER])
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("target"))
    yield srv
    stop_server(srv)


def contents(client: IMAPClient, names: dict[str, str]) -> tuple[Contents, set[str]]:
    """The mailboxes names maps (their name on this server: Roost's name), and which of
    them are subscribed (by Roost's name)."""
    found: Contents = {}
    for theirs, ours in names.items():
        validity = client.select_folder(theirs, readonly=True)[b"UIDVALIDITY"]
        uids = client.search("ALL")
        fetched = client.fetch(uids, ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"]) if uids else {}
        found[ours] = (
            validity,
            {
                uid: (
                    frozenset(fetched[uid][b"FLAGS"]) - {b"\\Recent"},
                    fetched[uid][b"INTERNALDATE"].astimezone(UTC),
                    fetched[uid][b"BODY[]"],
                )
                for uid in uids
            },
        )
    subscribed = {names[n] for _, _, n in client.list_sub_folders() if n in names}
    return found, subscribed


def message(subject: str) -> bytes:
    return f"From: d@example.org\r\nSubject: {subject}\r\n\r\n{subject}\r\n".encode()


def test_an_account_moves_from_dovecot_with_its_uids(
    dovecot: DovecotServer, target: Server, tmp_path: Path
) -> None:
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=30) as client:
        client.login(USER, DOVECOT_PASSWORD)
        sep = client.namespace().personal[0][1]
        names = {"INBOX": "INBOX", f"Projects{sep}2024": "Projects/2024", "Entwürfe": "Entwürfe"}
        for name in list(names)[1:]:
            client.create_folder(name)
            client.subscribe_folder(name)
        client.unsubscribe_folder("Entwürfe")
        for n in range(5):
            flags = [b"\\Seen", b"$Label1"] if n % 2 else [b"\\Flagged"]
            client.append("INBOX", message(f"inbox {n}"), flags, WHEN + timedelta(hours=n))
        client.append(f"Projects{sep}2024", message("plan"), [b"\\Answered"], WHEN)
        client.append("Entwürfe", message("draft"), [b"\\Draft"], WHEN)
        client.select_folder("INBOX")
        client.delete_messages([1, 4])
        client.expunge()
        expected = contents(client, names)
    secret = tmp_path / "password"
    secret.write_text(DOVECOT_PASSWORD + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "roost", "migrate", "--from",
         f"imap://{USER.replace('@', '%40')}@{dovecot.host}:{dovecot.port}",
         "--password-file", str(secret)],
        env=target.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "migrated 5 messages" in result.stdout
    with IMAPClient(target.host, port=target.imap_port, ssl=False, timeout=30) as client:
        client.login(USER, DOVECOT_PASSWORD)  # the account was made with the source's password
        assert contents(client, {n: n for n in names.values()}) == expected
