"""A full disk and a read-only data directory are temporary failures everywhere (issue 9):
IMAP `NO [UNAVAILABLE]` (RFC 5530) and the session goes on, SMTP/LMTP/submission
`452 4.3.1`, POP3 `-ERR [SYS/TEMP]`; no traceback, no internals in a reply, nothing
acknowledged lost and nothing half-stored. The data directory is a small tmpfs of its own
(root may mount one; the test is skipped where mounting is not permitted)."""

from __future__ import annotations

import errno
import imaplib
import os
import poplib
import signal
import smtplib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server

PORTS = ("POP3", "SUBMISSION", "SMTP", "LMTP")
UNAVAILABLE = "[UNAVAILABLE] The server cannot store anything now; try again later"
SMTP_FULL = (452, b"4.3.1 Insufficient system storage, try again later")
MESSAGE = b"From: a@example.org\r\nTo: u@example.org\r\nSubject: x\r\n\r\n" + b"line\r\n" * 2000


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    data.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(data)]
    if os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


def fill(directory: Path) -> Path:
    """Fills the file system of directory; returns the file that holds the space."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\1" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def start(data: Path) -> tuple[Server, dict[str, int]]:
    ports = {name: free_port() for name in PORTS}
    env = {f"ROOST_{name}_PORT": str(port) for name, port in ports.items()}
    return start_server(data, extra_env=env, listeners=7), ports


def temporary(reply: tuple[int, bytes]) -> None:
    """A temporary SMTP failure (the client retries) that names no internals."""
    code, text = reply
    assert code in (451, 452) and text.startswith(b"4."), reply
    assert reply == SMTP_FULL or text == b"4.3.0 Internal error, try again later", reply


def refusals(server: Server, ports: dict[str, int], user: str, rev2: imaplib.IMAP4) -> None:
    """Every way in refuses to store, temporarily; every session stays usable."""
    rev1 = imaplib.IMAP4(server.host, server.imap_port)  # imaplib speaks IMAP4rev1
    rev1.login(user, PASSWORD)
    rev1.select("INBOX")
    for imap in (rev1, rev2):
        assert imap.append("INBOX", None, None, MESSAGE) == ("NO", [UNAVAILABLE.encode()])
        assert imap.store("1", "+FLAGS", "\\Flagged")[0] == "NO"
        assert imap.create("NewBox") == ("NO", [UNAVAILABLE.encode()])
        assert imap.noop()[0] == "OK"  # the session goes on
        assert messages(imap) == 1
        assert imap.fetch("1", "(BODY.PEEK[])")[0] == "OK"
    rev1.logout()
    for lmtp, port in ((False, ports["SMTP"]), (True, ports["LMTP"])):
        client = smtplib.LMTP(server.host, port) if lmtp else smtplib.SMTP(server.host, port)
        client.ehlo()
        client.mail("a@example.org")
        client.rcpt(user)
        try:
            reply = client.data(MESSAGE)
        except smtplib.SMTPDataError as refused_at_data:  # before 354: nowhere to spool
            reply = (refused_at_data.smtp_code, refused_at_data.smtp_error)
        temporary(reply)
        client.quit()
    submission = smtplib.SMTP(server.host, ports["SUBMISSION"])
    submission.ehlo()
    submission.login(user, PASSWORD)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        submission.sendmail(user, ["someone@example.net"], MESSAGE.replace(b"a@", b"u@", 1))
    temporary((refused.value.smtp_code, refused.value.smtp_error))
    submission.quit()
    pop = poplib.POP3(server.host, ports["POP3"])
    pop.user(user)
    pop.pass_(PASSWORD)
    pop.dele(1)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[SYS/TEMP\] The server cannot store"):
        pop.quit()
    pop.close()


def messages(imap: imaplib.IMAP4) -> int:
    status, [line] = imap.status("INBOX", "(MESSAGES)")
    assert status == "OK" and isinstance(line, bytes)
    return int(line.rsplit(b" ", 1)[1].rstrip(b")"))


def recovered(server: Server, user: str, rev2: imaplib.IMAP4) -> None:
    """Once there is room again, the same session stores, and the store is whole."""
    assert rev2.append("INBOX", None, None, MESSAGE)[0] == "OK"
    assert messages(rev2) == 2  # the first one, and this one
    check = server.roost("check")
    assert check.returncode == 0, check.stdout + check.stderr


def goes_through(data: Path, fault: str) -> None:
    server, ports = start(data)
    try:
        user = server.add_user("u@example.org")
        rev2 = imaplib.IMAP4(server.host, server.imap_port)
        rev2.login(user, PASSWORD)
        assert rev2.enable("IMAP4rev2")[0] == "OK"
        rev2.select("INBOX")
        assert rev2.append("INBOX", None, None, b"Subject: before\r\n\r\nkept\r\n")[0] == "OK"
        if fault == "full":
            filler = fill(data)
            refusals(server, ports, user, rev2)
            filler.unlink()
        else:
            immutable(data, True)
            try:
                refusals(server, ports, user, rev2)
            finally:
                immutable(data, False)
        recovered(server, user, rev2)
        rev2.logout()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=15)
        assert server.process.stderr is not None
        log = server.process.stderr.read().decode()
        assert "Traceback" not in log, log
        assert "ERROR roost.store: the store cannot be written" in log
    finally:
        stop_server(server)


def immutable(data: Path, on: bool) -> None:
    """Makes data and everything in it unwritable, even by root (chattr +i)."""
    paths = [str(p) for p in (data, *data.rglob("*")) if not p.is_socket()]
    subprocess.run(["chattr", "+i" if on else "-i", *paths], check=True)


def test_a_full_disk_is_a_temporary_failure_everywhere(small_disk: Path) -> None:
    goes_through(small_disk, "full")


def test_an_unwritable_data_directory_is_a_temporary_failure_everywhere(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    probe = tmp_path / "probe"
    probe.touch()
    if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    goes_through(data, "unwritable")
