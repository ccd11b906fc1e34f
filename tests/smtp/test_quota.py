"""Real quotas on the SMTP side: a recipient over its limit gets 452 4.2.2 (RFC 3463
"mailbox full") for itself only, and nothing of the message is stored for it."""

from __future__ import annotations

import smtplib

import pytest

from roost.store.api import Account
from tests.smtp.harness import Harness
from tests.smtp.test_lmtp import MESSAGE, lmtp_transaction


def limit(roost: Harness, address: str, *, storage: int | None, messages: int | None) -> Account:
    account = roost.call(roost.store.find_account(address))
    assert account is not None
    roost.call(roost.store.set_quota(account.id, storage, messages))
    return account


def test_lmtp_over_quota_recipient_gets_452_and_the_others_get_the_mail(roost: Harness) -> None:
    bob = limit(roost, "bob@example.org", storage=None, messages=1)
    first = lmtp_transaction(roost, ["bob@example.org"], unix=False)
    assert first[-1] == "250 2.0.0 <bob@example.org> delivered"
    lines = lmtp_transaction(roost, ["bob@example.org", "alice@example.org"], unix=False)
    assert lines[-2:] == ["452 4.2.2 Mailbox full", "250 2.0.0 <alice@example.org> delivered"]
    assert len(roost.messages("bob@example.org")) == 1
    assert len(roost.messages("alice@example.org")) == 1
    assert roost.call(roost.store.get_quota(bob.id)).messages_used == 1
    assert roost.queue_entries() == []  # the MTA in front retries


def test_smtp_over_storage_quota_is_queued_and_delivered_once_there_is_room(
    roost: Harness,
) -> None:
    bob = limit(roost, "bob@example.org", storage=100, messages=None)  # smaller than one mail
    with roost.smtp_client(roost.smtp) as client:
        refused = client.sendmail(
            "carol@remote.test", ["alice@example.org", "bob@example.org"], MESSAGE[:-3]
        )
    assert refused == {}
    assert len(roost.messages("alice@example.org")) == 1
    assert roost.messages("bob@example.org") == []
    [entry] = roost.queue_entries()
    assert entry.recipient == "bob@example.org"
    roost.run_queue()
    [entry] = roost.queue_entries()
    assert entry.last_error.startswith("452 4.2.2")
    roost.call(roost.store.set_quota(bob.id, 10_000, None))
    roost.call(roost.store.queue_flush())
    roost.run_queue()
    assert roost.queue_entries() == []
    assert len(roost.messages("bob@example.org")) == 1


def test_smtp_single_recipient_over_quota_is_a_temporary_refusal(roost: Harness) -> None:
    limit(roost, "alice@example.org", storage=10, messages=None)
    with roost.smtp_client(roost.smtp) as client, pytest.raises(smtplib.SMTPDataError) as error:
        client.sendmail("carol@remote.test", ["alice@example.org"], MESSAGE[:-3])
    assert (error.value.smtp_code, error.value.smtp_error[:5]) == (452, b"4.2.2")
    assert roost.messages("alice@example.org") == []
    assert roost.queue_entries() == []


def test_submission_by_a_sender_over_quota_still_sends(
    roost: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The Sent copy does not fit: the mail goes out all the same, and no copy is half
    stored; the log says why, without a traceback."""
    limit(roost, "alice@example.org", storage=None, messages=0)
    message = b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: s\r\n\r\nhi\r\n"
    with roost.submit_client("alice@example.org") as client:
        assert client.sendmail("alice@example.org", ["bob@example.org"], message) == {}
    assert len(roost.messages("bob@example.org")) == 1
    assert roost.messages("alice@example.org", "Sent") == []
    [record] = [r for r in caplog.records if "no Sent copy" in r.getMessage()]
    assert "message quota exceeded" in record.getMessage() and record.exc_info is None
