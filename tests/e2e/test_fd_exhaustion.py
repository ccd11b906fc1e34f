"""Issue 9: a server out of file descriptors degrades instead of flooding its log (it wrote
8,000 tracebacks a second). `roost serve` runs with RLIMIT_NOFILE lowered (prlimit) to a
few more than it holds, and 100 connections arrive: it says so once, without a traceback,
serves the session it had, and takes new connections once descriptors are free again."""

from __future__ import annotations

import imaplib
import os
import resource
import socket
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server

pytestmark = pytest.mark.e2e


def open_fds(server: Server) -> int:
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def read_log(server: Server) -> str:
    """What the server logged since start-up (the pipe holds 64 KiB: a flood would block
    the server, and the sentinel's NOOP with it)."""
    assert server.process.stderr is not None
    os.set_blocking(server.process.stderr.fileno(), False)
    return (server.process.stderr.read() or b"").decode(errors="replace")


def test_running_out_of_descriptors_is_one_line_and_passes(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")  # loopback: not limited per address
    flood: list[socket.socket] = []
    try:
        user = server.add_user()
        sentinel = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
        sentinel.login(user, PASSWORD)
        sentinel.select("INBOX")
        limit = open_fds(server) + 20
        resource.prlimit(server.process.pid, resource.RLIMIT_NOFILE, (limit, limit))
        for _ in range(100):
            try:
                flood.append(socket.create_connection((server.host, server.imap_port), 2))
            except OSError:
                break  # the kernel's backlog is full too
        time.sleep(3)
        assert sentinel.noop()[0] == "OK"
        log = read_log(server)
        assert "Traceback" not in log
        assert log.count("cannot accept connections: Too many open files") == 1, log[-2000:]

        for sock in flood:
            sock.close()
        flood.clear()
        deadline = time.monotonic() + 10
        while True:  # the server resumes accepting within a second of having descriptors
            try:
                fresh = imaplib.IMAP4(server.host, server.imap_port, timeout=5)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
                continue
            try:
                fresh.login(user, PASSWORD)
                break
            except (OSError, imaplib.IMAP4.error):
                fresh.shutdown()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert fresh.select("INBOX")[0] == "OK"
        fresh.logout()
        sentinel.logout()
    finally:
        for sock in flood:
            sock.close()
        stop_server(server)
