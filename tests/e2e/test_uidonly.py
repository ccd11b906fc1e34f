"""UIDONLY over a real socket (RFC 9586): an idling UIDONLY device hears UIDFETCH and VANISHED,
never a sequence number, and is refused one with [UIDREQUIRED]."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Server
from tests.e2e.test_resync import append, login

pytestmark = pytest.mark.e2e


def test_uidonly_device_hears_uids_only(server: Server, user: str) -> None:
    a, b = login(server, user), login(server, user)
    for i in range(1, 4):
        append(a, "INBOX", f"m{i}")
    b.ok("ENABLE UIDONLY IMAP4rev2")
    b.ok("SELECT INBOX")
    status, _ = b.command("FETCH 1 FLAGS")
    assert status.endswith("BAD [UIDREQUIRED] Use UIDs: UIDONLY is enabled")
    b.file.write(b"idle IDLE\r\n")
    b.file.flush()
    assert b.read_line().startswith(b"+ ")
    a.ok("SELECT INBOX")
    a.ok("STORE 2 +FLAGS (\\Seen)")
    assert b.read_line() == b"* 2 UIDFETCH (FLAGS (\\Seen))\r\n"
    a.ok("UID STORE 3 +FLAGS.SILENT (\\Deleted)")
    assert b.read_line() == b"* 3 UIDFETCH (FLAGS (\\Deleted))\r\n"
    a.ok("EXPUNGE")
    assert b.read_line() == b"* VANISHED 3\r\n"
    append(a, "INBOX", "m4")
    assert b.read_line() == b"* 3 EXISTS\r\n"
    b.file.write(b"DONE\r\n")
    b.file.flush()
    assert b.read_line() == b"idle OK IDLE terminated\r\n"
    lines = b.ok("UID FETCH 3:* (FLAGS)")
    assert len(lines) == 1 and re.fullmatch(rb"\* 4 UIDFETCH \(UID 4 FLAGS \(\)\)", lines[0])
    a.close()
    b.close()
