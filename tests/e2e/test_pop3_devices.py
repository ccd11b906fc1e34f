"""A POP3 client and two IMAP devices on one INBOX at once, over real sockets: A (IMAPClient)
changes things, B idles with QRESYNC and builds its picture only from what it hears
(tests/imap/device.py), P (poplib) downloads and deletes. Nobody sees anything wrong: B's
picture and A's equal the server's, P's snapshot stays consistent, and P's QUIT removes
exactly what P deleted."""

from __future__ import annotations

import poplib
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from tests.e2e.conftest import PASSWORD, stop_server
from tests.e2e.test_devices import MODSEQ, Device, message, server_view
from tests.e2e.test_pop3 import Pop3Server, start_pop3

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pop3Server]:
    srv = start_pop3(tmp_path_factory.mktemp("roost-pop3-devices"))
    yield srv
    stop_server(srv.server)


def test_one_pop3_client_and_two_imap_devices(pop: Pop3Server) -> None:
    user = pop.server.add_user()
    a = IMAPClient(pop.host, port=pop.server.imap_port, ssl=False, timeout=60)
    a.login(user, PASSWORD)
    for i in range(1, 6):
        a.append("INBOX", message(f"m{i}"))  # UIDs 1-5
    a.select_folder("INBOX")

    b = Device(pop.server, user)
    b.select("INBOX")
    b.idle()

    p = pop.client()
    p.user(user)
    p.pass_(PASSWORD)
    assert p.stat()[0] == 5
    p.dele(1)

    a.move([2], "Archive")  # an IMAP device takes m2 away under P's snapshot
    b.hears(rb"\* VANISHED 2")
    a.add_flags([3], [b"\\Flagged"])
    b.hears(rb"\* 2 FETCH \(UID 3 FLAGS \(\\Flagged\)" + MODSEQ + rb"\)")

    assert [line.split()[0] for line in p.list()[1]] == [b"2", b"3", b"4", b"5"]  # unchanged
    with pytest.raises(poplib.error_proto, match="message 2 was deleted by another client"):
        p.retr(2)
    _, lines, _ = p.retr(3)
    assert b"Subject: m3" in lines
    p.dele(2)
    p.dele(4)
    assert p.quit().startswith(b"+OK Bye; 3 deleted, 2 left")
    # m1 and m4 go (m2 already had); B hears it at once, and nothing else.
    b.hears(rb"\* VANISHED 1,4")

    a.append("INBOX", message("m6"))  # UID 6: only the next POP3 session sees it
    b.hears(rb"\* 3 EXISTS")
    b.fill()
    b.done()

    expected = {3: frozenset({"\\Flagged"}), 5: frozenset(), 6: frozenset()}
    assert b.view.snapshot() == server_view(pop.server, user, "INBOX") == expected
    a.noop()
    assert set(a.search()) == set(expected)
    a.logout()
    b.raw.close()

    again = pop.client()
    again.user(user)
    again.pass_(PASSWORD)
    assert [line.split()[1].split(b".")[1] for line in again.uidl()[1]] == [b"3", b"5", b"6"]
    again.quit()
