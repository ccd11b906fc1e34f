"""Debian's fetchmail against Roost's POP3: "keep" mode driven by UIDL never fetches a
message twice nor deletes one, "nokeep" mode empties the INBOX, and STLS with the
server's certificate checked."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, stop_server
from tests.e2e.test_pop3 import Pop3Server, append, inbox_subjects, start_pop3

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("fetchmail") is None, reason="installed by make test"),
]

# fetchmail's exit status (fetchmail(1), "EXIT CODES").
GOT_MAIL, NO_MAIL = 0, 1


def message(subject: str) -> bytes:
    return (
        f"From: Bob <bob@example.org>\r\nTo: someone@example.org\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@example.org>\r\n\r\nAbout {subject}.\r\n.{subject}\r\n"
    ).encode()


@pytest.fixture(scope="module")
def pop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pop3Server]:
    srv = start_pop3(tmp_path_factory.mktemp("roost-fetchmail"))
    yield srv
    stop_server(srv.server)


class Fetchmail:
    """One local user's fetchmail: an rcfile, its UIDL file and the mbox its MDA fills."""

    def __init__(self, home: Path, pop: Pop3Server, user: str, *, keep: bool, tls: bool) -> None:
        self.home = home
        self.mbox = home / "mbox"
        self.mbox.touch()
        if tls:
            security = (
                f'sslproto "TLS1.2+" sslcertck sslcertfile "{pop.cert()}" sslcommonname localhost'
            )
        else:
            security = "sslproto ''"  # plain POP3: loopback is trusted with passwords
        rcfile = home / "fetchmailrc"
        rcfile.write_text(
            "set no bouncemail\n"
            f"poll 127.0.0.1 with protocol POP3 port {pop.pop3} uidl auth password\n"
            f'    user "{user}" there with password "{PASSWORD}" is "{pwd.getpwuid(os.getuid()).pw_name}" here\n'
            f"    {'keep' if keep else 'nokeep'} {security}\n"
            f'    mda "cat >> {self.mbox}"\n',
            encoding="utf-8",
        )
        rcfile.chmod(0o600)
        self.rcfile = rcfile

    def run(self) -> int:
        env = {**os.environ, "HOME": str(self.home), "FETCHMAILHOME": str(self.home)}
        result = subprocess.run(
            [
                "fetchmail", "--nosyslog", "--nodetach", "--silent",
                "-f", str(self.rcfile),
                "--idfile", str(self.home / "fetchids"),
                "--pidfile", str(self.home / "fetchmail.pid"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )  # fmt: skip
        assert result.returncode in (GOT_MAIL, NO_MAIL), result.stderr + result.stdout
        return result.returncode

    def subjects(self) -> list[str]:
        text = self.mbox.read_text(encoding="utf-8", errors="replace")
        return [
            line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Subject: ")
        ]


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "stls"])
def test_keep_mode_fetches_each_message_once_and_leaves_it(
    pop: Pop3Server, tmp_path: Path, tls: bool
) -> None:
    user = pop.server.add_user()
    append(pop, user, message("one"), message("two"))
    fetchmail = Fetchmail(tmp_path, pop, user, keep=True, tls=tls)

    assert fetchmail.run() == GOT_MAIL
    assert fetchmail.subjects() == ["one", "two"]
    assert fetchmail.run() == NO_MAIL  # a second run fetches nothing
    assert fetchmail.subjects() == ["one", "two"]

    append(pop, user, message("three"))
    assert fetchmail.run() == GOT_MAIL  # the new message alone
    assert fetchmail.subjects() == ["one", "two", "three"]
    assert inbox_subjects(pop, user) == [b"Subject: one", b"Subject: two", b"Subject: three"]
    # The body came through intact, the line that began with "." included.
    assert "\n.three\n" in fetchmail.mbox.read_text(encoding="utf-8")


def test_keep_mode_after_an_imap_device_deleted_one(pop: Pop3Server, tmp_path: Path) -> None:
    import imaplib

    user = pop.server.add_user()
    append(pop, user, message("one"), message("two"), message("three"))
    fetchmail = Fetchmail(tmp_path, pop, user, keep=True, tls=False)
    assert fetchmail.run() == GOT_MAIL
    imap = imaplib.IMAP4(pop.host, pop.server.imap_port)
    imap.login(user, PASSWORD)
    imap.select("INBOX")
    imap.store("2", "+FLAGS", "(\\Deleted)")
    imap.expunge()
    imap.logout()
    append(pop, user, message("four"))
    assert fetchmail.run() == GOT_MAIL
    assert fetchmail.subjects() == ["one", "two", "three", "four"]
    assert fetchmail.run() == NO_MAIL


def test_delete_mode_empties_the_inbox(pop: Pop3Server, tmp_path: Path) -> None:
    user = pop.server.add_user()
    append(pop, user, message("one"), message("two"))
    fetchmail = Fetchmail(tmp_path, pop, user, keep=False, tls=False)
    assert fetchmail.run() == GOT_MAIL
    assert fetchmail.subjects() == ["one", "two"]
    assert inbox_subjects(pop, user) == []
    assert fetchmail.run() == NO_MAIL
    append(pop, user, message("three"))
    assert fetchmail.run() == GOT_MAIL
    assert fetchmail.subjects() == ["one", "two", "three"]
    assert inbox_subjects(pop, user) == []
