"""An initial sync over a real socket (imaplib): FETCH 1:* of the stored items of a few
hundred messages answers every message once, in order, with what was appended."""

from __future__ import annotations

import imaplib
import re

import pytest

from tests.e2e.conftest import PASSWORD, Server

pytestmark = pytest.mark.e2e

COUNT = 300


def message(n: int) -> bytes:
    body = b"Hello number %d\r\n" % n + b"x" * (n % 50)
    if n % 2:
        return (
            b"From: Sender %d <s%d@example.org>\r\nTo: bob@example.org\r\n"
            b"Subject: Sync %d\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\n" % (n, n, n) + body
        )
    return (
        b'From: s%d@example.org\r\nSubject: Sync %d\r\nContent-Type: multipart/mixed; boundary="b"'
        b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" % (n, n) + body + b"\r\n--b--\r\n"
    )


def test_fetch_stored_items_of_every_message(server: Server) -> None:
    user = server.add_user()
    client = imaplib.IMAP4(server.host, server.imap_port, timeout=120)
    try:
        client.login(user, PASSWORD)
        for n in range(1, COUNT + 1):
            client.append("INBOX", "(\\Seen)" if n % 3 == 0 else None, None, message(n))
        client.select("INBOX")
        client.uid("STORE", "10:19", "+FLAGS.SILENT", "(\\Flagged $Work)")
        typ, data = client.fetch(
            "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE MODSEQ)"
        )
        assert typ == "OK"
        lines = [d for d in data if isinstance(d, bytes)]
        assert len(lines) == COUNT
        for n, line in enumerate(lines, 1):
            assert line.startswith(b"%d (UID %d FLAGS (" % (n, n)), line
            flags = re.search(rb"FLAGS \(([^)]*)\)", line)
            assert flags is not None
            wanted = {b"\\Seen"} if n % 3 == 0 else set()
            if 10 <= n <= 19:
                wanted |= {b"\\Flagged", b"$Work"}
            assert set(flags[1].split()) - {b"\\Recent"} == wanted, line
            assert b" RFC822.SIZE %d " % len(message(n)) in line
            assert b' "Sync %d" ' % n in line  # the envelope's subject
            structure = b'"MIXED" ("BOUNDARY" "b")' if n % 2 == 0 else b'("TEXT" "PLAIN" '
            assert structure in line
            assert re.search(rb" MODSEQ \(\d+\)\)$", line), line
        # The same items by UID, for part of the set, agree with the full answer.
        typ, again = client.uid("FETCH", "299,5,100:102", "(FLAGS ENVELOPE)")
        assert typ == "OK"
        got = [d for d in again if isinstance(d, bytes)]
        assert [int(d.split(b" ")[0]) for d in got] == [5, 100, 101, 102, 299]
    finally:
        client.logout()
