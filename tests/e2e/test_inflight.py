"""Issue 9, against `roost serve`: authenticated clients that each send 16 MB of a 50 MB
APPEND literal, or of SMTP DATA, and stall, do not grow the server (the bytes wait in spool
files); a sentinel session and a fresh login still work; a complete large APPEND and a
large SMTP message arrive byte for byte."""

from __future__ import annotations

import imaplib
import smtplib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
CONNECTIONS = 12  # x 16 MiB: 192 MiB held in memory before the fix


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    srv = start_server(
        tmp_path_factory.mktemp("inflight"),
        extra_env={"ROOST_SMTP_PORT": str(port)},
        listeners=3,
    )
    srv.env["SMTP_PORT"] = str(port)
    yield srv
    stop_server(srv)


def rss(server: Server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(ln for ln in status.splitlines() if ln.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def read_line(sock: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        byte = sock.recv(1)
        assert byte, line
        line += byte
    return line


def stalled_append(server: Server, user: str) -> socket.socket:
    sock = socket.create_connection((server.host, server.imap_port), timeout=30)
    read_line(sock)
    sock.sendall(f'a LOGIN {user} "{PASSWORD}"\r\n'.encode())
    assert read_line(sock).startswith(b"a OK")
    sock.sendall(f"b APPEND INBOX {{{50 * MIB}}}\r\n".encode())
    assert read_line(sock).startswith(b"+ ")
    return sock


def stalled_data(server: Server, user: str) -> socket.socket:
    sock = socket.create_connection((server.host, int(server.env["SMTP_PORT"])), timeout=30)
    read_line(sock)
    for command, reply in (
        (b"EHLO client.test\r\n", b"250 "),
        (b"MAIL FROM:<carol@remote.test>\r\n", b"250 "),
        (f"RCPT TO:<{user}>\r\n".encode(), b"250 "),
        (b"DATA\r\n", b"354 "),
    ):
        sock.sendall(command)
        while not (line := read_line(sock)).startswith(reply[:3] + b" "):
            assert line[:3] == reply[:3], line
    sock.sendall(b"Subject: stalled\r\n\r\n")
    return sock


def send_16_mb(sock: socket.socket) -> None:
    # SMTP's longest line: 1,000 octets with CRLF (RFC 5321 §4.5.3.1.6).
    block = (b"s" * 998 + b"\r\n") * 1024  # 1,024,000 octets
    for _ in range(17):
        sock.sendall(block)


@pytest.mark.parametrize("start", [stalled_append, stalled_data], ids=["imap", "smtp"])
def test_stalled_senders_do_not_grow_the_server(own_server: Server, start: object) -> None:
    user = own_server.add_user()
    sentinel = imaplib.IMAP4(own_server.host, own_server.imap_port)
    sentinel.login(user, PASSWORD)
    sentinel.select("INBOX")
    before = rss(own_server)
    socks = [start(own_server, user) for _ in range(CONNECTIONS)]  # type: ignore[operator]
    try:
        for sock in socks:
            send_16_mb(sock)
        # Once the last send returned, the server has read all but the socket buffers.
        assert sentinel.noop()[0] == "OK"
        grown = rss(own_server) - before
        assert grown < 48 * MIB, f"grew by {grown / MIB:.0f} MiB"
        fresh = imaplib.IMAP4(own_server.host, own_server.imap_port)
        fresh.login(user, PASSWORD)
        assert fresh.select("INBOX")[0] == "OK"
        fresh.logout()
    finally:
        for sock in socks:
            sock.close()
    sentinel.logout()


def test_a_large_append_and_a_large_smtp_message_arrive_whole(own_server: Server) -> None:
    user = own_server.add_user()
    body = (b".line " + b"m" * 992 + b"\r\n") * (12 * 1024)
    appended = b"Subject: appended\r\n\r\n" + body
    mailed = b"Subject: mailed\r\n\r\n" + body
    client = imaplib.IMAP4(own_server.host, own_server.imap_port)
    client.login(user, PASSWORD)
    assert client.append("INBOX", None, None, appended)[0] == "OK"
    with smtplib.SMTP(own_server.host, int(own_server.env["SMTP_PORT"]), timeout=60) as smtp:
        assert smtp.sendmail("carol@remote.test", [user], mailed) == {}
    client.select("INBOX")
    typ, data = client.fetch("1:2", "(BODY.PEEK[])")
    assert typ == "OK"
    bodies = [part[1] for part in data if isinstance(part, tuple)]
    assert bodies[0] == appended
    assert bodies[1].endswith(mailed)
    client.logout()
