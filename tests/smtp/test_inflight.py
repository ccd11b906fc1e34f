"""Issue 9: SMTP/LMTP DATA past 256 KiB goes to a spool file as it arrives (aiosmtpd kept
it in memory); the message comes back into memory only to be delivered, under the
server-wide budget of in-flight bytes: with the budget taken, a temporary 452 4.3.1."""

from __future__ import annotations

import asyncio
import os
import smtplib
import threading
from pathlib import Path

import pytest

from roost.smtp import protocol
from tests.smtp.harness import Harness, raw_session


def message(size: int, subject: str) -> bytes:
    # Lines that start with a dot, so dot-stuffing is undone across the spool too.
    line = b".dotted " + b"w" * 70 + b"\r\n"
    head = f"From: carol@remote.test\r\nTo: alice@example.org\r\nSubject: {subject}\r\n\r\n"
    return head.encode() + line * (size // len(line))


def spool_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes the DATA reader wrote to its spools."""
    sizes: list[int] = []
    original = protocol.message_spool

    def spy(directory: Path):  # type: ignore[no-untyped-def]
        spool = original(directory)
        write = spool.write

        def counted(data: bytes) -> int:
            sizes.append(len(data))
            return write(data)

        spool.write = counted  # type: ignore[method-assign]
        return spool

    monkeypatch.setattr(protocol, "message_spool", spy)
    return sizes


def test_a_large_message_is_spooled_line_by_line_and_delivered_whole(
    roost: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = spool_writes(monkeypatch)
    big = message(2_000_000, "large")
    with roost.smtp_client(roost.smtp) as client:
        assert client.sendmail("carol@remote.test", ["alice@example.org"], big) == {}
    [(_, data)] = roost.messages("alice@example.org")
    assert data.endswith(big)
    assert sum(writes) == len(big) and max(writes) <= 1002  # never more than a line at once
    assert roost.servers.inflight.used == 0


def test_lmtp_delivers_a_large_message_whole(roost: Harness) -> None:
    big = message(1_000_000, "lmtp")
    with smtplib.LMTP("127.0.0.1", roost.lmtp, local_hostname="mta.test", timeout=30) as client:
        assert client.sendmail("carol@remote.test", ["bob@example.org"], big) == {}
    [(_, data)] = roost.messages("bob@example.org")
    assert data.endswith(big)


def test_with_the_budget_taken_data_is_a_temporary_failure(roost: Harness) -> None:
    budget = roost.servers.inflight
    budget.wait = 0.3
    held = threading.Event()
    release = asyncio.Event()

    async def hold_everything() -> None:
        async with budget.hold(budget.limit):
            held.set()
            await release.wait()

    holder = asyncio.run_coroutine_threadsafe(hold_everything(), roost.loop)
    assert held.wait(10)
    big = message(400_000, "refused for now")
    with roost.smtp_client(roost.smtp) as client:
        with pytest.raises(smtplib.SMTPDataError) as caught:
            client.sendmail("carol@remote.test", ["alice@example.org"], big)
        assert caught.value.smtp_code == 452
        assert caught.value.smtp_error.startswith(b"4.3.1 ")
        roost.loop.call_soon_threadsafe(release.set)
        holder.result(10)
        # The same connection tries again, and now there is room.
        assert client.sendmail("carol@remote.test", ["alice@example.org"], big) == {}
    assert len(roost.messages("alice@example.org")) == 1
    assert budget.used == 0


def test_data_limits_are_kept(roost: Harness) -> None:
    # The same rules as aiosmtpd's own DATA: a line over 1000 octets, a message over
    # max_message_size, each refused once the whole message was read; the session goes on.
    long_line = b"Subject: x\r\n\r\n" + b"q" * 5000 + b"\r\n.\r\n"
    transcript = raw_session(
        roost.smtp,
        [
            b"EHLO client.test\r\n",
            b"MAIL FROM:<carol@remote.test>\r\n",
            b"RCPT TO:<alice@example.org>\r\n",
            b"DATA\r\n",
            long_line,
            b"NOOP\r\n",
        ],
    )
    assert b"500 5.5.2 Line too long" in transcript, transcript
    assert transcript.endswith(b"250 2.0.0 OK\r\n")
    assert roost.messages("alice@example.org") == []


def test_too_much_data_is_refused_after_the_dot(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "data", max_message_size=100_000)
    try:
        harness.add_user("alice@example.org")
        with harness.smtp_client(harness.smtp) as client:
            client.ehlo()
            client.mail("c@remote.test")  # no SIZE=: the limit is found while reading
            client.rcpt("alice@example.org")
            code, _ = client.data(message(300_000, "big"))
            assert code == 552
            assert client.noop()[0] == 250
        assert harness.messages("alice@example.org") == []
        assert os.listdir(tmp_path / "data" / "tmp") == []
    finally:
        harness.close()
