"""Submission (RFC 6409 / RFC 8314): AUTH over TLS or loopback, sending only as oneself,
local delivery, the queue for remote recipients, the Sent copy and its deduplication."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from roost.delivery import deliver
from tests.smtp.harness import PASSWORD, Harness, client_tls

MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.org>, Dan <dan@remote.test>\r\n"
    b"Bcc: Eve <eve@remote.test>\r\n"
    b"Subject: plans\r\n"
    b"Message-ID: <plans-1@example.org>\r\n"
    b"\r\n"
    b"See you at noon.\r\n"
)
RECIPIENTS = ["bob@example.org", "dan@remote.test", "eve@remote.test"]


def test_ehlo_offers_auth_on_loopback_and_requires_it(roost: Harness) -> None:
    with roost.smtp_client(roost.submission) as client:
        client.ehlo()
        assert client.has_extn("auth")
        assert set(client.esmtp_features["auth"].split()) == {"LOGIN", "PLAIN"}
        assert client.has_extn("starttls") and client.has_extn("enhancedstatuscodes")
        code, text = client.mail("alice@example.org")
        assert (code, text[:5]) == (530, b"5.7.0")


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path / "strict", allow_plaintext_auth_on_loopback=False)
    harness.add_user("alice@example.org")
    yield harness
    harness.close()


def test_auth_needs_tls_unless_loopback_is_allowed(strict: Harness) -> None:
    with strict.smtp_client(strict.submission) as client:
        client.ehlo()
        assert not client.has_extn("auth")
        code, text = client.docmd("AUTH", "PLAIN")
        assert (code, text[:6]) == (538, b"5.7.11")
        client.starttls(context=client_tls())
        client.ehlo()
        assert client.has_extn("auth")
        assert client.login("alice@example.org", PASSWORD)[0] == 235


def test_implicit_tls_port(strict: Harness) -> None:
    with smtplib.SMTP_SSL(
        "127.0.0.1", strict.submissions, context=client_tls(), timeout=30
    ) as client:
        client.ehlo()
        assert client.has_extn("auth")
        assert not client.has_extn("starttls")
        assert client.login("alice@example.org", PASSWORD)[0] == 235


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_mechanisms(roost: Harness, mechanism: str) -> None:
    with roost.smtp_client(roost.submission) as client:
        client.ehlo()
        client.user, client.password = "alice@example.org", PASSWORD
        method = client.auth_plain if mechanism == "PLAIN" else client.auth_login
        for initial in (True, False):
            code, _ = client.auth(mechanism, method, initial_response_ok=initial)
            assert code == 235
            client.rset()
            client.ehlo()  # a new session for the second round
            client.close()
            client.connect("127.0.0.1", roost.submission)
            client.ehlo()


def test_wrong_password(roost: Harness) -> None:
    with roost.smtp_client(roost.submission) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            client.login("alice@example.org", "wrong")
        assert error.value.smtp_code == 535
        assert error.value.smtp_error.startswith(b"5.7.8")


def test_envelope_sender_must_be_the_account(roost: Harness) -> None:
    with roost.submit_client("alice@example.org", tls=False) as client:
        code, text = client.mail("bob@example.org")
    assert code == 553
    assert text.decode() == (
        "5.7.1 <bob@example.org> is not yours: you are logged in as alice@example.org "
        "and may send only as that address or its aliases"
    )


def test_from_header_must_be_the_account(roost: Harness) -> None:
    forged = MESSAGE.replace(b"From: Alice <alice@example.org>", b"From: Bob <bob@example.org>")
    with (
        roost.submit_client("alice@example.org") as client,
        pytest.raises(smtplib.SMTPDataError) as error,
    ):
        client.sendmail("alice@example.org", ["bob@example.org"], forged)
    assert error.value.smtp_code == 550
    assert error.value.smtp_error.startswith(b"5.7.1 From: <bob@example.org> is not yours")
    assert roost.messages("bob@example.org") == []
    assert roost.messages("alice@example.org", "Sent") == []


def test_sender_header_must_be_the_account_too(roost: Harness) -> None:
    # Issue 9: a user could otherwise sign mail as sent by someone else (RFC 5322 §3.6.2).
    forged = MESSAGE.replace(
        b"From: Alice <alice@example.org>",
        b"From: Alice <alice@example.org>\r\nSender: Bob <bob@example.org>",
    )
    with (
        roost.submit_client("alice@example.org") as client,
        pytest.raises(smtplib.SMTPDataError) as error,
    ):
        client.sendmail("alice@example.org", ["bob@example.org"], forged)
    assert error.value.smtp_code == 550
    assert error.value.smtp_error.startswith(b"5.7.1 Sender: <bob@example.org> is not yours")
    assert roost.messages("bob@example.org") == []


def test_unknown_local_recipient_is_refused(roost: Harness) -> None:
    with roost.submit_client("alice@example.org") as client:
        client.mail("alice@example.org")
        code, text = client.rcpt("nobody@example.org")
    assert (code, text[:5]) == (550, b"5.1.1")


def test_submission_delivers_queues_and_keeps_a_sent_copy(roost: Harness) -> None:
    with roost.submit_client("alice@example.org") as client:
        assert client.sendmail("alice@example.org", RECIPIENTS, MESSAGE) == {}
    # The local recipient: delivered now, without Bcc, with a Received: field.
    [(_, bob_copy)] = roost.messages("bob@example.org")
    assert b"Bcc:" not in bob_copy
    assert bob_copy.startswith(b"Received: from client.test ([127.0.0.1])")
    assert b"with ESMTPSA" in bob_copy
    # The remote recipients: one queue entry each, without Bcc.
    entries = roost.queue_entries()
    assert sorted(e.recipient for e in entries) == ["dan@remote.test", "eve@remote.test"]
    assert {e.mail_from for e in entries} == {"alice@example.org"}
    queued = roost.call(roost.store.read_blob(entries[0].blob_id))
    assert b"Bcc:" not in queued
    assert roost.wakes == 1
    # The sender's Sent: the message as submitted (Bcc kept), \Seen.
    [(meta, sent)] = roost.messages("alice@example.org", "Sent")
    assert sent == MESSAGE
    assert "\\Seen" in meta.flags


def test_the_sent_copy_names_the_blind_copied_recipients(roost: Harness) -> None:
    """mutt and most clients leave Bcc: out of what they submit; the server's Sent copy
    names those envelope recipients that To: and Cc: do not (an alias counts as named)."""
    roost.add_user("carol@example.org")
    roost.call(roost.store.add_alias("bobby@example.org", ["bob@example.org"]))
    plain = MESSAGE.replace(b"Bcc: Eve <eve@remote.test>\r\n", b"").replace(
        b"Bob <bob@example.org>", b"Bob <bobby@example.org>"
    )
    recipients = ["bobby@example.org", "dan@remote.test", "eve@remote.test", "carol@example.org"]
    with roost.submit_client("alice@example.org") as client:
        assert client.sendmail("alice@example.org", recipients, plain) == {}
    [(meta, sent)] = roost.messages("alice@example.org", "Sent")
    header, _, body = plain.partition(b"\r\n\r\n")
    assert sent == header + b"\r\nBcc: eve@remote.test, carol@example.org\r\n\r\n" + body
    assert "\\Seen" in meta.flags
    [(_, carol_copy)] = roost.messages("carol@example.org")
    assert b"Bcc" not in carol_copy


def test_a_copy_the_client_appended_is_not_duplicated(roost: Harness) -> None:
    alice = roost.call(roost.store.find_account("alice@example.org"))
    assert alice is not None
    sent = roost.call(roost.store.find_mailbox(alice.id, "Sent"))
    # Thunderbird appends its own copy (headers re-folded, LF line ends in the body).
    appended = MESSAGE.replace(b"See you at noon.\r\n", b"See you at noon.  \n")
    roost.call(deliver(roost.store, sent.id, appended))
    with roost.submit_client("alice@example.org") as client:
        client.sendmail("alice@example.org", ["bob@example.org"], MESSAGE)
    assert len(roost.messages("alice@example.org", "Sent")) == 1
    # Another message under the same Message-ID is not the same message.
    other = MESSAGE.replace(b"noon", b"one")
    with roost.submit_client("alice@example.org") as client:
        client.sendmail("alice@example.org", ["bob@example.org"], other)
    assert len(roost.messages("alice@example.org", "Sent")) == 2


def test_the_smuggling_check_applies_to_submission_too(roost: Harness) -> None:
    with roost.submit_client("alice@example.org") as client:
        client.mail("alice@example.org")
        client.rcpt("bob@example.org")
        code, _ = client.docmd("DATA")
        assert code == 354
        client.send(MESSAGE + b"\n.\nRSET\r\n.\r\n")
        code, text = client.getreply()
    assert (code, text[:5]) == (550, b"5.6.0")
    assert roost.messages("bob@example.org") == []


def test_an_alias_may_be_the_sender(roost: Harness) -> None:
    roost.call(roost.store.add_alias("sales@shop.test", ["alice@example.org"]))
    as_alias = MESSAGE.replace(b"From: Alice <alice@example.org>", b"From: Sales <sales@shop.test>")
    with roost.submit_client("alice@example.org") as client:
        assert client.sendmail("sales@shop.test", ["bob@example.org"], as_alias) == {}
    [(_, delivered)] = roost.messages("bob@example.org")
    assert b"From: Sales <sales@shop.test>" in delivered
    [(_, sent)] = roost.messages("alice@example.org", "Sent")
    assert sent == as_alias
    # Bob may not use Alice's alias.
    with roost.submit_client("bob@example.org") as client:
        code, _ = client.mail("sales@shop.test")
    assert code == 553
