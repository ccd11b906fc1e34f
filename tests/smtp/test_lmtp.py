"""LMTP (RFC 2033): one reply per accepted recipient, over TCP and the Unix socket; and
a recipient whose delivery fails does not lose the mail for the others (LMTP and SMTP)."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from roost.errors import MailError, MailErrorKind
from roost.model import MailboxId
from roost.store.engines.sqlite import SqliteStore
from tests.smtp.harness import Harness, _read_reply, raw_session

MESSAGE = b"From: carol@remote.test\r\nSubject: hi\r\n\r\nhello\r\n.\r\n"


def lmtp_transaction(roost: Harness, recipients: Sequence[str], *, unix: bool) -> list[str]:
    """The transcript of one LMTP transaction, read up to every reply DATA owes."""
    commands = [b"LHLO mta.test\r\n", b"MAIL FROM:<carol@remote.test>\r\n"]
    commands += [f"RCPT TO:<{r}>\r\n".encode() for r in recipients]
    commands += [b"DATA\r\n"]
    family = socket.AF_UNIX if unix else socket.AF_INET
    address: Any = str(roost.lmtp_socket) if unix else ("127.0.0.1", roost.lmtp)
    with socket.socket(family) as sock:
        sock.settimeout(5)
        sock.connect(address)
        transcript = _read_reply(sock)
        for command in commands:
            sock.sendall(command)
            transcript += _read_reply(sock)
        accepted = transcript.count(b"\r\n250 2.1.5 ")
        sock.sendall(MESSAGE)
        replies = b""
        while replies.count(b"\r\n") < accepted:
            chunk = _read_reply(sock)
            assert chunk, replies
            replies += chunk
    return (transcript + replies).decode().splitlines()


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_one_reply_per_accepted_recipient(roost: Harness, unix: bool) -> None:
    lines = lmtp_transaction(
        roost, ["alice@example.org", "nobody@example.org", "bob@example.org"], unix=unix
    )
    assert lines[0].startswith("220 ")
    assert "550 5.1.1 <nobody@example.org>: no such user here" in lines
    after_data = lines[lines.index("354 End data with <CR><LF>.<CR><LF>") + 1 :]
    assert after_data == [
        "250 2.0.0 <alice@example.org> delivered",
        "250 2.0.0 <bob@example.org> delivered",
    ]
    for user in ("alice@example.org", "bob@example.org"):
        [(_, data)] = roost.messages(user)
        assert b"with LMTP" in data
        assert data.endswith(b"\r\n\r\nhello\r\n")


def test_a_recipient_named_twice_gets_two_replies_and_one_copy(roost: Harness) -> None:
    lines = lmtp_transaction(roost, ["alice@example.org"] * 3, unix=False)
    after_data = lines[lines.index("354 End data with <CR><LF>.<CR><LF>") + 1 :]
    assert after_data == ["250 2.0.0 <alice@example.org> delivered"] * 3  # RFC 2033 §4.2
    assert len(roost.messages("alice@example.org")) == 1


def test_lmtp_listens_on_loopback_whatever_bind_says(tmp_path: Path) -> None:
    # Issue 9: with bind = "0.0.0.0", LMTP (no authentication) took forged deliveries from
    # any host. It has a bind of its own, loopback by default.
    harness = Harness(tmp_path / "data", bind="0.0.0.0")
    try:
        hosts = {
            server.sockets[0].getsockname()[1]: server.sockets[0].getsockname()[0]
            for server in harness.servers._servers
            if server.sockets and isinstance(server.sockets[0].getsockname(), tuple)
        }
        assert hosts[harness.lmtp] == "127.0.0.1"
        assert hosts[harness.submission] == "0.0.0.0"
    finally:
        harness.close()


def test_helo_and_ehlo_are_not_lmtp(roost: Harness) -> None:
    transcript = raw_session(roost.lmtp, [b"EHLO x\r\n", b"HELO x\r\n"]).decode()
    assert transcript.count("500 5.5.2 Error: command") == 2


@pytest.fixture
def bob_over_quota(roost: Harness, monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """Bob's INBOX refuses mail (over quota) while state["full"] is true."""
    state = {"full": True}
    bob = roost.call(roost.store.find_account("bob@example.org"))
    assert bob is not None
    inbox = roost.call(roost.store.find_mailbox(bob.id, "INBOX"))
    original = SqliteStore.append

    async def append(self: SqliteStore, mailbox: MailboxId, messages: Any) -> Any:
        if mailbox == inbox.id and state["full"]:
            raise MailError(MailErrorKind.OVER_QUOTA, "over quota")
        return await original(self, mailbox, messages)

    monkeypatch.setattr(SqliteStore, "append", append)
    return state


def test_lmtp_reports_the_failed_recipient_only(
    roost: Harness, bob_over_quota: dict[str, bool]
) -> None:
    lines = lmtp_transaction(roost, ["alice@example.org", "bob@example.org"], unix=False)
    assert lines[-2:] == ["250 2.0.0 <alice@example.org> delivered", "452 4.2.2 Mailbox full"]
    assert len(roost.messages("alice@example.org")) == 1
    assert roost.messages("bob@example.org") == []
    assert roost.queue_entries() == []  # the MTA in front keeps it and retries


def test_smtp_queues_the_failed_recipient_and_retries(
    roost: Harness, bob_over_quota: dict[str, bool]
) -> None:
    with roost.smtp_client(roost.smtp) as client:
        refused = client.sendmail(
            "carol@remote.test", ["alice@example.org", "bob@example.org"], MESSAGE[:-3]
        )
    assert refused == {}
    assert len(roost.messages("alice@example.org")) == 1
    [entry] = roost.queue_entries()
    assert entry.recipient == "bob@example.org"
    assert roost.wakes == 1
    roost.run_queue()  # still full: deferred
    [entry] = roost.queue_entries()
    assert entry.attempts == 1 and entry.last_error.startswith("452 4.2.2")
    bob_over_quota["full"] = False
    roost.call(roost.store.queue_flush())
    roost.run_queue()
    assert roost.queue_entries() == []
    [(_, data)] = roost.messages("bob@example.org")
    assert data.startswith(b"Received: ")


def test_smtp_all_recipients_failing_is_a_temporary_error(
    roost: Harness, bob_over_quota: dict[str, bool]
) -> None:
    with roost.smtp_client(roost.smtp) as client, pytest.raises(smtplib.SMTPDataError) as error:
        client.sendmail("carol@remote.test", ["bob@example.org"], MESSAGE[:-3])
    assert error.value.smtp_code == 452  # the client keeps the mail and retries
    assert roost.queue_entries() == []
