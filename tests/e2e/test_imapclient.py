"""IMAPClient (PyPI) as a device: IMAP4rev2, UTF-8 names, IDLE push, ESEARCH."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from tests.e2e.conftest import PASSWORD, Server

pytestmark = pytest.mark.e2e


@pytest.fixture
def device(server: Server, user: str) -> Iterator[IMAPClient]:
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=30)
    client.login(user, PASSWORD)
    yield client
    client.logout()


def connect(server: Server, user: str) -> IMAPClient:
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=30)
    client.login(user, PASSWORD)
    return client


def test_enable_rev2_and_utf8_folder(device: IMAPClient) -> None:
    assert b"IMAP4REV2" in device.capabilities()
    device.enable("IMAP4rev2")
    device.create_folder("Entwürfe")
    names = [name for _, _, name in device.list_folders()]
    assert "Entwürfe" in names


def test_folder_status_and_special_use(device: IMAPClient) -> None:
    assert device.find_special_folder(b"\\Sent") == "Sent"
    assert device.find_special_folder(b"\\Trash") == "Trash"
    status = device.folder_status("INBOX", ["MESSAGES", "UIDNEXT", "UNSEEN", "SIZE"])
    assert status[b"MESSAGES"] == 0 and status[b"UIDNEXT"] == 1


def test_append_search_fetch(device: IMAPClient) -> None:
    for i in range(5):
        device.append(
            "INBOX", f"Subject: note {i}\r\nFrom: n{i}@example.org\r\n\r\nbody {i}\r\n".encode()
        )
    device.select_folder("INBOX")
    uids = device.search(["FROM", "n3@example.org"])
    assert len(uids) == 1
    data = device.fetch(uids, ["ENVELOPE", "BODY.PEEK[TEXT]"])
    (msg,) = data.values()
    assert msg[b"ENVELOPE"].subject == b"note 3"
    assert msg[b"BODY[TEXT]"] == b"body 3\r\n"
    device.set_flags(uids, [b"\\Seen"])
    assert len(device.search(["UNSEEN"])) == 4
    device.delete_messages(uids)
    device.expunge()
    assert len(device.search(["ALL"])) == 4


def test_idle_device_hears_another_devices_append(server: Server, user: str) -> None:
    phone, laptop = connect(server, user), connect(server, user)
    phone.select_folder("INBOX")
    phone.idle()
    done = threading.Event()

    def append_later() -> None:
        laptop.append("INBOX", b"Subject: pushed\r\n\r\nhi\r\n")
        done.set()

    threading.Thread(target=append_later).start()
    responses = phone.idle_check(timeout=10)
    phone.idle_done()
    assert done.wait(10)
    assert (1, b"EXISTS") in responses
    laptop.select_folder("INBOX")
    phone.idle()
    # The change happens after IDLE began: a FETCH sent right behind "+ idling" could sit
    # in imaplib's read buffer, where idle_check's select() never sees it (flaked in CI).
    flagged = threading.Event()

    def flag_later() -> None:
        laptop.add_flags([1], [b"\\Flagged"])
        flagged.set()

    threading.Thread(target=flag_later).start()
    responses = phone.idle_check(timeout=30)
    responses += phone.idle_done()[1]
    assert flagged.wait(30)
    fetches = [r for r in responses if len(r) > 2 and r[1] == b"FETCH"]
    assert fetches and b"\\Flagged" in repr(fetches[0][2]).encode(), responses
    phone.logout()
    laptop.logout()


def test_expunge_reaches_other_device(server: Server, user: str) -> None:
    a, b = connect(server, user), connect(server, user)
    for i in range(3):
        a.append("INBOX", f"Subject: m{i}\r\n\r\nx\r\n".encode())
    a.select_folder("INBOX")
    b.select_folder("INBOX")
    a.delete_messages([2])
    a.expunge()
    responses = b.noop()[1]
    assert (2, b"EXPUNGE") in responses
    assert b.search(["ALL"]) == [1, 3]
    a.logout()
    b.logout()
