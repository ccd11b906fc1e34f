"""REPLACE over a real socket (RFC 8508): a drafts workflow with a second device idling."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Server
from tests.e2e.test_resync import append, login

pytestmark = pytest.mark.e2e


def test_replace_a_draft_while_another_device_idles(server: Server, user: str) -> None:
    a, b = login(server, user), login(server, user)
    append(a, "Drafts", "draft v1", "\\Draft")
    b.ok("ENABLE QRESYNC IMAP4rev2")
    b.ok("SELECT Drafts")
    b.file.write(b"idle IDLE\r\n")
    b.file.flush()
    assert b.read_line().startswith(b"+ ")

    a.ok("ENABLE IMAP4rev2")
    a.ok("SELECT Drafts")
    body = b"Subject: draft v2\r\n\r\nsecond version\r\n"
    lines = a.ok(b"UID REPLACE 1 Drafts (\\Draft) {%d+}\r\n%s" % (len(body), body))
    assert re.fullmatch(rb"\* OK \[APPENDUID \d+ 2\] Replacement message ready", lines[0])
    assert lines[1:] == [b"* 1 EXPUNGE", b"* 1 EXISTS"]

    # B hears the removal and the arrival, in some order the RFC allows, and nothing else.
    heard = {b.read_line(), b.read_line()}
    assert heard == {b"* VANISHED 1\r\n", b"* 1 EXISTS\r\n"}
    b.file.write(b"DONE\r\n")
    b.file.flush()
    assert b.read_line() == b"idle OK IDLE terminated\r\n"
    [fetched] = [x for x in b.ok("UID FETCH 1:* (FLAGS BODY.PEEK[])") if b"FETCH" in x]
    assert fetched.startswith(b"* 1 FETCH (UID 2 FLAGS (\\Draft)")
    assert fetched.endswith(b"second version\r\n)")
    a.close()
    b.close()
