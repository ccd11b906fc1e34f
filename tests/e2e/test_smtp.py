"""End to end: the real `roost serve` with its SMTP, submission and LMTP listeners, driven by
Debian's swaks and by smtplib, mail read back over IMAP, a second aiosmtpd as smarthost."""

from __future__ import annotations

import imaplib
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server
from tests.smtp.harness import RemoteMx

pytestmark = pytest.mark.e2e

SWAKS = "/usr/bin/swaks"


@dataclass
class SmtpPorts:
    submission: int
    submissions: int
    smtp: int
    lmtp: int


def smtp_server(data_dir: Path, smarthost_port: int) -> tuple[Server, SmtpPorts]:
    ports = SmtpPorts(free_port(), free_port(), free_port(), free_port())
    config = data_dir.parent / f"{data_dir.name}.toml"
    config.write_text(
        f'smarthost = "127.0.0.1"\nsmarthost_port = {smarthost_port}\n'
        "smarthost_starttls = false\nqueue_retry = 1\n",
        encoding="utf-8",
    )
    server = start_server(
        data_dir,
        config=config,
        extra_env={
            "ROOST_SUBMISSION_PORT": str(ports.submission),
            "ROOST_SUBMISSIONS_PORT": str(ports.submissions),
            "ROOST_SMTP_PORT": str(ports.smtp),
            "ROOST_LMTP_PORT": str(ports.lmtp),
        },
        listeners=7,  # IMAP x2, submission x2, SMTP, LMTP and the LMTP socket
    )
    return server, ports


@pytest.fixture(scope="module")
def remote() -> Iterator[RemoteMx]:
    mx = RemoteMx()
    yield mx
    mx.stop()


@pytest.fixture(scope="module")
def mail_server(
    tmp_path_factory: pytest.TempPathFactory, remote: RemoteMx
) -> Iterator[tuple[Server, SmtpPorts]]:
    server, ports = smtp_server(tmp_path_factory.mktemp("smtp") / "data", remote.port)
    yield server, ports
    stop_server(server)


def swaks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SWAKS, "--server", "127.0.0.1", "--helo", "client.test", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def imap_messages(server: Server, user: str, mailbox: str = "INBOX") -> list[bytes]:
    with imaplib.IMAP4("127.0.0.1", server.imap_port) as client:
        client.login(user, PASSWORD)
        client.select(mailbox, readonly=True)
        _, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        return [part[1] for part in data if isinstance(part, tuple)]


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_swaks_submits_with_starttls_and_auth(mail_server: tuple[Server, SmtpPorts]) -> None:
    server, ports = mail_server
    alice, bob = server.add_user(), server.add_user()
    result = swaks(
        "--port", str(ports.submission), "--tls",
        "--auth", "PLAIN", "--auth-user", alice, "--auth-password", PASSWORD,
        "--from", alice, "--to", bob,
        "--header", f"From: {alice}", "--header", "Subject: by swaks",
        "--body", "Hello from swaks.",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "250 2.0.0 OK, queued as" in result.stdout
    [delivered] = imap_messages(server, bob)
    assert b"Subject: by swaks" in delivered
    assert b"with ESMTPSA" in delivered
    [sent] = imap_messages(server, alice, "Sent")
    assert b"Subject: by swaks" in sent


def test_swaks_implicit_tls_and_login(mail_server: tuple[Server, SmtpPorts]) -> None:
    server, ports = mail_server
    alice = server.add_user()
    result = swaks(
        "--port", str(ports.submissions), "--tls-on-connect",
        "--auth", "LOGIN", "--auth-user", alice, "--auth-password", PASSWORD,
        "--from", alice, "--to", alice, "--header", f"From: {alice}",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # Sent to oneself: one copy in INBOX, one in Sent.
    assert len(imap_messages(server, alice)) == 1
    assert len(imap_messages(server, alice, "Sent")) == 1


def test_swaks_open_relay_attempt_is_refused(
    mail_server: tuple[Server, SmtpPorts], remote: RemoteMx
) -> None:
    server, ports = mail_server
    before = len(remote.received)
    result = swaks("--port", str(ports.smtp), "--from", "spam@spam.test", "--to", "x@victim.test")
    assert result.returncode != 0
    assert "550 5.7.1 <x@victim.test>: relaying denied" in result.stdout
    result = server.roost("queue", "list")
    assert result.stdout.strip() == "the queue is empty"
    assert len(remote.received) == before


def test_swaks_inbound_unknown_user(mail_server: tuple[Server, SmtpPorts]) -> None:
    server, ports = mail_server
    server.add_user("someone@example.org")
    result = swaks("--port", str(ports.smtp), "--to", "nobody@example.org")
    assert result.returncode != 0
    assert "550 5.1.1 <nobody@example.org>: no such user here" in result.stdout


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


def test_inbound_mail_is_pushed_to_an_idling_imap_session(
    mail_server: tuple[Server, SmtpPorts],
) -> None:
    server, ports = mail_server
    bob = server.add_user()
    with socket.create_connection(("127.0.0.1", server.imap_port), timeout=20) as imap:
        read_until(imap, b"\r\n")
        imap.sendall(f'a LOGIN {bob} "{PASSWORD}"\r\n'.encode())
        read_until(imap, b"a OK")
        imap.sendall(b"b SELECT INBOX\r\n")
        read_until(imap, b"b OK")
        imap.sendall(b"c IDLE\r\n")
        read_until(imap, b"+ ")
        with smtplib.SMTP("127.0.0.1", ports.smtp, local_hostname="client.test") as client:
            client.sendmail("carol@remote.test", [bob], b"Subject: push\r\n\r\nNow.\r\n")
        assert b"* 1 EXISTS" in read_until(imap, b"EXISTS")
        imap.sendall(b"DONE\r\n")
        read_until(imap, b"c OK")


def test_lmtp_delivers_to_imap(mail_server: tuple[Server, SmtpPorts]) -> None:
    server, ports = mail_server
    bob = server.add_user()
    with smtplib.LMTP("127.0.0.1", ports.lmtp, local_hostname="mta.test") as client:
        assert client.sendmail("carol@remote.test", [bob], b"Subject: lmtp\r\n\r\nx\r\n") == {}
    [delivered] = imap_messages(server, bob)
    assert b"with LMTP" in delivered


def test_remote_mail_goes_through_the_smarthost(
    mail_server: tuple[Server, SmtpPorts], remote: RemoteMx
) -> None:
    server, ports = mail_server
    alice = server.add_user()
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with smtplib.SMTP_SSL("127.0.0.1", ports.submissions, context=context) as client:
        client.login(alice, PASSWORD)
        client.sendmail(
            alice,
            ["dan@remote.test"],
            f"From: {alice}\r\nSubject: out\r\nBcc: eve@remote.test\r\n\r\nHi\r\n".encode(),
        )
    wait_for(lambda: any(e.rcpt_tos == ["dan@remote.test"] for e in remote.received))
    wait_for(lambda: server.roost("queue", "list").stdout.strip() == "the queue is empty")


def test_the_queue_survives_kill_9(tmp_path: Path) -> None:
    port = free_port()  # the smarthost is down at first
    server, ports = smtp_server(tmp_path / "data", port)
    alice = server.add_user()
    try:
        with smtplib.SMTP("127.0.0.1", ports.submission, local_hostname="client.test") as client:
            client.login(alice, PASSWORD)
            client.sendmail(alice, ["dan@remote.test"], f"From: {alice}\r\n\r\nx\r\n".encode())
    finally:
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        stop_server(server)
    listed = server.roost("queue", "list")
    assert f"{alice} -> dan@remote.test" in listed.stdout
    remote = RemoteMx(port=port)
    try:
        again, _ = smtp_server(tmp_path / "data", port)
        try:
            wait_for(lambda: len(remote.received) == 1)
            assert remote.received[0].rcpt_tos == ["dan@remote.test"]
        finally:
            stop_server(again)
    finally:
        remote.stop()
