"""SIGTERM and SIGINT stop `roost serve` within a few seconds whatever the clients do
(issue 9): sessions hear their protocol's goodbye; connections stalled or reset in the
middle of a TLS handshake (STARTTLS or implicit TLS) are simply closed, and a handshake
that failed is one WARNING line, never a traceback."""

from __future__ import annotations

import imaplib
import signal
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server

PORTS = ("POP3", "POP3S", "SUBMISSION", "SUBMISSIONS", "SMTP")
# Seconds within which the server must have exited after the signal.
STOP_WITHIN = 5.0
# The first bytes of a TLS ClientHello (a handshake record announcing 512 octets), so the
# server's TLS layer is waiting for the rest.
PARTIAL_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 20


def start(tmp_path: Path) -> tuple[Server, dict[str, int]]:
    ports = {name: free_port() for name in PORTS}
    server = start_server(
        tmp_path / "data",
        extra_env={f"ROOST_{name}_PORT": str(port) for name, port in ports.items()},
        listeners=7,
    )
    return server, ports


def connect(server: Server, port: int) -> socket.socket:
    sock = socket.create_connection((server.host, port), timeout=10)
    sock.settimeout(10)
    return sock


def read_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_reply(sock: socket.socket) -> bytes:
    """One SMTP reply, all its lines."""
    data = b""
    while True:
        data += read_line(sock)
        last = data.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        if not data.endswith(b"\r\n") or last[3:4] != b"-":
            return data


def starttls_imap(server: Server, ports: dict[str, int]) -> socket.socket:
    sock = connect(server, server.imap_port)
    assert read_line(sock).startswith(b"* OK")
    sock.sendall(b"a STARTTLS\r\n")
    assert read_line(sock).startswith(b"a OK")
    return sock


def stls_pop3(server: Server, ports: dict[str, int]) -> socket.socket:
    sock = connect(server, ports["POP3"])
    assert read_line(sock).startswith(b"+OK")
    sock.sendall(b"STLS\r\n")
    assert read_line(sock).startswith(b"+OK")
    return sock


def starttls_smtp(port_name: str) -> Callable[[Server, dict[str, int]], socket.socket]:
    def begin(server: Server, ports: dict[str, int]) -> socket.socket:
        sock = connect(server, ports[port_name])
        assert read_reply(sock).startswith(b"220")
        sock.sendall(b"EHLO client.example\r\n")
        assert read_reply(sock).startswith(b"250")
        sock.sendall(b"STARTTLS\r\n")
        assert read_reply(sock).startswith(b"220")
        return sock

    return begin


def implicit(port_name: str) -> Callable[[Server, dict[str, int]], socket.socket]:
    def begin(server: Server, ports: dict[str, int]) -> socket.socket:
        port = server.imaps_port if port_name == "IMAPS" else ports[port_name]
        return connect(server, port)

    return begin


HANDSHAKES = {
    "imap starttls": starttls_imap,
    "pop3 stls": stls_pop3,
    "submission starttls": starttls_smtp("SUBMISSION"),
    "smtp starttls": starttls_smtp("SMTP"),
    "imaps": implicit("IMAPS"),
    "pop3s": implicit("POP3S"),
    "submissions": implicit("SUBMISSIONS"),
}


def reset(sock: socket.socket) -> None:
    """Closes with a TCP RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def wait_exit(server: Server, signum: int) -> float:
    started = time.monotonic()
    server.process.send_signal(signum)
    try:
        server.process.wait(timeout=30)
    except Exception:
        server.process.kill()
        raise
    return time.monotonic() - started


def server_log(server: Server) -> str:
    assert server.process.stderr is not None
    text = server.process.stderr.read().decode("utf-8", "replace")
    return text


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_promptly_with_handshakes_stalled_and_sessions_open(
    tmp_path: Path, signum: int
) -> None:
    server, ports = start(tmp_path)
    held: list[socket.socket] = []
    try:
        user = server.add_user()
        # Sessions that get their goodbye: one in IDLE, one between commands.
        idling = imaplib.IMAP4(server.host, server.imap_port)
        idling.login(user, PASSWORD)
        idling.select("INBOX")
        idling.send(b"i IDLE\r\n")
        assert idling.readline().startswith(b"+")
        pop = connect(server, ports["POP3"])
        assert read_line(pop).startswith(b"+OK")
        smtp = connect(server, ports["SMTP"])
        assert read_reply(smtp).startswith(b"220")
        # Handshakes that never finish: silent, and a ClientHello cut short.
        for begin in HANDSHAKES.values():
            held.append(begin(server, ports))
            partial = begin(server, ports)
            partial.sendall(PARTIAL_HELLO)
            held.append(partial)
        time.sleep(0.5)  # the server has taken every connection
        took = wait_exit(server, signum)
        assert server.process.returncode == 0
        assert took < STOP_WITHIN, f"roost serve took {took:.1f} s to stop"
        assert idling.sock.recv(4096).startswith(b"* BYE Server shutting down")
        assert read_line(pop) == b"-ERR [SYS/TEMP] Server shutting down\r\n"
        assert read_line(smtp) == b"421 4.3.2 localhost Server shutting down\r\n"
        got = [sock.recv(4096) for sock in held]
        assert got == [b""] * len(held), got
        log = server_log(server)
        assert "Traceback" not in log, log
        for sock in (pop, smtp, idling.sock):
            sock.close()
    finally:
        for sock in held:
            sock.close()
        stop_server(server)


@pytest.mark.parametrize("name", list(HANDSHAKES))
def test_a_handshake_reset_midway_is_one_warning_line(tmp_path: Path, name: str) -> None:
    server, ports = start(tmp_path)
    try:
        sock = HANDSHAKES[name](server, ports)
        sock.sendall(PARTIAL_HELLO)
        time.sleep(0.2)
        reset(sock)
        garbage = HANDSHAKES[name](server, ports)
        garbage.sendall(b"\x16\x03\x01\x00\x05hello" + b"GET / HTTP/1.0\r\n\r\n")
        assert garbage.recv(4096) == b""  # refused at once, not after a timeout
        garbage.close()
        time.sleep(0.5)
        # A server with a broken handshake behind it still serves.
        user = server.add_user()
        client = imaplib.IMAP4(server.host, server.imap_port)
        client.login(user, PASSWORD)
        client.logout()
        took = wait_exit(server, signal.SIGTERM)
        assert took < STOP_WITHIN
        log = server_log(server)
        assert "Traceback" not in log, log
        failed = [line for line in log.splitlines() if "tls failed" in line]
        assert len(failed) == 2, log
        assert all(" WARNING " in line for line in failed), failed
    finally:
        stop_server(server)
