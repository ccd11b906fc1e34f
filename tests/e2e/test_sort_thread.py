"""SORT, THREAD, ESORT, PARTIAL and WITHIN over a real socket: IMAPClient's sort() and
thread(), and the exact ESEARCH lines through the raw client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from tests.e2e.conftest import PASSWORD, Server
from tests.e2e.rawimap import RawImap

pytestmark = pytest.mark.e2e


def message(n: int, subject: str, day: int, refs: str = "", size: int = 10) -> bytes:
    headers = [
        f"From: sender{n}@example.org",
        f"Subject: {subject}",
        f"Date: {day:02d} Mar 2024 12:00:00 +0000",
        f"Message-ID: <m{n}@example.org>",
    ]
    if refs:
        headers.append(f"References: {refs}")
    return ("\r\n".join(headers) + "\r\n\r\n" + "x" * size + "\r\n").encode()


# UID: subject, sent day, References, body size
MAILBOX = [
    message(1, "Plans", 3, size=500),
    message(2, "Re: Plans", 5, "<m1@example.org>", size=5),
    message(3, "=?UTF-8?Q?Agenda?=", 1, size=300),
    message(4, "Re: Re: Plans", 4, "<m1@example.org> <m2@example.org>", size=900),
    message(5, "[list] Fwd: Agenda", 9, size=100),
]


@pytest.fixture
def device(server: Server, user: str) -> Iterator[IMAPClient]:
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=60)
    client.login(user, PASSWORD)
    for data in MAILBOX:
        client.append("INBOX", data)
    client.select_folder("INBOX")
    yield client
    client.logout()


def test_imapclient_sort_and_thread(device: IMAPClient) -> None:
    caps = device.capabilities()
    for cap in (b"SORT", b"SORT=DISPLAY", b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT"):
        assert cap in caps
    assert device.sort(["DATE"]) == [3, 1, 4, 2, 5]
    assert device.sort(["REVERSE SIZE"]) == [4, 1, 3, 5, 2]
    # base subjects: Agenda (3, 5), Plans (1, 2, 4); ties by date
    assert device.sort(["SUBJECT", "DATE"]) == [3, 5, 1, 4, 2]
    assert device.sort(["ARRIVAL"], ["SUBJECT", "plans"]) == [1, 2, 4]
    # 1 <- 2 <- 4 by References; 5 is a forward of 3 by subject
    assert device.thread("REFERENCES") == ((3, 5), (1, 2, 4))
    assert device.thread("ORDEREDSUBJECT") == ((3, 5), (1, (4,), (2,)))
    assert device.search(["YOUNGER", 3600]) == [1, 2, 3, 4, 5]
    assert device.search(["OLDER", 3600]) == []


def test_esort_and_partial_lines(server: Server, user: str, device: IMAPClient) -> None:
    raw = RawImap(server.host, server.imap_port, timeout=60)
    try:
        raw.ok(f'LOGIN {user} "{PASSWORD}"')
        raw.ok("SELECT INBOX")
        lines = raw.ok("UID SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL")
        assert lines == [b'* ESEARCH (TAG "t3") UID MIN 3 MAX 5 ALL 3,1,4,2,5 COUNT 5']
        lines = raw.ok("UID SEARCH RETURN (PARTIAL -1:-2) ALL")
        assert lines == [b'* ESEARCH (TAG "t4") UID PARTIAL (-1:-2 4:5)']
        lines = raw.ok("UID FETCH 1:* (UID) (PARTIAL 2:3)")
        assert lines == [b"* 2 FETCH (UID 2)", b"* 3 FETCH (UID 3)"]
        status, _ = raw.command("FETCH 1:* (UID) (PARTIAL 2:3)")
        assert status.split()[1] == "BAD"
    finally:
        raw.close()
