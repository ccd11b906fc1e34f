"""Inbound SMTP (port 25): local domains only, no relay, size limit, Received:, smuggling."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from tests.smtp.harness import Harness, raw_session

MESSAGE = (
    b"From: Carol <carol@remote.test>\r\n"
    b"To: Alice <alice@example.org>\r\n"
    b"Subject: hello\r\n"
    b"Message-ID: <m1@remote.test>\r\n"
    b"\r\n"
    b"Hi Alice.\r\n"
)


def test_ehlo_advertises_the_extensions(roost: Harness) -> None:
    with roost.smtp_client(roost.smtp) as client:
        code, _ = client.ehlo()
        assert code == 250
        for extension in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes"):
            assert client.has_extn(extension), extension
        assert client.esmtp_features["size"] == str(roost.config.max_message_size)
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")  # port 25 never takes passwords


def test_mail_for_a_local_user_lands_in_inbox_with_a_received_field(roost: Harness) -> None:
    with roost.smtp_client(roost.smtp) as client:
        refused = client.sendmail("carol@remote.test", ["alice@example.org"], MESSAGE)
    assert refused == {}
    [(meta, data)] = roost.messages("alice@example.org")
    assert data.endswith(MESSAGE)
    received = data[: len(data) - len(MESSAGE)]
    assert received.startswith(b"Received: from client.test ([127.0.0.1])")
    assert b"by mx.test (Roost) with ESMTP" in received
    assert b"for <alice@example.org>;" in received
    assert "\\Seen" not in meta.flags


def test_unknown_local_recipient_is_refused_at_rcpt(roost: Harness) -> None:
    with roost.smtp_client(roost.smtp) as client:
        client.ehlo()
        client.mail("carol@remote.test")
        code, text = client.rcpt("nobody@example.org")
    assert code == 550
    assert text.startswith(b"5.1.1")


@pytest.mark.parametrize("sender", ["carol@remote.test", "alice@example.org", ""])
def test_no_open_relay(roost: Harness, sender: str) -> None:
    with roost.smtp_client(roost.smtp) as client:
        client.ehlo()
        client.mail(sender)
        code, text = client.rcpt("victim@elsewhere.test")
        assert code == 550
        assert text.startswith(b"5.7.1 <victim@elsewhere.test>: relaying denied")
        with pytest.raises(smtplib.SMTPDataError):
            client.data(MESSAGE)  # no recipient was accepted
    assert roost.queue_entries() == []


def test_each_recipient_gets_a_copy(roost: Harness) -> None:
    with roost.smtp_client(roost.smtp) as client:
        refused = client.sendmail(
            "carol@remote.test", ["alice@example.org", "bob@example.org"], MESSAGE
        )
    assert refused == {}
    for user in ("alice@example.org", "bob@example.org"):
        [(_, data)] = roost.messages(user)
        assert data.endswith(MESSAGE)
        assert b" for <" not in data  # with several recipients, a copy names none


def test_null_sender_is_accepted(roost: Harness) -> None:
    with roost.smtp_client(roost.smtp) as client:
        assert client.sendmail("", ["alice@example.org"], MESSAGE) == {}
    assert len(roost.messages("alice@example.org")) == 1


def test_size_limit_is_enforced_during_data(tmp_path: Path) -> None:
    roost = Harness(tmp_path / "data", max_message_size=1000)
    try:
        roost.add_user("alice@example.org")
        with roost.smtp_client(roost.smtp) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == "1000"
            # SIZE= declared too big: refused at MAIL.
            code, _ = client.mail("carol@remote.test", ["SIZE=5000"])
            assert code == 552
            client.rset()
            client.mail("carol@remote.test")
            client.rcpt("alice@example.org")
            code, text = client.data(MESSAGE + (b"x" * 78 + b"\r\n") * 20)
            assert code == 552
            assert text.startswith(b"5.3.4")
        assert roost.messages("alice@example.org") == []
    finally:
        roost.close()


def test_replies_carry_enhanced_status_codes(roost: Harness) -> None:
    transcript = raw_session(
        roost.smtp,
        [b"EHLO client.test\r\n", b"DATA\r\n", b"MAIL FROM:<a@b.test>\r\n", b"FOO\r\n"],
    )
    lines = transcript.decode().splitlines()
    assert lines[0].startswith("220 mx.test ")
    assert "503 5.5.1 Error: need RCPT command" in lines
    assert "250 2.1.0 Sender OK" in lines
    assert any(line.startswith("500 5.5.2 ") for line in lines)


def test_mail_for_an_alias_reaches_its_account(roost: Harness) -> None:
    roost.call(roost.store.add_alias("info@shop.test", ["alice@example.org"]))
    with roost.smtp_client(roost.smtp) as client:
        refused = client.sendmail("carol@remote.test", ["info@shop.test"], MESSAGE)
        assert refused == {}
        client.ehlo()
        client.mail("carol@remote.test")
        code, _ = client.rcpt("other@shop.test")  # the alias made shop.test local
    assert code == 550
    [(_, data)] = roost.messages("alice@example.org")
    assert data.endswith(MESSAGE)


def test_a_recipient_named_many_times_gets_one_copy(roost: Harness) -> None:
    # Issue 9: one message to the same address 1,000 times stored 1,000 copies.
    with roost.smtp_client(roost.smtp) as client:
        refused = client.sendmail("carol@remote.test", ["alice@example.org"] * 50, MESSAGE)
    assert refused == {}
    assert len(roost.messages("alice@example.org")) == 1


def test_recipients_past_the_limit_are_deferred_with_452(roost: Harness) -> None:
    limit = roost.config.max_recipients
    with roost.smtp_client(roost.smtp) as client:
        client.ehlo()
        assert client.mail("carol@remote.test")[0] == 250
        for _ in range(limit):
            assert client.rcpt("alice@example.org")[0] == 250
        code, text = client.rcpt("bob@example.org")
        assert code == 452 and b"4.5.3" in text
        assert client.data(MESSAGE)[0] == 250
    assert len(roost.messages("alice@example.org")) == 1
    assert roost.messages("bob@example.org") == []
