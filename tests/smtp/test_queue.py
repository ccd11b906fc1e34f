"""The outbound queue against a second aiosmtpd playing the remote side: a smarthost or
the recipient domain's MX; temporary failures retried, permanent ones and expired ones
reported to the sender (RFC 3464); entries survive reopening the store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest

from roost.smtp.queue import backoff
from tests.smtp.harness import Harness, RemoteMx

MESSAGE = (
    b"From: alice@example.org\r\n"
    b"To: dan@remote.test\r\n"
    b"Bcc: eve@remote.test\r\n"
    b"Subject: report\r\n"
    b"Message-ID: <r1@example.org>\r\n"
    b"\r\n"
    b"Numbers attached.\r\n"
)


@pytest.fixture
def relayed(tmp_path: Path, remote: RemoteMx) -> Iterator[Harness]:
    """Roost with `remote` as its smarthost (no TLS: a test server on loopback)."""
    harness = Harness(
        tmp_path / "data",
        smarthost="127.0.0.1",
        smarthost_port=remote.port,
        smarthost_starttls=False,
    )
    harness.add_user("alice@example.org")
    yield harness
    harness.close()


def submit(roost: Harness, recipients: list[str]) -> None:
    with roost.submit_client("alice@example.org") as client:
        assert client.sendmail("alice@example.org", recipients, MESSAGE) == {}


def test_smarthost_delivery(relayed: Harness, remote: RemoteMx) -> None:
    submit(relayed, ["dan@remote.test", "eve@remote.test"])
    assert relayed.run_queue() == 2
    [envelope] = remote.received  # one transaction for the domain
    assert envelope.mail_from == "alice@example.org"
    assert sorted(envelope.rcpt_tos) == ["dan@remote.test", "eve@remote.test"]
    assert envelope.original_content is not None
    assert b"Bcc:" not in envelope.original_content
    assert envelope.original_content.startswith(b"Received: from client.test")
    assert relayed.queue_entries() == []


def test_temporary_failure_then_success(
    relayed: Harness, remote: RemoteMx, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roost.relay")
    remote.replies = ["451 4.3.0 Try again later"]
    submit(relayed, ["dan@remote.test"])
    relayed.run_queue()
    [entry] = relayed.queue_entries()
    assert entry.attempts == 1
    assert entry.last_error == "451 4.3.0 Try again later"
    assert entry.next_attempt - entry.created >= timedelta(seconds=relayed.config.queue_retry)
    assert relayed.run_queue() == 0  # not due yet
    relayed.call(relayed.store.queue_flush())
    relayed.run_queue()
    assert relayed.queue_entries() == []
    assert len(remote.received) == 1
    assert relayed.messages("alice@example.org") == []  # no report on success
    # One log line per relay attempt (a deferral is a WARNING), and the metric by result.
    attempts = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "roost.relay"]
    common = "relay sender=alice@example.org recipient=dan@remote.test"
    assert attempts[0] == (
        "WARNING",
        f'{common} attempt=1 result=deferred reply="451 4.3.0 Try again later"',
    )
    assert attempts[1][0] == "INFO"
    assert attempts[1][1].startswith(f'{common} attempt=2 result=sent reply="250 ')
    assert len(attempts) == 2
    registry = relayed.queue.sessions.metrics.registry
    for result, count in (("deferred", 1.0), ("sent", 1.0), ("failed", None)):
        sample = registry.get_sample_value("roost_relay_attempts_total", {"result": result})
        assert sample == count, result


def dsn_of(roost: Harness) -> tuple[bytes, str]:
    [(_, report)] = roost.messages("alice@example.org")
    message = message_from_bytes(report)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    parts = message.get_payload()
    assert isinstance(parts, list)
    assert [p.get_content_type() for p in parts] == [
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    return report, str(message["To"])


def test_permanent_failure_sends_a_dsn_to_the_senders_inbox(
    relayed: Harness, remote: RemoteMx
) -> None:
    remote.replies = ["550 5.1.1 No such user"]
    submit(relayed, ["dan@remote.test"])
    relayed.run_queue()
    assert relayed.queue_entries() == []
    report, to = dsn_of(relayed)
    assert to == "<alice@example.org>"
    assert b"Final-Recipient: rfc822; dan@remote.test\r\n" in report
    assert b"Action: failed\r\nStatus: 5.1.1\r\n" in report
    assert b"Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n" in report
    assert b"Subject: report" in report  # the original header is returned


def test_giving_up_after_the_configured_time(relayed: Harness, remote: RemoteMx) -> None:
    remote.replies = ["451 4.3.0 Busy"] * 2
    submit(relayed, ["dan@remote.test"])
    relayed.run_queue()
    [entry] = relayed.queue_entries()
    relayed.clock_now = entry.created + timedelta(seconds=relayed.config.queue_give_up + 1)
    relayed.run_queue()
    assert relayed.queue_entries() == []
    report, _ = dsn_of(relayed)
    assert b"Status: 4.3.0" in report
    assert remote.received == []


def test_direct_delivery_to_the_mx(tmp_path: Path, remote: RemoteMx) -> None:
    roost = Harness(tmp_path / "data")  # no smarthost: the harness resolves MX to loopback
    try:
        roost.add_user("alice@example.org")
        roost.mx_port = remote.port
        submit(roost, ["dan@remote.test"])
        roost.run_queue()
        [envelope] = remote.received
        assert envelope.rcpt_tos == ["dan@remote.test"]
        assert roost.queue_entries() == []
    finally:
        roost.close()


def test_unreachable_host_is_retried(tmp_path: Path) -> None:
    from tests.e2e.conftest import free_port

    roost = Harness(
        tmp_path / "data",
        smarthost="127.0.0.1",
        smarthost_port=free_port(),
        smarthost_starttls=False,
    )
    try:
        roost.add_user("alice@example.org")
        submit(roost, ["dan@remote.test"])
        roost.run_queue()
        [entry] = roost.queue_entries()
        assert entry.last_error.startswith("451 4.4.1 127.0.0.1:")
    finally:
        roost.close()


def test_the_queue_survives_reopening_the_store(tmp_path: Path) -> None:
    roost = Harness(tmp_path / "data", smarthost="127.0.0.1", smarthost_port=9)
    roost.add_user("alice@example.org")
    submit(roost, ["dan@remote.test"])
    roost.close()
    again = Harness(tmp_path / "data")
    try:
        [entry] = again.queue_entries()
        assert entry.recipient == "dan@remote.test"
        assert again.call(again.store.read_blob(entry.blob_id)).endswith(b"Numbers attached.\r\n")
        # Blob collection keeps queued blobs.
        assert again.call(again.store.collect_blobs(grace_seconds=0)) == 0
    finally:
        again.close()


def test_backoff_doubles_up_to_four_hours() -> None:
    assert [backoff(300, n).total_seconds() for n in (1, 2, 3, 4)] == [300, 600, 1200, 2400]
    assert backoff(300, 50) == timedelta(hours=4)
