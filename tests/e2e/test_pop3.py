"""POP3 over real sockets with Python's poplib (and a raw socket where poplib would hide
what matters): the commands, byte-exact RETR, TLS both ways, and POP3 beside IMAP."""

from __future__ import annotations

import base64
import imaplib
import poplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server
from tests.e2e.rawimap import RawImap

pytestmark = pytest.mark.e2e

LUNCH = b"From: Bob <bob@example.org>\r\nSubject: Lunch\r\n\r\nSee you at noon.\r\n"
# Stored with bare LF, lines that begin with ".", and no line end at the end.
ODD = b"From: Dan <dan@example.org>\nSubject: Odd\n\n.\n..two\nlast"
ODD_SENT = ODD.replace(b"\n", b"\r\n") + b"\r\n"


@dataclass
class Pop3Server:
    server: Server
    pop3: int
    pop3s: int

    @property
    def host(self) -> str:
        return self.server.host

    def cert(self) -> Path:
        return self.server.data_dir / "tls" / "cert.pem"

    def client(self) -> poplib.POP3:
        return poplib.POP3(self.host, self.pop3, timeout=30)

    def tls_context(self) -> ssl.SSLContext:
        """Verifies the server's self-signed certificate as the one trusted certificate."""
        context = ssl.create_default_context(cafile=str(self.cert()))
        context.check_hostname = True
        return context


def start_pop3(data_dir: Path, config: Path | None = None) -> Pop3Server:
    pop3, pop3s = free_port(), free_port()
    server = start_server(
        data_dir,
        config=config,
        extra_env={"ROOST_POP3_PORT": str(pop3), "ROOST_POP3S_PORT": str(pop3s)},
        listeners=4,
    )
    return Pop3Server(server, pop3, pop3s)


@pytest.fixture(scope="module")
def pop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pop3Server]:
    srv = start_pop3(tmp_path_factory.mktemp("roost-pop3"))
    yield srv
    stop_server(srv.server)


@pytest.fixture
def account(pop: Pop3Server) -> str:
    return pop.server.add_user()


def append(pop: Pop3Server, user: str, *messages: bytes) -> None:
    imap = imaplib.IMAP4(pop.host, pop.server.imap_port)
    imap.login(user, PASSWORD)
    for message in messages:
        typ, _ = imap.append("INBOX", "", None, message)
        assert typ == "OK"
    imap.logout()


def inbox_subjects(pop: Pop3Server, user: str) -> list[bytes]:
    imap = imaplib.IMAP4(pop.host, pop.server.imap_port)
    imap.login(user, PASSWORD)
    typ, data = imap.select("INBOX", readonly=True)
    subjects = []
    if data != [b"0"]:
        typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects = [item[1].strip() for item in data if isinstance(item, tuple)]
    imap.logout()
    return subjects


def test_a_download_session(pop: Pop3Server, account: str) -> None:
    append(pop, account, LUNCH, ODD)
    client = pop.client()
    assert client.getwelcome().startswith(b"+OK")
    caps = client.capa()
    assert {"TOP", "UIDL", "USER", "SASL", "STLS", "PIPELINING"} <= set(caps)
    assert caps["SASL"] == ["PLAIN"]
    client.user(account)
    assert client.pass_(PASSWORD).startswith(b"+OK Logged in")
    assert client.stat() == (2, len(LUNCH) + len(ODD_SENT))
    resp, listing, _ = client.list()
    assert listing == [b"1 %d" % len(LUNCH), b"2 %d" % len(ODD_SENT)]
    resp, uids, _ = client.uidl()
    assert [line.split()[0] for line in uids] == [b"1", b"2"]
    assert len({line.split()[1] for line in uids}) == 2

    resp, lines, octets = client.retr(1)
    assert b"".join(line + b"\r\n" for line in lines) == LUNCH and octets == len(LUNCH)
    # poplib undoes the dot-stuffing and counts the octets it kept: the size LIST gave.
    resp, lines, octets = client.retr(2)
    assert b"".join(line + b"\r\n" for line in lines) == ODD_SENT
    assert resp == b"+OK %d octets" % len(ODD_SENT) and octets == len(ODD_SENT)
    resp, lines, _ = client.top(2, 1)
    assert lines == [b"From: Dan <dan@example.org>", b"Subject: Odd", b"", b"."]
    resp, lines, _ = client.top(1, 10**9)
    assert b"".join(line + b"\r\n" for line in lines) == LUNCH

    client.dele(1)
    with pytest.raises(poplib.error_proto, match="message 1 is deleted"):
        client.retr(1)
    assert client.stat() == (1, len(ODD_SENT))
    client.rset()
    assert client.stat()[0] == 2
    client.dele(2)
    assert inbox_subjects(pop, account) == [b"Subject: Lunch", b"Subject: Odd"]
    assert client.quit().startswith(b"+OK Bye")
    assert inbox_subjects(pop, account) == [b"Subject: Lunch"]  # durable before +OK


def test_uidl_is_stable_across_sessions(pop: Pop3Server, account: str) -> None:
    append(pop, account, LUNCH)
    first = pop.client()
    first.user(account)
    first.pass_(PASSWORD)
    before = first.uidl()[1]
    first.quit()
    append(pop, account, ODD)
    second = pop.client()
    second.user(account)
    second.pass_(PASSWORD)
    after = second.uidl()[1]
    second.quit()
    assert after[0] == before[0] and len(after) == 2


def test_pop3s_and_stls_with_the_servers_certificate(pop: Pop3Server, account: str) -> None:
    append(pop, account, LUNCH)
    implicit = poplib.POP3_SSL(pop.host, pop.pop3s, context=pop.tls_context(), timeout=30)
    assert "STLS" not in implicit.capa()
    implicit.user(account)
    implicit.pass_(PASSWORD)
    assert implicit.stat() == (1, len(LUNCH))
    implicit.quit()

    upgraded = pop.client()
    upgraded.stls(pop.tls_context())
    assert "STLS" not in upgraded.capa()
    upgraded.user(account)
    upgraded.pass_(PASSWORD)
    assert upgraded.stat() == (1, len(LUNCH))
    upgraded.quit()


def test_auth_plain_and_a_wrong_password(pop: Pop3Server, account: str) -> None:
    client = pop.client()
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\] Invalid credentials"):
        client.user(account)
        client.pass_("wrong")
    token = base64.b64encode(f"\0{account}\0{PASSWORD}".encode()).decode()
    assert client._shortcmd(f"AUTH PLAIN {token}").startswith(b"+OK Logged in")
    client.quit()


def raw(pop: Pop3Server) -> socket.socket:
    sock = socket.create_connection((pop.host, pop.pop3), timeout=30)
    assert sock.makefile("rb").readline().startswith(b"+OK")
    return sock


def test_stls_discards_what_was_pipelined_after_it(pop: Pop3Server, account: str) -> None:
    sock = raw(pop)
    sock.sendall(f"STLS\r\nUSER {account}\r\nPASS {PASSWORD}\r\nSTAT\r\n".encode())
    assert sock.recv(100) == b"+OK Begin TLS negotiation now\r\n"
    tls = pop.tls_context().wrap_socket(sock, server_hostname=pop.host)
    tls.sendall(b"STAT\r\n")
    assert tls.recv(100) == b"-ERR Log in first\r\n"
    tls.sendall(b"QUIT\r\n")
    assert tls.recv(100) == b"+OK Bye\r\n"
    tls.close()


def test_an_over_long_line_is_refused(pop: Pop3Server, account: str) -> None:
    sock = raw(pop)
    reader = sock.makefile("rb")
    sock.sendall(b"USER " + b"x" * 1_000_000 + b"\r\nUSER " + account.encode() + b"\r\n")
    assert reader.readline() == b"-ERR line longer than 65536 octets\r\n"
    assert reader.readline() == b"+OK Send PASS\r\n"
    sock.close()


def test_pop3_deletes_while_an_imap_device_idles(pop: Pop3Server, account: str) -> None:
    append(pop, account, LUNCH, ODD, LUNCH)
    device = RawImap(pop.host, pop.server.imap_port, timeout=30)
    device.ok(f'LOGIN {account} "{PASSWORD}"')
    device.ok("SELECT INBOX")
    device.file.write(b"i IDLE\r\n")
    device.file.flush()
    assert device.read_line().startswith(b"+ ")

    client = pop.client()
    client.user(account)
    client.pass_(PASSWORD)
    client.dele(1)
    client.dele(3)
    client.quit()
    # The device hears at once (it is blocked reading; nothing else could wake it).
    assert device.read_line() == b"* 3 EXPUNGE\r\n"
    assert device.read_line() == b"* 1 EXPUNGE\r\n"
    # IMAP4rev1: the RECENT count the expunges lowered comes again (as Dovecot sends it).
    assert device.read_line() == b"* 1 RECENT\r\n"
    device.file.write(b"DONE\r\n")
    device.file.flush()
    assert device.read_line().startswith(b"i OK")
    device.close()


def test_a_dropped_connection_deletes_nothing(pop: Pop3Server, account: str) -> None:
    append(pop, account, LUNCH)
    device = RawImap(pop.host, pop.server.imap_port, timeout=30)
    device.ok(f'LOGIN {account} "{PASSWORD}"')
    device.ok("SELECT INBOX")
    device.file.write(b"i IDLE\r\n")
    device.file.flush()
    assert device.read_line().startswith(b"+ ")

    client = pop.client()
    client.user(account)
    client.pass_(PASSWORD)
    client.dele(1)
    client.sock.close()  # gone without QUIT
    append(pop, account, ODD)
    # What the device hears next is the new message, no expunge before it.
    assert device.read_line() == b"* 2 EXISTS\r\n"
    device.file.write(b"DONE\r\n")
    device.file.flush()
    while not device.read_line().startswith(b"i OK"):
        pass
    device.close()
    assert inbox_subjects(pop, account) == [b"Subject: Lunch", b"Subject: Odd"]


def test_rfc_1939_example_session_shape(pop: Pop3Server, account: str) -> None:
    """Pipelined commands (RFC 2449 §6.6) are answered in order over one write."""
    append(pop, account, LUNCH)
    sock = raw(pop)
    reader = sock.makefile("rb")
    sock.sendall(f"USER {account}\r\nPASS {PASSWORD}\r\nSTAT\r\nLIST\r\nQUIT\r\n".encode())
    replies = [reader.readline() for _ in range(7)]
    assert replies[0] == b"+OK Send PASS\r\n"
    assert replies[1].startswith(b"+OK Logged in; maildrop has 1 messages")
    assert replies[2] == b"+OK 1 %d\r\n" % len(LUNCH)
    assert replies[3:6] == [
        b"+OK 1 messages (%d octets)\r\n" % len(LUNCH),
        b"1 %d\r\n" % len(LUNCH),
        b".\r\n",
    ]
    assert replies[6].startswith(b"+OK Bye")
    assert reader.readline() == b""  # the server closed the connection
    sock.close()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pop3Server]:
    """A server that takes passwords only over TLS, even from this machine."""
    data_dir = tmp_path_factory.mktemp("roost-pop3-strict")
    config = data_dir.parent / "strict.toml"
    config.write_text("allow_plaintext_auth_on_loopback = false\n", encoding="utf-8")
    srv = start_pop3(data_dir, config)
    yield srv
    stop_server(srv.server)


def test_no_password_in_the_clear_when_loopback_is_not_trusted(strict: Pop3Server) -> None:
    user = strict.server.add_user()
    client = strict.client()
    caps = client.capa()
    assert "USER" not in caps and "SASL" not in caps and "STLS" in caps
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Log in over TLS"):
        client.user(user)
    client.stls(strict.tls_context())
    assert {"USER", "SASL"} <= set(client.capa())
    client.user(user)
    assert client.pass_(PASSWORD).startswith(b"+OK Logged in")
    client.quit()
