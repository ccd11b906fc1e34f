"""NOTIFY and MULTISEARCH over a real socket against `roost serve`: an idling connection
hears, at once, about new mail, a new mailbox and a rename in mailboxes it has not selected,
caused by another connection (RFC 5465); ESEARCH IN (PERSONAL) answers per mailbox
(RFC 7377)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import PASSWORD, Server
from tests.e2e.rawimap import RawImap

pytestmark = pytest.mark.e2e


def login(server: Server, user: str) -> RawImap:
    # Generous timeout: the reads below wait for a push on a loaded 2-core machine.
    client = RawImap(server.host, server.imap_port, timeout=60.0)
    client.ok(f'LOGIN {user} "{PASSWORD}"')
    return client


def append(client: RawImap, mailbox: str, subject: str) -> None:
    body = f"Subject: {subject}\r\n\r\n{subject}\r\n".encode()
    client.ok(f"APPEND {mailbox} {{{len(body)}+}}\r\n".encode() + body)


def test_idling_connection_hears_of_other_mailboxes(server: Server, user: str) -> None:
    watcher, writer = login(server, user), login(server, user)
    [caps] = watcher.ok("CAPABILITY")
    assert b" NOTIFY" in caps and b" MULTISEARCH" in caps
    watcher.ok("SELECT INBOX")
    events = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"
    watcher.ok(f"NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL ({events}))")
    watcher.file.write(b"idle IDLE\r\n")
    watcher.file.flush()
    assert watcher.read_line().startswith(b"+ ")

    append(writer, "Archive", "first")
    line = watcher.read_line()
    assert re.fullmatch(
        rb'\* STATUS "Archive" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)\r\n', line
    ), line
    append(writer, "Archive", "second")
    line = watcher.read_line()
    assert re.fullmatch(
        rb'\* STATUS "Archive" \(MESSAGES 2 UIDNEXT 3 UIDVALIDITY \d+ UNSEEN 2\)\r\n', line
    )
    writer.ok("CREATE Projects")
    assert watcher.read_line() == b'* LIST () "/" "Projects"\r\n'
    writer.ok("RENAME Projects Done")
    assert watcher.read_line() == b'* LIST () "/" "Done" ("OLDNAME" ("Projects"))\r\n'
    append(writer, "INBOX", "selected")  # the selected mailbox: EXISTS, not STATUS
    assert watcher.read_line() == b"* 1 EXISTS\r\n"
    assert watcher.read_line() == b"* 1 RECENT\r\n"

    watcher.file.write(b"DONE\r\n")
    watcher.file.flush()
    assert watcher.read_line() == b"idle OK IDLE terminated\r\n"

    lines = watcher.ok("ESEARCH IN (PERSONAL) RETURN (COUNT) ALL")
    counts = {
        m.group(1): int(m.group(2))
        for line in lines
        if (
            m := re.fullmatch(
                rb'\* ESEARCH \(TAG "t\d+" MAILBOX "([^"]+)" UIDVALIDITY \d+\) UID COUNT (\d+)',
                line,
            )
        )
    }
    assert counts[b"INBOX"] == 1 and counts[b"Archive"] == 2 and counts[b"Done"] == 0
    watcher.close()
    writer.close()
