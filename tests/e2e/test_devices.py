"""Three devices on one account over real sockets (DESIGN.md promise 2, "every device
converges"): A (IMAPClient) changes things, B idles and must hear exactly the right untagged
responses, C was away and comes back with QRESYNC after the server restarted — and each
one's picture of the mailbox, built only from what it heard (tests/imap/device.py), equals
the server's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from imapclient import IMAPClient

from roost.proto.imap.seqset import compress
from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server
from tests.e2e.rawimap import RawImap
from tests.imap.device import DeviceView

pytestmark = pytest.mark.e2e

MODSEQ = rb" MODSEQ \(\d+\)"


class Device:
    """A RawImap connection with QRESYNC and IMAP4rev2 and the view it builds."""

    def __init__(self, server: Server, user: str) -> None:
        self.raw = RawImap(server.host, server.imap_port, timeout=60)
        self.raw.ok(f'LOGIN {user} "{PASSWORD}"')
        self.raw.ok("ENABLE QRESYNC IMAP4rev2")
        self.view = DeviceView()
        self.state = (0, 0)  # (UIDVALIDITY, HIGHESTMODSEQ) at SELECT

    def feed(self, lines: list[bytes]) -> None:
        self.view.feed([line.decode().rstrip("\r\n") for line in lines])

    def select(self, mailbox: str) -> None:
        self.view.start_select()
        lines = self.raw.ok(f"SELECT {mailbox}")
        self.feed(lines)
        self._remember(lines)
        self.feed(self.raw.ok("FETCH 1:* (UID FLAGS)") if self.view.uids else [])

    def resync(
        self, mailbox: str, cache: tuple[int, int, dict[int, frozenset[str]]]
    ) -> list[bytes]:
        validity, modseq, known = cache
        self.view.start_resync(known)
        uids = compress(sorted(known)).decode()
        lines = self.raw.ok(f"SELECT {mailbox} (QRESYNC ({validity} {modseq} {uids}))")
        self.feed(lines)
        self.view.finish_resync()
        self._remember(lines)
        return [line for line in lines if b"VANISHED" in line or b"FETCH" in line]

    def _remember(self, lines: list[bytes]) -> None:
        text = b"\n".join(lines)
        validity = re.search(rb"\[UIDVALIDITY (\d+)\]", text)
        highest = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", text)
        assert validity is not None and highest is not None
        self.state = (int(validity.group(1)), int(highest.group(1)))

    def cache(self) -> tuple[int, int, dict[int, frozenset[str]]]:
        return (*self.state, self.view.snapshot())

    # --- IDLE: exact lines ---------------------------------------------------------------
    def idle(self) -> None:
        self.raw.file.write(b"idle IDLE\r\n")
        self.raw.file.flush()
        assert self.raw.read_line().startswith(b"+ ")

    def hears(self, *expected: bytes) -> None:
        """The next lines, each matching its pattern (nothing before or between them)."""
        got = [self.raw.read_line().rstrip(b"\r\n") for _ in expected]
        for line, pattern in zip(got, expected, strict=True):
            assert re.fullmatch(pattern, line), (got, expected)
        self.feed(got)

    def done(self) -> None:
        self.raw.file.write(b"DONE\r\n")
        self.raw.file.flush()
        assert self.raw.read_line() == b"idle OK IDLE terminated\r\n"

    def fill(self) -> None:
        """What a client does after an EXISTS: fetch the new messages (DONE, FETCH, IDLE)."""
        first = self.view.first_unknown()
        assert first is not None
        self.done()
        self.feed(self.raw.ok(f"FETCH {first}:* (UID FLAGS)"))
        self.idle()


def server_view(server: Server, user: str, mailbox: str) -> dict[int, frozenset[str]]:
    """The server's state, read by a fresh connection."""
    with IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=60) as client:
        client.login(user, PASSWORD)
        client.select_folder(mailbox, readonly=True)
        uids = client.search()
        data = client.fetch(uids, ["FLAGS"]) if uids else {}
        return {
            uid: frozenset(f.decode() for f in item[b"FLAGS"] if f != b"\\Recent")
            for uid, item in data.items()
        }


def message(subject: str) -> bytes:
    return f"Subject: {subject}\r\nFrom: a@example.org\r\n\r\n{subject}\r\n".encode()


def device_a(server: Server, user: str) -> IMAPClient:
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=60)
    client.login(user, PASSWORD)
    return client


def test_three_devices_converge_across_move_rename_expunge_and_restart(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        user = server.add_user()
        a = device_a(server, user)
        a.create_folder("Work")
        for i in range(1, 5):
            a.append("Work", message(f"w{i}"))  # UIDs 1-4
        a.append("INBOX", message("i1"))

        # C looks at both mailboxes, remembers them, and goes away.
        c = Device(server, user)
        c.select("INBOX")
        c_inbox = c.cache()
        c.select("Work")
        c_work = c.cache()
        c.raw.close()

        b = Device(server, user)
        b.select("Work")
        b.idle()

        a.select_folder("Work")
        a.add_flags([2], [b"\\Flagged"])
        b.hears(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\)" + MODSEQ + rb"\)")
        a.append("Work", message("w5"), flags=[b"\\Seen"])  # UID 5
        b.hears(rb"\* 5 EXISTS")
        b.fill()
        assert b.view.uids[-1] == 5 and b.view.flags[5] == {"\\Seen"}

        emailid = a.fetch([3], ["EMAILID"])[3][b"EMAILID"]
        a.move([3], "INBOX")  # w3 leaves Work: INBOX UID 2
        b.hears(rb"\* VANISHED 3")
        a.select_folder("INBOX")
        assert a.fetch([2], ["EMAILID"])[2][b"EMAILID"] == emailid  # RFC 8474: kept by MOVE
        a.move([1], "Work")  # i1 arrives in Work: UID 6
        b.hears(rb"\* 5 EXISTS")
        b.fill()
        assert b.view.uids == [1, 2, 4, 5, 6]

        a.unselect_folder()
        a.rename_folder("Work", "Projects")  # B's selected mailbox keeps its identity
        a.select_folder("Projects")
        a.delete_messages([6])
        b.hears(rb"\* 5 FETCH \(UID 6 FLAGS \(\\Deleted\)" + MODSEQ + rb"\)")
        a.expunge()  # the highest UID
        b.hears(rb"\* VANISHED 6")
        b.done()
        assert b.view.snapshot() == server_view(server, user, "Projects")
        b.raw.close()
        a.logout()

        stop_server(server)
        server = start_server(tmp_path / "data")  # the server restarts while C is away

        a = device_a(server, user)
        a.select_folder("Projects")
        a.remove_flags([2], [b"\\Flagged"])
        a.append("Projects", message("w7"))  # UID 7
        a.logout()

        c = Device(server, user)
        lines = c.resync("Projects", c_work)
        # Exactly what changed since C's modseq: 3 left (6 came and went, unknown to C),
        # 2 changed flags twice, 5 and 7 are new.
        expected = [
            rb"\* VANISHED \(EARLIER\) 3",
            rb"\* 2 FETCH \(UID 2 FLAGS \(\)" + MODSEQ + rb"\)",
            rb"\* 4 FETCH \(UID 5 FLAGS \(\\Seen\)" + MODSEQ + rb"\)",
            rb"\* 5 FETCH \(UID 7 FLAGS \(\)" + MODSEQ + rb"\)",
        ]
        assert len(lines) == len(expected), lines
        for line, pattern in zip(lines, expected, strict=True):
            assert re.fullmatch(pattern, line), lines
        assert c.view.snapshot() == server_view(server, user, "Projects")

        lines = c.resync("INBOX", c_inbox)
        assert len(lines) == 2, lines
        assert lines[0] == b"* VANISHED (EARLIER) 1"
        assert re.fullmatch(rb"\* 1 FETCH \(UID 2 FLAGS \(\)" + MODSEQ + rb"\)", lines[1])
        assert c.view.snapshot() == server_view(server, user, "INBOX") == {2: frozenset()}
        c.raw.close()
    finally:
        stop_server(server)
