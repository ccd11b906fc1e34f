"""End to end: one Sent copy whatever the client's order (issue 11).

mutt (Debian's package, in batch mode) submits and then saves its own copy to Sent over
IMAP, as neomutt and Thunderbird do; smtplib and imaplib play both orders by hand. The
server's own copy is \\Seen and names the blind-copied recipients in a Bcc: field.
"""

from __future__ import annotations

import imaplib
import os
import re
import shutil
import smtplib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server

pytestmark = pytest.mark.e2e

MUTT = shutil.which("mutt") or "/usr/bin/mutt"


@dataclass
class Mail:
    server: Server
    submission: int


@pytest.fixture(scope="module")
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mail]:
    submission = free_port()
    server = start_server(
        tmp_path_factory.mktemp("sent") / "data",
        extra_env={"ROOST_SUBMISSION_PORT": str(submission), "ROOST_SUBMISSIONS_PORT": "0"},
        listeners=4,  # IMAP x2, submission and the LMTP socket
    )
    yield Mail(server, submission)
    stop_server(server)


def message(sender: str, to: str, subject: str, body: str = "See you at noon.") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.org>\r\n\r\n{body}\r\n"
    ).encode()


def submit(mail: Mail, sender: str, recipients: list[str], data: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", mail.submission, timeout=30) as client:
        client.login(sender, PASSWORD)
        assert client.sendmail(sender, recipients, data) == {}


def append_to_sent(mail: Mail, user: str, data: bytes) -> str:
    """APPENDs data to Sent, \\Seen; returns the tagged response's text."""
    with imaplib.IMAP4("127.0.0.1", mail.server.imap_port) as client:
        client.login(user, PASSWORD)
        typ, [text] = client.append("Sent", "(\\Seen)", None, data)
        assert typ == "OK"
        assert isinstance(text, bytes)
        return text.decode()


def sent_copies(mail: Mail, user: str) -> list[tuple[int, bytes, bytes]]:
    """(uid, flags, message) of each message in Sent."""
    with imaplib.IMAP4("127.0.0.1", mail.server.imap_port) as client:
        client.login(user, PASSWORD)
        client.select("Sent", readonly=True)
        _, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
    out = []
    for part in data:
        if isinstance(part, tuple):
            head, body = part
            uid = re.search(rb"UID (\d+)", head)
            flags = re.search(rb"FLAGS \(([^)]*)\)", head)
            assert uid is not None and flags is not None
            out.append((int(uid[1]), flags[1], body))
    return out


def test_send_then_append_keeps_the_servers_copy(mail: Mail) -> None:
    alice, bob, carol = (mail.server.add_user() for _ in range(3))
    data = message(alice, bob, "send then append")
    submit(mail, alice, [bob, carol], data)
    [(uid, flags, filed)] = sent_copies(mail, alice)
    assert b"\\Seen" in flags
    assert f"Bcc: {carol}\r\n\r\n".encode() in filed  # whom alice blind-copied
    # The client saves its copy: nothing new is stored; the answer names the server's copy.
    text = append_to_sent(mail, alice, data)
    assert re.fullmatch(rf"\[APPENDUID \d+ {uid}\] APPEND completed", text), text
    assert [u for u, _, _ in sent_copies(mail, alice)] == [uid]
    # Another message under the same Message-ID is not the same message.
    append_to_sent(mail, alice, message(alice, bob, "send then append", body="Changed."))
    assert len(sent_copies(mail, alice)) == 2


def test_append_then_send_keeps_the_clients_copy(mail: Mail) -> None:
    alice, bob = mail.server.add_user(), mail.server.add_user()
    data = message(alice, bob, "append then send")
    append_to_sent(mail, alice, data)
    submit(mail, alice, [bob], data)
    [(_, _, filed)] = sent_copies(mail, alice)
    assert filed == data


@pytest.mark.skipif(not os.path.exists(MUTT), reason="mutt is not installed (make system-deps)")
def test_mutt_sends_and_saves_to_sent_once(mail: Mail, tmp_path: Path) -> None:
    alice, bob, carol = (mail.server.add_user() for _ in range(3))
    rc = tmp_path / "muttrc"
    rc.write_text(
        f'set from = "{alice}"\n'
        f'set smtp_url = "smtp://{alice}@127.0.0.1:{mail.submission}/"\n'
        f'set smtp_pass = "{PASSWORD}"\n'
        f'set folder = "imap://{alice}@127.0.0.1:{mail.server.imap_port}/"\n'
        f'set imap_pass = "{PASSWORD}"\n'
        'set record = "=Sent"\nset copy = yes\n'
        # Plaintext on loopback, which Roost allows by default.
        "set ssl_starttls = no\nset ssl_force_tls = no\n"
        f'set tmpdir = "{tmp_path}"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [MUTT, "-n", "-F", str(rc), "-s", "from mutt", "-b", carol, "--", bob],
        input="Hello from mutt.\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [(_, flags, filed)] = sent_copies(mail, alice)
    assert b"Subject: from mutt" in filed
    assert f"Bcc: {carol}".encode() in filed
    assert b"\\Seen" in flags
