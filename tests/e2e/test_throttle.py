"""Issue 9, against `roost serve` over real sockets: failed logins from one address, over
IMAP, POP3 and submission together, are answered later and later and then blocked (the
right password too, from there); the real user, from another address, still gets in, a
little later (the account is slowed, never blocked); fail2ban's line is still written."""

from __future__ import annotations

import imaplib
import os
import poplib
import smtplib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server

pytestmark = pytest.mark.e2e

ATTACKER = "127.0.0.1"
USER_ADDRESS = "127.0.0.2"  # another source on the loopback network


@pytest.fixture
def throttled(tmp_path: Path) -> Iterator[Server]:
    config = tmp_path / "roost.toml"
    config.write_text(
        "limit_loopback = true\n"
        "auth_delay_after = 1\n"
        "auth_max_delay = 1\n"
        "auth_block_after = 3\n"
        "auth_account_delay_after = 3\n"
    )
    pop3, submission = free_port(), free_port()
    server = start_server(
        tmp_path / "data",
        config=config,
        extra_env={"ROOST_POP3_PORT": str(pop3), "ROOST_SUBMISSION_PORT": str(submission)},
        listeners=4,
    )
    server.env.update(POP3=str(pop3), SUBMISSION=str(submission))
    yield server
    stop_server(server)


class IMAP4From(imaplib.IMAP4):
    def __init__(self, host: str, port: int, source: str) -> None:
        self.source = source
        super().__init__(host, port)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout, (self.source, 0))


class POP3From(poplib.POP3):
    def __init__(self, host: str, port: int, source: str) -> None:
        self.source = source
        super().__init__(host, port, timeout=30)

    def _create_socket(self, timeout: float) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout, (self.source, 0))


def imap_login(server: Server, source: str, user: str, password: str) -> tuple[str, bytes]:
    client = IMAP4From(server.host, server.imap_port, source)
    try:
        client.login(user, password)
    except imaplib.IMAP4.error as exc:
        return "NO", str(exc).encode()
    finally:
        client.shutdown()
    return "OK", b""


def pop3_login(server: Server, source: str, user: str, password: str) -> bytes:
    client = POP3From(server.host, int(server.env["POP3"]), source)
    try:
        client.user(user)
        return client.pass_(password)
    except poplib.error_proto as exc:
        return bytes(exc.args[0])
    finally:
        client.close()


def smtp_login(server: Server, source: str, user: str, password: str) -> int:
    port = int(server.env["SUBMISSION"])
    with smtplib.SMTP(server.host, port, source_address=(source, 0), timeout=30) as client:
        client.ehlo()
        client.user, client.password = user, password
        try:  # one attempt (login() would try PLAIN, then LOGIN)
            code, _ = client.auth("PLAIN", client.auth_plain)
        except smtplib.SMTPAuthenticationError as exc:
            code = exc.smtp_code
        return code


def timed(call: object, *args: object) -> tuple[object, float]:
    start = time.monotonic()
    result = call(*args)  # type: ignore[operator]
    return result, time.monotonic() - start


def server_log(server: Server) -> str:
    server.process.terminate()
    server.process.wait(timeout=15)
    assert server.process.stderr is not None
    os.set_blocking(server.process.stderr.fileno(), False)
    return (server.process.stderr.read() or b"").decode(errors="replace")


def test_guesses_from_one_address_slow_down_then_block_it_alone(throttled: Server) -> None:
    user = throttled.add_user()
    # Three wrong passwords from one address, one per protocol; the 2nd and 3rd wait 1 s.
    (typ, _), first = timed(imap_login, throttled, ATTACKER, user, "wrong")
    assert typ == "NO" and first < 0.9
    reply, second = timed(pop3_login, throttled, ATTACKER, user, "wrong")
    assert reply.startswith(b"-ERR [AUTH]") and second >= 0.9
    code, third = timed(smtp_login, throttled, ATTACKER, user, "wrong")
    assert code == 535 and third >= 0.9

    # Now that address is blocked: the right password too, at once, on every protocol.
    (typ, text), took = timed(imap_login, throttled, ATTACKER, user, PASSWORD)
    assert typ == "NO" and b"[UNAVAILABLE]" in text and took < 0.9
    assert pop3_login(throttled, ATTACKER, user, PASSWORD).startswith(b"-ERR [SYS/TEMP]")
    assert smtp_login(throttled, ATTACKER, user, PASSWORD) == 454

    # The real user, from elsewhere, gets in: the account is slowed (1 s), never blocked.
    (typ, _), took = timed(imap_login, throttled, USER_ADDRESS, user, PASSWORD)
    assert typ == "OK" and took >= 0.9
    # Her success forgot the account's failures: no wait any more.
    reply, took = timed(pop3_login, throttled, USER_ADDRESS, user, PASSWORD)
    assert reply.startswith(b"+OK") and took < 0.9
    assert smtp_login(throttled, USER_ADDRESS, user, PASSWORD) == 235

    log = server_log(throttled)
    failed = [ln for ln in log.splitlines() if "login failed" in ln and f"peer={ATTACKER}" in ln]
    assert len(failed) == 6  # three wrong passwords, three blocked attempts: fail2ban sees all
    assert f"login blocked source={ATTACKER} failures=3" in log
