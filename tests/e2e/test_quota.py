"""Quotas end to end: `roost user quota` on the running server's store, then imaplib over
a real socket appends until [OVERQUOTA] and reads the numbers with GETQUOTA."""

from __future__ import annotations

import imaplib
import re

import pytest

from tests.e2e.conftest import PASSWORD, Server

pytestmark = pytest.mark.e2e

# 1024 octets: one STORAGE unit (RFC 9208 §5.1).
NOTE = b"Subject: Note\r\n\r\n" + b"x" * 1005 + b"\r\n"


def test_append_until_over_quota_then_getquota(server: Server, user: str) -> None:
    assert len(NOTE) == 1024
    result = server.roost("user", "quota", user, "--storage", "3K", "--messages", "100")
    assert result.returncode == 0, result.stderr
    client = imaplib.IMAP4(server.host, server.imap_port)
    try:
        client.login(user, PASSWORD)
        typ, data = client.capability()
        assert typ == "OK" and data[0] is not None
        caps = data[0].decode().split()
        assert {"QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"} <= set(caps)
        assert any(re.fullmatch(r"APPENDLIMIT=\d+", cap) for cap in caps)
        stored = 0
        for _ in range(10):
            typ, data = client.append("INBOX", "", None, NOTE)
            if typ != "OK":
                break
            stored += 1
        assert (stored, typ) == (3, "NO")
        assert data[0] is not None and data[0].startswith(b"[OVERQUOTA]")
        typ, data = client.getquota('""')
        assert (typ, data) == ("OK", [b'"" (STORAGE 3 3 MESSAGE 3 100)'])
        typ, data = client.getquotaroot("INBOX")
        assert typ == "OK" and data == [[b'"INBOX" ""'], [b'"" (STORAGE 3 3 MESSAGE 3 100)']]
        # Raising the limit from the command line takes effect at once.
        assert server.roost("user", "quota", user, "--storage", "none").returncode == 0
        assert client.append("INBOX", "", None, NOTE)[0] == "OK"
        assert client.getquota('""') == ("OK", [b'"" (MESSAGE 4 100)'])
    finally:
        client.logout()
    shown = server.roost("user", "quota", user)
    assert shown.returncode == 0
    assert shown.stdout.splitlines()[1:] == [
        "  storage: 4096 bytes used, no limit",
        "  messages: 4 used of 100",
    ]
