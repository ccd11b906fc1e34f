"""A device that was away comes back with QRESYNC and hears exactly what changed — also after
RENAME, MOVE, an expunge of the highest UID, and a server restart (RFC 7162)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server
from tests.e2e.rawimap import RawImap

pytestmark = pytest.mark.e2e


def login(server: Server, user: str) -> RawImap:
    client = RawImap(server.host, server.imap_port)
    client.ok(f'LOGIN {user} "{PASSWORD}"')
    return client


def state(client: RawImap, mailbox: str) -> tuple[int, int]:
    """(UIDVALIDITY, HIGHESTMODSEQ) as a device remembers them."""
    [line] = client.ok(f"STATUS {mailbox} (UIDVALIDITY HIGHESTMODSEQ)")
    m = re.search(rb"UIDVALIDITY (\d+) HIGHESTMODSEQ (\d+)", line)
    assert m is not None
    return int(m.group(1)), int(m.group(2))


def resync(client: RawImap, mailbox: str, validity: int, modseq: int, known: str) -> list[bytes]:
    return client.ok(f"SELECT {mailbox} (QRESYNC ({validity} {modseq} {known}))")


def vanished(lines: list[bytes]) -> list[bytes]:
    return [line for line in lines if line.startswith(b"* VANISHED")]


def fetches(lines: list[bytes]) -> list[bytes]:
    return [line for line in lines if b" FETCH " in line]


def append(client: RawImap, mailbox: str, subject: str, flags: str = "") -> None:
    body = f"Subject: {subject}\r\n\r\n{subject}\r\n".encode()
    client.ok(f"APPEND {mailbox} ({flags}) {{{len(body)}+}}\r\n".encode() + body)


def test_resync_after_changes_rename_move_and_restart(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        user = server.add_user()
        a = login(server, user)
        a.ok("CREATE Work")
        for i in range(1, 6):
            append(a, "Work", f"w{i}")
        append(a, "INBOX", "i1")
        c = login(server, user)
        c.ok("ENABLE QRESYNC IMAP4rev2")
        work_validity, work_modseq = state(c, "Work")
        inbox_validity, inbox_modseq = state(c, "INBOX")
        c.close()  # device C goes away

        a.ok("SELECT Work")
        a.ok("STORE 2 +FLAGS (\\Flagged)")
        a.ok("UID MOVE 3 INBOX")  # leaves Work, arrives in INBOX
        a.ok("UID STORE 5 +FLAGS (\\Deleted)")
        a.ok("UID EXPUNGE 5")  # the highest UID
        a.ok("UNSELECT")
        a.ok("RENAME Work Projects")
        a.close()
        stop_server(server)
        server = start_server(tmp_path / "data")  # the server restarted while C was away

        c = login(server, user)
        c.ok("ENABLE QRESYNC IMAP4rev2")
        # Work is gone: RENAME keeps the mailbox (and its UIDVALIDITY) under its new name.
        status, _ = c.command(f"SELECT Work (QRESYNC ({work_validity} {work_modseq}))")
        assert "NONEXISTENT" in status
        lines = resync(c, "Projects", work_validity, work_modseq, "1:5")
        assert vanished(lines) == [b"* VANISHED (EARLIER) 3,5"]
        [flagged] = fetches(lines)
        assert re.fullmatch(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)", flagged)
        assert b"* 3 EXISTS" in lines

        lines = resync(c, "INBOX", inbox_validity, inbox_modseq, "1")
        assert vanished(lines) == []
        [moved] = fetches(lines)
        assert re.fullmatch(rb"\* 2 FETCH \(UID 2 FLAGS \(\) MODSEQ \(\d+\)\)", moved)
        assert b"* 2 EXISTS" in lines
        c.close()
    finally:
        stop_server(server)


def test_idle_device_hears_exactly_the_changes(server: Server, user: str) -> None:
    a, b = login(server, user), login(server, user)
    for i in range(1, 4):
        append(a, "INBOX", f"m{i}")
    b.ok("ENABLE QRESYNC IMAP4rev2")
    b.ok("SELECT INBOX")
    a.ok("SELECT INBOX")
    b.file.write(b"idle IDLE\r\n")
    b.file.flush()
    assert b.read_line().startswith(b"+ ")
    a.ok("STORE 1 +FLAGS (\\Seen)")
    assert re.fullmatch(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)\r\n", b.read_line())
    a.ok("UID STORE 3 +FLAGS (\\Deleted)")
    assert re.fullmatch(
        rb"\* 3 FETCH \(UID 3 FLAGS \(\\Deleted\) MODSEQ \(\d+\)\)\r\n", b.read_line()
    )
    a.ok("EXPUNGE")
    assert b.read_line() == b"* VANISHED 3\r\n"
    append(a, "INBOX", "m4")
    assert b.read_line() == b"* 3 EXISTS\r\n"
    b.file.write(b"DONE\r\n")
    b.file.flush()
    assert b.read_line() == b"idle OK IDLE terminated\r\n"
    a.close()
    b.close()
