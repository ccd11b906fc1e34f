"""An APPEND answered OK survives `kill -9` of the server at any moment."""

from __future__ import annotations

import imaplib
import random
import re
import signal
import threading
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server

pytestmark = pytest.mark.e2e


def message(n: int) -> bytes:
    return (
        f"Subject: durable {n}\r\nMessage-ID: <{n}@test>\r\n\r\n".encode()
        + b"x" * (n % 997)
        + b"\r\n"
    )


def append_until_killed(
    server: Server,
    user: str,
    acked: dict[int, bytes],
    stop: threading.Event,
    appending: threading.Event,
) -> None:
    try:
        client = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
    except OSError:
        return
    try:
        client.login(user, PASSWORD)
        n = 0
        while not stop.is_set():
            n += 1
            data = message(n)
            typ, resp = client.append("INBOX", "", None, data)
            match = re.search(rb"APPENDUID \d+ (\d+)", resp[0] or b"")
            if typ == "OK" and match:
                acked[int(match.group(1))] = data
                appending.set()
    except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error, EOFError):
        pass  # the server died under us: what was acknowledged before counts
    finally:
        client.shutdown()


def test_acknowledged_appends_survive_kill_9(tmp_path: Path) -> None:
    rng = random.Random(9)
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    user = server.add_user()
    acked: dict[int, bytes] = {}
    for _round in range(3):
        stop, appending = threading.Event(), threading.Event()
        args = (server, user, acked, stop, appending)
        writer = threading.Thread(target=append_until_killed, args=args)
        writer.start()
        # The kill falls at a random moment of the appends, not of the (Argon2) login,
        # which on a loaded machine can take most of the window.
        appending.wait(60)
        threading.Event().wait(rng.uniform(0.3, 1.2))
        server.process.send_signal(signal.SIGKILL)  # no goodbye, no flush
        server.process.wait()
        stop.set()
        writer.join(15)
        stop_server(server)
        server = start_server(data_dir)
    try:
        assert len(acked) >= 3  # one a round at least: each round waited for an acknowledgement
        client = imaplib.IMAP4(server.host, server.imap_port)
        client.login(user, PASSWORD)
        client.select("INBOX", readonly=True)
        for uid, data in acked.items():
            typ, resp = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            assert typ == "OK" and resp[0] is not None, f"acknowledged UID {uid} is gone"
            assert resp[0][1] == data
        client.logout()
    finally:
        stop_server(server)
