"""A MAIL FROM or RCPT TO address with octets that are not UTF-8 (aiosmtpd hands them on
as lone surrogates, which no store can hold) is refused as a malformed address, never an
exception (issue 9: found by the socket fuzzer, tests/e2e/test_socket_fuzz.py, where it was
a traceback and `500 Error: (UnicodeEncodeError) ...`)."""

from __future__ import annotations

import pytest

from roost.auth.accounts import normalise_address
from tests.smtp.harness import Harness, raw_session


def replies(port: int, greeting: bytes, mail_from: bytes, rcpt_to: bytes) -> list[str]:
    transcript = raw_session(
        port,
        [greeting, b"MAIL FROM:<" + mail_from + b">\r\n", b"RCPT TO:<" + rcpt_to + b">\r\n"],
    )
    return transcript.decode(errors="replace").splitlines()


@pytest.mark.parametrize("lmtp", [False, True], ids=["smtp", "lmtp"])
def test_a_recipient_that_is_not_utf8_is_malformed(roost: Harness, lmtp: bool) -> None:
    port, greeting = (roost.lmtp, b"LHLO a.test\r\n") if lmtp else (roost.smtp, b"EHLO a.test\r\n")
    lines = replies(port, greeting, b"carol@remote.test", b"al\xffice@example.org")
    assert lines[-2].startswith("250"), lines  # MAIL FROM
    assert lines[-1][:1] == "5" and "Error:" not in lines[-1], lines


def test_a_sender_that_is_not_utf8_is_refused(roost: Harness) -> None:
    lines = replies(roost.smtp, b"EHLO a.test\r\n", b"ca\xffrol@remote.test", b"x@example.org")
    assert all("UnicodeEncodeError" not in line for line in lines), lines


def test_lone_surrogates_are_not_an_address() -> None:
    with pytest.raises(ValueError, match="local part"):
        normalise_address("al\udcffice@example.org")
