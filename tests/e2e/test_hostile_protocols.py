"""Hostile input beyond IMAP's own grammar (issue 9), one named case each, against `roost
serve` with IMAP, POP3, submission, inbound SMTP and LMTP: MIME bombs delivered and then
fetched and searched; COMPRESS=DEFLATE bombs; commands injected in the clear behind
STARTTLS / STLS; SMTP smuggling over submission and inbound SMTP; AUTH with huge base64 on
SMTP and POP3. Each case must finish within its time bound and grow the server's peak
memory (VmHWM) by less than its bound; after each, an IMAP session opened before the abuse
answers NOOP and a fresh login selects INBOX."""

from __future__ import annotations

import base64
import re
import smtplib
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server
from tests.e2e.rawimap import RawImap

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


@dataclass
class World:
    server: Server
    pop3: int
    submission: int
    smtp: int
    user: str
    other: str
    sentinel: RawImap


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    pop3, submission, smtp = free_port(), free_port(), free_port()
    server = start_server(
        tmp_path_factory.mktemp("hostile-protocols"),
        extra_env={
            "ROOST_POP3_PORT": str(pop3),
            "ROOST_SUBMISSION_PORT": str(submission),
            "ROOST_SMTP_PORT": str(smtp),
        },
        listeners=5,  # IMAP x2, POP3, submission, SMTP
    )
    user, other = server.add_user(), server.add_user()
    # Logged in once each, so the cases' logins are recognised without Argon2's 64 MiB
    # (which would show in the peak memory of whichever case came first).
    logged_in(server, other).close()
    sentinel = logged_in(server, user)
    sentinel.ok("SELECT INBOX")
    yield World(server, pop3, submission, smtp, user, other, sentinel)
    sentinel.close()
    stop_server(server)


def logged_in(server: Server, user: str) -> RawImap:
    client = RawImap(server.host, server.imap_port, timeout=60)
    client.ok(f'LOGIN {user} "{PASSWORD}"')
    return client


def peak_rss(server: Server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(ln for ln in status.splitlines() if ln.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def inbox_count(w: World, user: str) -> int:
    client = logged_in(w.server, user)
    _, lines = client.command("STATUS INBOX (MESSAGES)")
    client.close()
    m = re.search(rb"MESSAGES (\d+)", b" ".join(lines))
    assert m, lines
    return int(m.group(1))


# --- MIME bombs: appended, then BODYSTRUCTURE, a deep BODY[...] section and SEARCH TEXT


def nested_bomb(depth: int) -> bytes:
    head = [b"Subject: nested bomb\r\nMIME-Version: 1.0\r\n"]
    tail = []
    for n in range(depth):
        head.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n))
        tail.append(b"\r\n--b%d--\r\n" % n)
    head.append(b"Content-Type: text/plain\r\n\r\nneedle at the bottom")
    return b"".join(head) + b"".join(reversed(tail))


def wide_bomb(parts: int) -> bytes:
    body = b"".join(b"--w\r\n\r\np%d\r\n" % n for n in range(parts))
    return (
        b'Subject: wide bomb\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="w"'
        b"\r\n\r\n" + body + b"--w--\r\n"
    )


def long_header_bomb(size: int) -> bytes:
    return b"Subject: long header\r\nX-Long: " + b"h" * size + b"\r\n\r\nneedle in the body\r\n"


def appended_then_fetched(w: World, data: bytes, section: str, needle: str) -> None:
    c = logged_in(w.server, w.user)
    c.ok("CREATE bombs")
    try:
        c.ok(b"APPEND bombs {%d+}\r\n%s" % (len(data), data))
        c.ok("SELECT bombs")
        lines = c.ok("FETCH * (BODYSTRUCTURE)")
        assert lines and b"BODYSTRUCTURE (" in lines[0], lines[:1]
        status, lines = c.command(f"FETCH * (BODY.PEEK[{section}])")
        assert status.split()[1] == "OK", status
        status, lines = c.command(f'SEARCH TEXT "{needle}"')
        assert status.split()[1] == "OK" and b"* SEARCH 1" in lines, (status, lines)
    finally:
        c.ok("DELETE bombs")
        c.close()


def delivered_by_smtp(w: World, data: bytes) -> None:
    """The same bomb over inbound SMTP (its lines are short enough), then fetched."""
    with smtplib.SMTP(w.server.host, w.smtp, timeout=60) as client:
        assert client.sendmail("bomb@remote.test", [w.user], data) == {}
    c = logged_in(w.server, w.user)
    c.ok("SELECT INBOX")
    lines = c.ok("FETCH * (BODYSTRUCTURE)")
    assert lines and b"BODYSTRUCTURE (" in lines[0], lines[:1]
    c.ok("STORE * +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    c.close()


def mime_nested_1000_deep(w: World) -> None:
    # Past MAX_DEPTH (50) the rest is one opaque part: not searched as text, by design.
    appended_then_fetched(w, nested_bomb(1000), ".".join(["1"] * 60), "nested bomb")
    delivered_by_smtp(w, nested_bomb(1000))


def mime_100000_parts(w: World) -> None:
    # Past MAX_PARTS (10,000) the rest is one opaque part: p9998 is text, p99998 is not.
    appended_then_fetched(w, wide_bomb(100_000), "99999", "p9998")
    delivered_by_smtp(w, wide_bomb(100_000))


def mime_header_line_of_10_mb(w: World) -> None:
    appended_then_fetched(w, long_header_bomb(10 * MIB), "1", "needle")


# --- COMPRESS=DEFLATE bombs


def compressed(w: World) -> tuple[socket.socket, zlib._Compress, zlib._Decompress]:
    sock = socket.create_connection((w.server.host, w.server.imap_port), timeout=60)
    f = sock.makefile("rb", buffering=0)
    f.readline()
    sock.sendall(f'a LOGIN {w.user} "{PASSWORD}"\r\nb COMPRESS DEFLATE\r\n'.encode())
    assert f.readline().startswith(b"a OK")
    assert f.readline() == b"b OK DEFLATE active\r\n"
    return sock, zlib.compressobj(9, wbits=-15), zlib.decompressobj(wbits=-15)


def inflated_lines(sock: socket.socket, inflate: zlib._Decompress, until: bytes) -> list[bytes]:
    data = b""
    while not re.search(rb"(^|\n)" + re.escape(until) + rb"[^\n]*\r\n", data):
        chunk = sock.recv(65536)
        assert chunk, f"closed; got {data[-300:]!r}"
        data += inflate.decompress(chunk)
    return data.split(b"\r\n")


def deflate_bomb_one_line_of_1_gib(w: World) -> None:
    """One line of 1 GiB of 'x' (1 MiB compressed): refused as too long, memory bounded."""
    sock, out, inflate = compressed(w)
    with sock:
        block = out.compress(b"c NOOP " + b"x" * MIB)
        zeros = out.compress(b"x" * MIB)
        sock.sendall(block + zeros)
        for _ in range(1022):
            sock.sendall(out.compress(b"x" * MIB))
        sock.sendall(out.compress(b"\r\nd NOOP\r\n") + out.flush(zlib.Z_SYNC_FLUSH))
        lines = inflated_lines(sock, inflate, b"d ")
        assert any(ln.startswith(b"c BAD line longer than") for ln in lines), lines[:5]
        assert any(ln == b"d OK NOOP completed" for ln in lines), lines[:5]


def deflate_bomb_literal_of_1_gib(w: World) -> None:
    """An APPEND literal announced at 1 GiB, sent compressed: refused before it is read."""
    sock, out, inflate = compressed(w)
    with sock:
        head = b"c APPEND INBOX {1073741824}\r\n"
        sock.sendall(out.compress(head) + out.flush(zlib.Z_SYNC_FLUSH))
        lines = inflated_lines(sock, inflate, b"c ")
        assert any(ln.startswith(b"c BAD [TOOBIG]") or ln.startswith(b"c NO") for ln in lines)
        sock.sendall(out.compress(b"d NOOP\r\n") + out.flush(zlib.Z_SYNC_FLUSH))
        assert b"d OK NOOP completed" in inflated_lines(sock, inflate, b"d ")


# --- STARTTLS / STLS: what was sent in the clear behind the upgrade is dropped


def untrusting() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def read_until_closed(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def smtp_reply(sock: socket.socket) -> bytes:
    data = b""
    while not re.search(rb"(^|\n)\d{3} [^\n]*\r\n$", data):
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


def smtp_starttls_injection(w: World, port: int) -> None:
    with socket.create_connection((w.server.host, port), timeout=10) as sock:
        smtp_reply(sock)
        sock.sendall(b"EHLO client.test\r\n")
        assert b"STARTTLS" in smtp_reply(sock)
        sock.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\nNOOP\r\n")
        assert smtp_reply(sock).startswith(b"220")
        with untrusting().wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(b"QUIT\r\n")
            after = read_until_closed(tls)
    # Only QUIT's reply: the injected MAIL and NOOP were never read as commands.
    assert after.startswith(b"221") and after.count(b"\r\n") == 1, after


def starttls_injection_on_inbound_smtp(w: World) -> None:
    smtp_starttls_injection(w, w.smtp)


def starttls_injection_on_submission(w: World) -> None:
    smtp_starttls_injection(w, w.submission)


def stls_injection_on_pop3(w: World) -> None:
    with socket.create_connection((w.server.host, w.pop3), timeout=10) as sock:
        f = sock.makefile("rb", buffering=0)
        assert f.readline().startswith(b"+OK")
        sock.sendall(b"STLS\r\nCAPA\r\nUSER injected@example.org\r\n")
        assert f.readline().startswith(b"+OK")
        with untrusting().wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(b"QUIT\r\n")
            after = read_until_closed(tls)
    assert after.startswith(b"+OK") and after.count(b"\r\n") == 1, after


# --- SMTP smuggling: a fake end of data never starts a second message

FAKE_ENDS = [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r", b"\r.\r", b"\n.\r"]


def smuggle(w: World, port: int, sender: str, login: bool) -> None:
    before = (inbox_count(w, w.user), inbox_count(w, w.other))
    for fake_end in FAKE_ENDS:
        smuggled = (
            f"MAIL FROM:<{sender}>\r\nRCPT TO:<{w.other}>\r\nDATA\r\n"
            f"From: {sender}\r\nSubject: smuggled\r\n\r\npay now\r\n.\r\n"
        ).encode()
        body = f"From: {sender}\r\nSubject: hi\r\n\r\nhello".encode() + fake_end + smuggled
        with socket.create_connection((w.server.host, port), timeout=10) as sock:
            smtp_reply(sock)
            sock.sendall(b"EHLO client.test\r\n")
            smtp_reply(sock)
            if login:
                auth = base64.b64encode(f"\0{w.user}\0{PASSWORD}".encode())
                sock.sendall(b"AUTH PLAIN " + auth + b"\r\n")
                assert smtp_reply(sock).startswith(b"235")
            for line in (f"MAIL FROM:<{sender}>", f"RCPT TO:<{w.user}>", "DATA"):
                sock.sendall(line.encode() + b"\r\n")
                smtp_reply(sock)
            sock.sendall(body)
            reply = smtp_reply(sock)
            assert reply.startswith(b"550 5.6.0"), (fake_end, reply)
            sock.sendall(b"QUIT\r\n")
            assert read_until_closed(sock).startswith(b"221"), fake_end
    assert (inbox_count(w, w.user), inbox_count(w, w.other)) == before


def smuggling_on_inbound_smtp(w: World) -> None:
    smuggle(w, w.smtp, "evil@remote.test", login=False)


def smuggling_on_submission(w: World) -> None:
    smuggle(w, w.submission, w.user, login=True)


# --- AUTH with huge base64


def huge_base64(size: int) -> bytes:
    return base64.b64encode(b"\0" + b"u" * size)


def smtp_auth_with_huge_base64(w: World) -> None:
    for first in (b"AUTH PLAIN " + huge_base64(100_000) + b"\r\n", b"AUTH PLAIN\r\n"):
        with socket.create_connection((w.server.host, w.submission), timeout=10) as sock:
            smtp_reply(sock)
            sock.sendall(b"EHLO client.test\r\n")
            smtp_reply(sock)
            sock.sendall(first)
            reply = smtp_reply(sock)
            if reply.startswith(b"334"):
                sock.sendall(huge_base64(100_000) + b"\r\n")
                reply = smtp_reply(sock)
            assert reply[:1] == b"5", reply
            sock.sendall(b"NOOP\r\n")
            assert smtp_reply(sock).startswith(b"250")


def pop3_auth_with_huge_base64(w: World) -> None:
    for first in (b"AUTH PLAIN " + huge_base64(100_000) + b"\r\n", b"AUTH PLAIN\r\n"):
        with socket.create_connection((w.server.host, w.pop3), timeout=10) as sock:
            f = sock.makefile("rb", buffering=0)
            assert f.readline().startswith(b"+OK")
            sock.sendall(first)
            reply = f.readline()
            if reply.startswith(b"+ "):
                sock.sendall(huge_base64(100_000) + b"\r\n")
                reply = f.readline()
            assert reply.startswith(b"-ERR"), reply
            sock.sendall(b"CAPA\r\n")
            assert f.readline().startswith(b"+OK")


@dataclass
class Case:
    run: Callable[[World], None]
    seconds: float
    mib: int


CASES = [
    Case(mime_nested_1000_deep, 10, 64),
    Case(mime_100000_parts, 30, 256),
    Case(mime_header_line_of_10_mb, 20, 256),
    Case(deflate_bomb_one_line_of_1_gib, 60, 64),
    Case(deflate_bomb_literal_of_1_gib, 5, 16),
    Case(starttls_injection_on_inbound_smtp, 5, 16),
    Case(starttls_injection_on_submission, 5, 16),
    Case(stls_injection_on_pop3, 5, 16),
    Case(smuggling_on_inbound_smtp, 20, 16),
    Case(smuggling_on_submission, 20, 16),
    Case(smtp_auth_with_huge_base64, 5, 16),
    Case(pop3_auth_with_huge_base64, 5, 16),
]


@pytest.mark.parametrize("case", CASES, ids=[case.run.__name__ for case in CASES])
def test_hostile_protocol_input_harms_no_one(world: World, case: Case) -> None:
    before = peak_rss(world.server)
    started = time.monotonic()
    case.run(world)
    took = time.monotonic() - started
    grown = (peak_rss(world.server) - before) / MIB
    print(f"{case.run.__name__}: {took:.2f} s, peak grew by {grown:.0f} MiB")
    assert took < case.seconds, f"{case.run.__name__} took {took:.1f} s"
    assert grown < case.mib, f"{case.run.__name__}: peak memory grew by {grown:.0f} MiB"
    assert world.server.process.poll() is None
    world.sentinel.sock.settimeout(10)
    assert world.sentinel.command("NOOP")[0].split()[1] == "OK"
    fresh = logged_in(world.server, world.user)
    assert fresh.command("SELECT INBOX")[0].split()[1] == "OK"
    fresh.close()
