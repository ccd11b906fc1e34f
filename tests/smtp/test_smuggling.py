"""SMTP smuggling: a fake end-of-data must never split one message into two.

RFC 5321 §2.3.8: CR and LF appear in mail data only as CRLF; the end of data is exactly
CRLF "." CRLF (§4.1.1.4). Each case below hides a second transaction (for bob) behind an
end-of-data with a bare CR or LF: the server must read it all as one message and refuse
that message, delivering nothing to anyone.
"""

from __future__ import annotations

import pytest

from tests.smtp.harness import Harness, raw_session

SMUGGLED = (
    b"MAIL FROM:<evil@remote.test>\r\n"
    b"RCPT TO:<bob@example.org>\r\n"
    b"DATA\r\n"
    b"From: ceo@example.org\r\nSubject: smuggled\r\n\r\npay now\r\n"
    b".\r\n"
)
FAKE_ENDS = [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r", b"\r.\r", b"\n.\r"]


def transaction(port: int, body: bytes) -> list[str]:
    transcript = raw_session(
        port,
        [
            b"EHLO client.test\r\n",
            b"MAIL FROM:<carol@remote.test>\r\n",
            b"RCPT TO:<alice@example.org>\r\n",
            b"DATA\r\n",
            body,
            b"QUIT\r\n",
        ],
    )
    return transcript.decode().splitlines()


@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=repr)
def test_fake_end_of_data_is_not_a_message_boundary(roost: Harness, fake_end: bytes) -> None:
    body = b"From: carol@remote.test\r\nSubject: hi\r\n\r\nhello" + fake_end + SMUGGLED
    lines = transaction(roost.smtp, body)
    after_data = lines[lines.index("354 End data with <CR><LF>.<CR><LF>") + 1 :]
    # One reply for the one message, a refusal; the smuggled commands were data.
    assert after_data[0].startswith("550 5.6.0 Message refused: it contains a bare CR or LF")
    assert after_data[1].startswith("221")
    assert roost.messages("alice@example.org") == []
    assert roost.messages("bob@example.org") == []


@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=repr)
def test_lmtp_refuses_the_same_way(roost: Harness, fake_end: bytes) -> None:
    body = b"Subject: hi\r\n\r\nhello" + fake_end + SMUGGLED
    transcript = raw_session(
        roost.lmtp,
        [
            b"LHLO client.test\r\n",
            b"MAIL FROM:<carol@remote.test>\r\n",
            b"RCPT TO:<alice@example.org>\r\n",
            b"DATA\r\n",
            body,
        ],
    )
    assert transcript.decode().splitlines()[-1].startswith("550 5.6.0")
    assert roost.messages("alice@example.org") == []
    assert roost.messages("bob@example.org") == []


def test_a_bare_lf_inside_the_message_is_refused(roost: Harness) -> None:
    lines = transaction(roost.smtp, b"Subject: hi\r\n\r\nline one\nline two\r\n.\r\n")
    assert any(line.startswith("550 5.6.0") for line in lines)
    assert roost.messages("alice@example.org") == []


def test_dot_stuffing_is_undone_and_crlf_mail_is_accepted(roost: Harness) -> None:
    lines = transaction(roost.smtp, b"Subject: hi\r\n\r\n..leading dot\r\n.\r\n")
    assert any(line.startswith("250 2.0.0 OK") for line in lines)
    [(_, data)] = roost.messages("alice@example.org")
    assert data.endswith(b"\r\n\r\n.leading dot\r\n")
