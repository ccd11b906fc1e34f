"""`roost import maildir|mbox` and `roost export`: flags, keywords, dates and folders kept,
idempotent re-runs, broken messages reported and skipped, round trips through each format."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from roost.transfer.maildir import decode_mutf7, info_flags
from roost.transfer.mbox import from_line_date
from tests.transfer.conftest import Roost, Stored, mailbox_contents

JAN = datetime(2021, 1, 15, 9, 30, 0, tzinfo=UTC)


def maildir(root: Path, folder: str = "") -> Path:
    path = root / folder if folder else root
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def put(folder: Path, sub: str, name: str, text: str, when: datetime) -> Path:
    path = folder / sub / name
    path.write_bytes(text.encode())
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def message(subject: str, body: str = "hello\n") -> str:
    return f"From: Bob <bob@example.net>\nTo: alice@example.org\nSubject: {subject}\n\n{body}"


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


# ----- Maildir -----------------------------------------------------------------------


def account_maildir(tmp_path: Path) -> Path:
    root = maildir(tmp_path / "Maildir")
    (root / "dovecot-keywords").write_text("0 $Label1\n1 Work\n")
    put(root, "cur", "1610703000.M1.host:2,FRSb", message("flagged"), JAN)
    put(root, "cur", "1610703001.M2.host:2,", message("unread"), JAN + timedelta(hours=1))
    put(root, "new", "1610703002.M3.host", message("new"), JAN + timedelta(hours=2))
    put(maildir(root, ".Archive.2024"), "cur", "1.M4.host:2,ST", message("old"), JAN)
    put(maildir(root, ".Entw&APw-rfe"), "cur", "2.M5.host:2,D", message("draft"), JAN)
    return root


def test_maildir_import_keeps_flags_keywords_dates_and_folders(
    roost: Roost, alice: str, data_dir: Path, tmp_path: Path
) -> None:
    result = roost("import", "maildir", str(account_maildir(tmp_path)), "--user", alice)
    assert result.status == 0, result.err
    assert "imported 5 messages" in result.out
    assert result.out.rstrip().endswith("; created Archive/2024, Entwürfe")
    assert "import: 5/5 messages" in result.err  # progress
    boxes = mailbox_contents(data_dir, alice)
    assert boxes["INBOX"] == [
        Stored(
            crlf(message("flagged")), frozenset({"\\Flagged", "\\Answered", "\\Seen", "Work"}), JAN
        ),
        Stored(crlf(message("unread")), frozenset(), JAN + timedelta(hours=1)),
        Stored(crlf(message("new")), frozenset(), JAN + timedelta(hours=2)),
    ]
    assert boxes["Archive/2024"] == [
        Stored(crlf(message("old")), frozenset({"\\Seen", "\\Deleted"}), JAN)
    ]
    assert boxes["Entwürfe"] == [Stored(crlf(message("draft")), frozenset({"\\Draft"}), JAN)]


def test_importing_again_adds_only_what_is_new(
    roost: Roost, alice: str, data_dir: Path, tmp_path: Path
) -> None:
    root = account_maildir(tmp_path)
    assert roost("import", "maildir", str(root), "--user", alice).status == 0
    before = mailbox_contents(data_dir, alice)
    again = roost("import", "maildir", str(root), "--user", alice)
    assert again.status == 0, again.err
    assert "imported 0 messages" in again.out and "5 already there" in again.out
    assert mailbox_contents(data_dir, alice) == before
    put(root, "cur", "1610703009.M9.host:2,S", message("later"), JAN + timedelta(days=1))
    third = roost("import", "maildir", str(root), "--user", alice)
    assert "imported 1 messages" in third.out and "5 already there" in third.out
    inbox = mailbox_contents(data_dir, alice)["INBOX"]
    assert [m.data for m in inbox][-1] == crlf(message("later"))
    assert len(inbox) == 4


def test_import_into_a_named_mailbox_puts_folders_below_it(
    roost: Roost, alice: str, data_dir: Path, tmp_path: Path
) -> None:
    root = account_maildir(tmp_path)
    result = roost("import", "maildir", str(root), "--user", alice, "--mailbox", "Old mail")
    assert result.status == 0, result.err
    boxes = mailbox_contents(data_dir, alice)
    assert len(boxes["Old mail"]) == 3
    assert len(boxes["Old mail/Archive/2024"]) == 1
    assert boxes["INBOX"] == []


def test_maildir_round_trip_keeps_everything(
    roost: Roost, alice: str, data_dir: Path, tmp_path: Path
) -> None:
    assert roost("import", "maildir", str(account_maildir(tmp_path)), "--user", alice).status == 0
    exported = roost("export", "--user", alice, "maildir", str(tmp_path / "out"))
    assert exported.status == 0, exported.err
    assert "exported 5 messages" in exported.out
    assert roost("user", "add", "bob@example.org", stdin="pw\n").status == 0
    back = roost("import", "maildir", str(tmp_path / "out"), "--user", "bob@example.org")
    assert back.status == 0, back.err
    assert mailbox_contents(data_dir, "bob@example.org") == mailbox_contents(data_dir, alice)


def test_export_refuses_a_directory_that_is_not_empty(
    roost: Roost, alice: str, tmp_path: Path
) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    for fmt in ("maildir", "mbox"):
        result = roost("export", "--user", alice, fmt, str(tmp_path / "full"))
        assert result.status == 1
        assert "not empty" in result.err


def test_refusals(roost: Roost, alice: str, tmp_path: Path) -> None:
    root = account_maildir(tmp_path)
    nobody = roost("import", "maildir", str(root), "--user", "nobody@example.org")
    assert (nobody.status, nobody.err.strip()) == (1, "roost: no account nobody@example.org")
    missing = roost("import", "mbox", str(tmp_path / "nothing"), "--user", alice)
    assert missing.status == 1 and "does not exist" in missing.err
    not_maildir = roost("import", "maildir", str(tmp_path), "--user", alice)
    assert not_maildir.status == 1 and "is no Maildir" in not_maildir.err
    no_user = roost("import", "maildir", str(root))
    assert no_user.status == 1 and "--user" in no_user.err


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("1.M1.h:2,FRS", {"\\Flagged", "\\Answered", "\\Seen"}),
        ("1.M1.h:2,DPT", {"\\Draft", "$Forwarded", "\\Deleted"}),
        ("1.M1.h:2,ac", {"$Label1"}),  # c has no keyword: ignored
        ("1.M1.h", set()),
        ("1.M1.h:2,", set()),
    ],
)
def test_maildir_info_letters(name: str, flags: set[str]) -> None:
    assert info_flags(name, {0: "$Label1", 1: "Work"}) == flags


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [("Entw&APw-rfe", "Entwürfe"), ("R&-D", "R&D"), ("plain", "plain"), ("bad&AP", "bad&AP")],
)
def test_modified_utf7_folder_names(encoded: str, decoded: str) -> None:
    assert decode_mutf7(encoded) == decoded


# ----- mbox ----------------------------------------------------------------------------

MULTIPART = """\
From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
To: alice@example.org
Subject: =?utf-8?b?UmVjaG51bmcgZsO8ciBNw6Ryeg==?=
Message-ID: <invoice@example.de>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"
Status: RO
X-Status: AF
X-Keywords: $Invoice Work
X-UID: 17

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße, die Rechnung hängt an.
>From the accounts department.

--b1
Content-Type: application/pdf; name="rechnung.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="rechnung.pdf"

JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURl
Y29kZT4+CnN0cmVhbQp4nDPQM1Qo5ypUMFAw0DMwslAwtTTVMzI2UzC0NDZVKErlCtdSyOMKVAAA
--b1--
"""

RAW_UTF8 = """\
From: Zoë <zoe@example.fr>
To: alice@example.org
Subject: Café à midi ?
Date: Tue, 02 Mar 2021 12:00:00 +0100

On se voit au café.
"""

MBOX = f"""\
From juergen@example.de Mon Mar  1 08:15:00 2021
{MULTIPART}
From MAILER-DAEMON Tue Mar  2 11:00:00 2021 +0100
{RAW_UTF8}
From nobody Wed Mar  3 10:00:00 2021

From garbage Thu Mar  4 10:00:00 2021
this line is no header at all
and neither is this one

From someone@example.com Fri Mar  5 10:00:00 2021
Subject: last
X-Status: T

A draft.
From the outside this line has no date, so it belongs to the body.
"""


def test_a_real_world_mbox_is_imported_and_its_broken_messages_skipped(
    roost: Roost, alice: str, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "archive.mbox"
    path.write_bytes(MBOX.encode() + b"From nul Sat Mar  6 10:00:00 2021\nSubject: x\n\n\0\0\n")
    result = roost("import", "mbox", str(path), "--user", alice, "--mailbox", "Archive")
    assert result.status == 0, result.err
    assert "imported 3 messages" in result.out and "3 skipped" in result.out
    assert f"skipped {path} message 3: empty" in result.err
    assert f"skipped {path} message 4: does not begin with a header field" in result.err
    assert f"skipped {path} message 6: contains NUL bytes" in result.err
    invoice, cafe, last = mailbox_contents(data_dir, alice)["Archive"]
    # The mbox bookkeeping headers went into flags, and out of the message.
    assert invoice.flags == {"\\Seen", "\\Answered", "\\Flagged", "$Invoice", "Work"}
    assert b"X-UID" not in invoice.data and b"Status" not in invoice.data
    assert b"\r\nFrom the accounts department." in invoice.data  # mboxrd quoting undone
    assert invoice.data.startswith(crlf(MULTIPART.split("Status:")[0]))
    assert invoice.internaldate == datetime(2021, 3, 1, 8, 15, tzinfo=UTC)
    assert cafe.data == crlf(RAW_UTF8) and cafe.flags == frozenset()
    assert cafe.internaldate == datetime(2021, 3, 2, 11, tzinfo=timezone(timedelta(hours=1)))
    assert last.flags == {"\\Draft"}
    assert last.data.endswith(
        b"From the outside this line has no date, so it belongs to the body.\r\n"
    )


def test_mbox_round_trip_and_idempotence(
    roost: Roost, alice: str, data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "in.mbox"
    path.write_text(MBOX)
    assert roost("import", "mbox", str(path), "--user", alice).status == 0
    again = roost("import", "mbox", str(path), "--user", alice)
    assert "imported 0 messages" in again.out and "3 already there" in again.out
    out = tmp_path / "out"
    assert roost("export", "--user", alice, "mbox", str(out)).status == 0
    assert (out / "INBOX.mbox").is_file() and (out / "Sent.mbox").is_file()
    assert roost("user", "add", "bob@example.org", stdin="pw\n").status == 0
    back = roost("import", "mbox", str(out), "--user", "bob@example.org")
    assert back.status == 0, back.err
    assert "imported 3 messages" in back.out
    mine = mailbox_contents(data_dir, alice)["INBOX"]
    theirs = mailbox_contents(data_dir, "bob@example.org")["INBOX"]
    assert [(m.data, m.flags, m.internaldate) for m in theirs] == [
        (m.data, m.flags, m.internaldate.replace(microsecond=0)) for m in mine
    ]


@pytest.mark.parametrize(
    ("line", "when"),
    [
        (
            b"From bob@example.org Sat Jan  3 01:05:34 1996\n",
            datetime(1996, 1, 3, 1, 5, 34, tzinfo=UTC),
        ),
        (b"From MAILER-DAEMON Fri Jul  8 12:08 2011\n", datetime(2011, 7, 8, 12, 8, tzinfo=UTC)),
        (
            b"From a@b Wed Mar  3 10:00:00 -0500 2021\n",
            datetime(2021, 3, 3, 10, tzinfo=timezone(timedelta(hours=-5))),
        ),
        (b"From  Mon Dec 31 23:59:59 2029\n", datetime(2029, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (b"From the desk of the director\n", None),
        (b"From a@b Mon Feb 30 10:00:00 2021\n", None),
        (b">From a@b Mon Feb  1 10:00:00 2021\n", None),
    ],
)
def test_from_line_dates(line: bytes, when: datetime | None) -> None:
    assert from_line_date(line) == when


def test_an_import_over_quota_stops_with_one_line(
    roost: Roost, alice: str, data_dir: Path, tmp_path: Path
) -> None:
    assert roost("user", "quota", alice, "--messages", "3").status == 0
    path = tmp_path / "many.mbox"
    path.write_text(
        "".join(f"From a@b Mon Mar  1 08:15:00 2021\nSubject: n{n}\n\nbody\n\n" for n in range(450))
    )
    result = roost("import", "mbox", str(path), "--user", alice)
    assert result.status == 1
    assert result.err.strip().splitlines()[-1].startswith("roost: ")
    assert "Traceback" not in result.err
    assert sum(len(box) for box in mailbox_contents(data_dir, alice).values()) <= 3
