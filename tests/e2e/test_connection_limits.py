"""Issue 9, against `roost serve`: connections per address before login, per account after,
over IMAP, POP3 and submission together, each refused with its reason; other addresses and
other accounts are not affected; a place freed is taken again."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server
from tests.e2e.test_throttle import IMAP4From

pytestmark = pytest.mark.e2e


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Server]:
    config = tmp_path / "roost.toml"
    config.write_text(
        "max_connections_per_address = 3\nmax_connections_per_account = 2\nlimit_loopback = true\n"
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


def first_reply(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        sock.settimeout(5)
        rest = sock.recv(4096)  # the server closes after a refusal
        return data + rest


def test_strangers_from_one_address_get_a_share_and_accounts_a_share(limited: Server) -> None:
    alice, bob = limited.add_user(), limited.add_user()
    pop3, submission = int(limited.env["POP3"]), int(limited.env["SUBMISSION"])
    waiting = [imaplib.IMAP4(limited.host, limited.imap_port) for _ in range(3)]

    # A fourth connection from the address, on any protocol, is refused with the reason.
    assert first_reply(limited.imap_port) == (
        b"* BYE Too many connections from your address; try again later\r\n"
    )
    assert first_reply(pop3) == (
        b"-ERR [SYS/TEMP] Too many connections from your address; try again later\r\n"
    )
    assert first_reply(submission).startswith(b"421 4.7.0 localhost Too many connections")
    # Another address is not affected.
    other = IMAP4From(limited.host, limited.imap_port, "127.0.0.2")
    other.login(bob, PASSWORD)

    # Logging in moves a connection from its address to its account: two for alice...
    waiting[0].login(alice, PASSWORD)
    waiting[1].login(alice, PASSWORD)
    with pytest.raises(imaplib.IMAP4.error, match=r"\[LIMIT\] Too many connections for this"):
        waiting[2].login(alice, PASSWORD)
    assert waiting[2].noop()[0] == "OK"  # still connected, not logged in
    # ...and the address has room again, but not alice, on any protocol.
    client = poplib.POP3(limited.host, pop3, timeout=10)
    client.user(alice)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        client.pass_(PASSWORD)
    client.quit()
    with smtplib.SMTP(limited.host, submission, timeout=10) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = alice, PASSWORD
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            smtp.auth("PLAIN", smtp.auth_plain)
        assert caught.value.smtp_code == 454
    waiting[2].login(bob, PASSWORD)  # bob has room

    # A place freed is taken again.
    waiting[0].logout()
    client = poplib.POP3(limited.host, pop3, timeout=10)
    client.user(alice)
    assert client.pass_(PASSWORD).startswith(b"+OK")
    client.quit()
    for c in (waiting[1], waiting[2], other):
        c.logout()
