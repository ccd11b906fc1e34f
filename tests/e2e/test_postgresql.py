"""`roost serve` and the `roost` CLI on PostgreSQL (database_url), driven by imaplib."""

from __future__ import annotations

import imaplib
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, start_server, stop_server

pytestmark = pytest.mark.e2e

MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.org>\r\n"
    b"Subject: =?UTF-8?Q?Stra=C3=9Fe?= works\r\n"
    b"Message-ID: <works@example.org>\r\n"
    b"\r\n"
    b"The zebrafish crossing is finished.\r\n"
)


def test_serve_and_the_cli_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, extra_env={"ROOST_DATABASE_URL": postgres_url})
    try:
        address = server.add_user("bob@example.org")  # the CLI, on the same URL
        listed = server.roost("user", "list")
        assert listed.returncode == 0 and address in listed.stdout, listed.stderr
        client = imaplib.IMAP4(server.host, server.imap_port)
        client.login(address, PASSWORD)
        status, data = client.append("INBOX", "(\\Seen)", None, MESSAGE)
        assert status == "OK" and b"APPENDUID" in data[0], data
        assert client.select("INBOX") == ("OK", [b"1"])
        assert client.uid("SEARCH", "TEXT", "STRASSE") == ("OK", [b"1"])
        assert client.uid("SEARCH", "BODY", "ZEBRAFISH") == ("OK", [b"1"])
        assert client.uid("SEARCH", "HEADER", "Message-ID", "works@") == ("OK", [b"1"])
        status, fetched = client.uid("FETCH", "1", "(FLAGS BODY.PEEK[])")
        assert status == "OK" and fetched[0] is not None
        assert fetched[0][1] == MESSAGE and b"\\Seen" in fetched[0][0]
        client.uid("STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
        assert client.expunge() == ("OK", [b"1"])
        client.append("INBOX", None, None, MESSAGE)
        client.logout()
    finally:
        stop_server(server)
    # Nothing of the store is in data_dir: the database holds it all, and it stays.
    assert not (data_dir / "roost.db").exists() and not (data_dir / "blobs").exists()
    server = start_server(data_dir, extra_env={"ROOST_DATABASE_URL": postgres_url})
    try:
        client = imaplib.IMAP4(server.host, server.imap_port)
        client.login("bob@example.org", PASSWORD)
        assert client.select("INBOX", readonly=True) == ("OK", [b"1"])
        assert client.uid("SEARCH", "ALL") == ("OK", [b"2"])
        client.logout()
    finally:
        stop_server(server)
