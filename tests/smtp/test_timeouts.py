"""Issue 9: time limits on SMTP. A message in DATA earns time as it arrives, so a steady
sender finishes however long it takes and a trickle is cut off; a timeout says 421 before
closing; a submission client must log in within the login window. The command timeout is
shortened to 1 s here (it is 300 s, RFC 5321 §4.5.3.2.7)."""

from __future__ import annotations

import socket
import time

import pytest

from roost.smtp import protocol
from roost.smtp import server as server_module
from tests.smtp.harness import Harness


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "TIMEOUT", 1)
    monkeypatch.setattr(protocol, "DATA_MIN_RATE", 100_000)
    monkeypatch.setattr(protocol, "_CREDIT_EVERY", 10_000)


def open_data(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    reader = sock.makefile("rb")
    assert reader.readline().startswith(b"220 ")
    for command in (
        b"EHLO client.test",
        b"MAIL FROM:<c@remote.test>",
        b"RCPT TO:<alice@example.org>",
    ):
        sock.sendall(command + b"\r\n")
        while (line := reader.readline())[3:4] == b"-":
            pass
        assert line.startswith(b"250 "), line
    sock.sendall(b"DATA\r\n")
    assert reader.readline().startswith(b"354 ")
    sock.sendall(b"Subject: slow\r\n\r\n")
    return sock


def test_a_steady_sender_gets_the_time_its_message_needs(roost: Harness) -> None:
    sock = open_data(roost.smtp)
    line = b"x" * 998 + b"\r\n"
    started = time.monotonic()
    for _ in range(8):  # 400 kB over 2.4 s: longer than the 1 s timeout, 166 kB/s
        sock.sendall(line * 50)
        time.sleep(0.3)
    sock.sendall(b".\r\n")
    reply = sock.makefile("rb").readline()
    assert time.monotonic() - started > 2
    assert reply.startswith(b"250 "), reply
    sock.close()
    assert len(roost.messages("alice@example.org")) == 1


def test_a_trickle_in_data_is_cut_off_with_421(roost: Harness) -> None:
    sock = open_data(roost.smtp)
    started = time.monotonic()
    received = b""
    for _ in range(40):  # a line every 0.1 s, 10 kB/s: under the minimum rate
        try:
            sock.sendall(b"y" * 998 + b"\r\n")
            time.sleep(0.1)
        except OSError:
            break
    sock.settimeout(5)
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except OSError:
        pass
    assert received.startswith(b"421 4.4.2 mx.test Timeout"), received
    assert time.monotonic() - started < 3.5
    sock.close()
    assert roost.messages("alice@example.org") == []


def test_a_submission_client_must_log_in_within_the_window(
    roost: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(protocol, "LOGIN_WINDOW", 1)
    monkeypatch.setattr(server_module, "TIMEOUT", 300)
    member = roost.submit_client("alice@example.org", tls=False)
    stranger = socket.create_connection(("127.0.0.1", roost.submission), timeout=5)
    reader = stranger.makefile("rb")
    assert reader.readline().startswith(b"220 ")
    started = time.monotonic()
    for _ in range(5):  # commands keep the command timer going, but not the window
        stranger.sendall(b"NOOP\r\n")
        assert reader.readline().startswith(b"250 ")
        time.sleep(0.1)
    assert reader.readline() == b"421 4.7.0 mx.test Log in within 1 seconds; closing\r\n"
    assert reader.readline() == b""  # closed
    assert 0.9 < time.monotonic() - started < 3
    stranger.close()
    time.sleep(0.5)
    assert member.noop()[0] == 250  # logged in: the window does not apply to it
    member.quit()
