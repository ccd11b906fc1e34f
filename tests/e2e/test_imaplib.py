"""A mail client's day, with Python's imaplib over a real socket."""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import PASSWORD, Server

pytestmark = pytest.mark.e2e

MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.org>\r\n"
    b"Subject: =?UTF-8?Q?Caf=C3=A9?= plans\r\n"
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    b"Message-ID: <plans@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n'
    b"\r\n"
    b"--XX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Let us meet at the cafe on Friday.\r\n"
    b"--XX\r\n"
    b"Content-Type: application/octet-stream; name=data.bin\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename=data.bin\r\n"
    b"\r\n"
    b"AAECAwQ=\r\n"
    b"--XX--\r\n"
)


@pytest.fixture
def imap(server: Server, user: str) -> Iterator[imaplib.IMAP4]:
    client = imaplib.IMAP4(server.host, server.imap_port)
    client.login(user, PASSWORD)
    yield client
    try:
        client.logout()
    except (imaplib.IMAP4.abort, OSError):
        pass


def test_capabilities_before_login(server: Server) -> None:
    client = imaplib.IMAP4(server.host, server.imap_port)
    caps = client.capabilities
    assert "IMAP4REV1" in caps and "IMAP4REV2" in caps and "STARTTLS" in caps
    assert "AUTH=PLAIN" in caps
    client.logout()


def test_wrong_password_is_refused(server: Server, user: str) -> None:
    client = imaplib.IMAP4(server.host, server.imap_port)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login(user, "wrong")
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("nobody@example.org", PASSWORD)
    client.logout()


def test_default_folders_with_special_use(imap: imaplib.IMAP4) -> None:
    typ, lines = imap.list()
    assert typ == "OK"
    listing = b"\n".join(line for line in lines if isinstance(line, bytes))
    for name, use in (
        ("Sent", "\\Sent"),
        ("Drafts", "\\Drafts"),
        ("Trash", "\\Trash"),
        ("Junk", "\\Junk"),
        ("Archive", "\\Archive"),
    ):
        assert re.search(
            rb"\(.*" + re.escape(use.encode()) + rb".*\) \"/\" \"?" + name.encode(), listing
        ), listing
    assert b"INBOX" in listing


def test_append_fetch_search_flag_move_expunge(imap: imaplib.IMAP4) -> None:
    typ, data = imap.append("INBOX", r"(\Flagged)", imaplib.Time2Internaldate(760000000), MESSAGE)
    assert typ == "OK" and b"APPENDUID" in data[0]
    imap.append("INBOX", "", None, b"Subject: second\r\n\r\nhello world\r\n")
    typ, data = imap.select("INBOX")
    assert data == [b"2"]

    typ, data = imap.fetch("1", "(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
    header = data[0][1]
    assert (
        header == b"From: Alice <alice@example.org>\r\nSubject: =?UTF-8?Q?Caf=C3=A9?= plans\r\n\r\n"
    )
    assert b"\\Flagged" in data[0][0] and b"RFC822.SIZE %d" % len(MESSAGE) in data[0][0]

    typ, data = imap.fetch("1", "(BODY.PEEK[1] BINARY.PEEK[2] BODYSTRUCTURE)")
    assert data[0][1] == b"Let us meet at the cafe on Friday."
    assert data[1][1] == b"\x00\x01\x02\x03\x04"
    assert b'("APPLICATION" "OCTET-STREAM" ("NAME" "data.bin")' in data[1][0] + data[-1]

    typ, data = imap.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]  # BODY.PEEK does not mark read
    imap.fetch("1", "(BODY[TEXT])")
    typ, data = imap.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0]

    typ, data = imap.search(None, "TEXT", "cafe")
    assert data == [b"1"]
    typ, data = imap.search(None, "SUBJECT", "second")
    assert data == [b"2"]
    typ, data = imap.uid("SEARCH", "UNSEEN")
    assert data == [b"2"]

    typ, data = imap.store("2", "+FLAGS", r"(\Answered $Label1)")
    assert b"\\Answered" in data[0] and b"$Label1" in data[0]

    typ, data = imap.uid("MOVE", "2", "Archive")
    assert typ == "OK"
    typ, data = imap.select("Archive")
    assert data == [b"1"]
    typ, data = imap.fetch("1", "(FLAGS BODY.PEEK[TEXT])")
    assert b"$Label1" in data[0][0] and data[0][1] == b"hello world\r\n"

    imap.select("INBOX")
    imap.store("1", "+FLAGS", r"(\Deleted)")
    typ, data = imap.expunge()
    assert data == [b"1"]
    typ, data = imap.select("INBOX")
    assert data == [b"0"]


def test_mailbox_lifecycle(imap: imaplib.IMAP4) -> None:
    assert imap.create("Projects/Roost")[0] == "OK"
    assert imap.rename("Projects", "Work")[0] == "OK"
    typ, lines = imap.list('""', "Work/*")
    assert any(b'"Work/Roost"' in line or b" Work/Roost" in line for line in lines if line)
    typ, data = imap.status("Work/Roost", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
    assert b"MESSAGES 0" in data[0]
    assert imap.delete("Work/Roost")[0] == "OK"
    typ, data = imap.select("Work/Roost")
    assert typ == "NO"


def test_non_ascii_mailbox_names_use_modified_utf7(imap: imaplib.IMAP4) -> None:
    assert imap.create('"Entw&APw-rfe"')[0] == "OK"
    typ, lines = imap.list('""', "Entw*")
    assert any(b"Entw&APw-rfe" in line for line in lines if line)


def test_bad_input_gets_bad_and_connection_survives(server: Server, user: str) -> None:
    import socket

    with socket.create_connection((server.host, server.imap_port)) as sock:
        f = sock.makefile("rwb")
        assert f.readline().startswith(b"* OK")
        for line in (b"a1 FOO\r\n", b"a2 LOGIN\r\n", b"a3 SELECT INBOX\r\n", b"garbage\r\n"):
            f.write(line)
            f.flush()
            reply = f.readline()
            assert b"BAD" in reply, reply
        f.write(b"a4 NOOP\r\n")
        f.flush()
        assert f.readline() == b"a4 OK NOOP completed\r\n"
        f.write(b"a5 " + b"x" * 70000 + b"\r\n")
        f.flush()
        assert f.readline().startswith(b"a5 BAD")
        f.write(b"a6 APPEND INBOX {999999999999}\r\n")
        f.flush()
        assert b"TOOBIG" in f.readline()
        f.write(b"a7 LOGOUT\r\n")
        f.flush()
        assert f.readline().startswith(b"* BYE")


def test_starttls_then_login(server: Server, user: str) -> None:
    client = imaplib.IMAP4(server.host, server.imap_port)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client.starttls(context)
    assert "STARTTLS" not in client.capabilities
    client.login(user, PASSWORD)
    assert client.select("INBOX")[0] == "OK"
    client.logout()


def test_implicit_tls_port(server: Server, user: str) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client = imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=context)
    client.login(user, PASSWORD)
    assert client.select("INBOX")[0] == "OK"
    client.logout()


def test_one_user_never_sees_another_users_mail(server: Server) -> None:
    alice, bob = server.add_user(), server.add_user()
    a = imaplib.IMAP4(server.host, server.imap_port)
    a.login(alice, PASSWORD)
    a.create("Secret")
    a.append("Secret", "", None, b"Subject: private\r\n\r\nfor alice only\r\n")
    b = imaplib.IMAP4(server.host, server.imap_port)
    b.login(bob, PASSWORD)
    assert b.select("Secret")[0] == "NO"
    typ, lines = b.list()
    assert not any(b"Secret" in line for line in lines if line)
    assert b.status("Secret", "(MESSAGES)")[0] == "NO"
    a.logout()
    b.logout()


def test_search_text_keys_through_the_index(imap: imaplib.IMAP4) -> None:
    # The FTS5 index narrows and the exact predicates confirm: case-insensitive substrings
    # with Python's case folding, FTS syntax as plain text, short needles by scanning.
    imap.append("INBOX", "", None, b"Subject: =?UTF-8?Q?Stra=C3=9Fe?=\r\n\r\nZebrafish stripes\r\n")
    imap.append("INBOX", r"(\Seen)", None, b'From: a@b.example\r\n\r\nsay "and" * -x\r\n')
    imap.append("INBOX", "", None, b"Subject: ab\r\n\r\nno\r\n")
    imap.select("INBOX")
    assert imap.search(None, "TEXT", "ZEBRAFISH") == ("OK", [b"1"])
    assert imap.search(None, "SUBJECT", "STRASSE") == ("OK", [b"1"])
    assert imap.search(None, "BODY", '"\\"and\\" *"') == ("OK", [b"2"])
    assert imap.search(None, "NOT", "TEXT", "stripes") == ("OK", [b"2 3"])
    assert imap.search(None, "OR", "BODY", "zebra", "FROM", "b.example") == ("OK", [b"1 2"])
    assert imap.search(None, "TEXT", "-x", "UNSEEN") == ("OK", [b""])
    assert imap.search(None, "SUBJECT", "b") == ("OK", [b"3"])
    imap.literal = "straße".encode()
    assert imap.search("UTF-8", "SUBJECT") == ("OK", [b"1"])
