"""Debian's mbsync (isync) syncs a local Maildir with Roost in both directions."""

from __future__ import annotations

import imaplib
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("mbsync") is None, reason="mbsync is installed by make test"),
]


def write_config(tmp_path: Path, server: Server, user: str) -> Path:
    maildir = tmp_path / "Mail"
    maildir.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(
        f"""IMAPAccount roost
Host {server.host}
Port {server.imap_port}
User {user}
Pass "{PASSWORD}"
SSLType None
AuthMechs PLAIN

IMAPStore remote
Account roost

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel roost
Far :remote:
Near :local:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
"""
    )
    return config


def mbsync(config: Path) -> None:
    result = subprocess.run(
        ["mbsync", "-c", str(config), "-a"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def maildir_messages(folder: Path) -> list[bytes]:
    return sorted(p.read_bytes() for sub in ("cur", "new") for p in (folder / sub).glob("*"))


def test_two_way_sync(tmp_path: Path, server: Server, user: str) -> None:
    imap = imaplib.IMAP4(server.host, server.imap_port)
    imap.login(user, PASSWORD)
    imap.create("Projects")
    for i in range(3):
        imap.append("INBOX", "", None, f"Subject: inbox {i}\r\n\r\nbody {i}\r\n".encode())
    imap.append("Projects", "", None, b"Subject: project\r\n\r\nplan\r\n")

    config = write_config(tmp_path, server, user)
    mbsync(config)
    maildir = tmp_path / "Mail"
    assert len(maildir_messages(maildir / "INBOX")) == 3
    [project] = maildir_messages(maildir / "Projects")
    assert project.startswith(b"Subject: project") and project.endswith(b"plan\n")
    assert (maildir / "Sent").is_dir() and (maildir / "Archive").is_dir()

    # Local changes travel up: a new message, a new folder, a deletion.
    new = maildir / "Projects" / "new" / "1700000000.local.host"
    new.write_bytes(b"Subject: written offline\r\n\r\nfrom the train\r\n")
    (maildir / "Notes" / "cur").mkdir(parents=True)
    (maildir / "Notes" / "new").mkdir()
    (maildir / "Notes" / "tmp").mkdir()
    (maildir / "Notes" / "new" / "1700000001.local.host").write_bytes(b"Subject: note\r\n\r\nn\r\n")
    victim = (
        next((maildir / "INBOX" / "cur").glob("*"))
        if list((maildir / "INBOX" / "cur").glob("*"))
        else next((maildir / "INBOX" / "new").glob("*"))
    )
    flagged = victim.parent.parent / "cur" / (victim.name.split(":2,")[0] + ":2,ST")
    victim.rename(flagged)  # Seen + Trashed (= \Deleted)

    # Remote changes travel down: a flag set by another device and a new message.
    imap.select("INBOX")
    imap.append("INBOX", "", None, b"Subject: from the phone\r\n\r\nhi\r\n")
    mbsync(config)

    imap.select("Projects")
    typ, data = imap.search(None, "SUBJECT", '"written offline"')
    assert data[0] != b""
    assert imap.select("Notes")[0] == "OK"
    typ, data = imap.select("INBOX")
    assert data == [b"3"]  # 3 + 1 from the phone - 1 deleted locally and expunged
    assert len(maildir_messages(maildir / "INBOX")) == 3
    imap.logout()
