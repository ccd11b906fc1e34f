"""End-to-end fixtures: the real `roost serve` on free loopback ports, real clients."""

from __future__ import annotations

import itertools
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


_given: set[int] = set()


def free_port() -> int:
    """A free loopback port, never one this process was given before: the kernel may hand
    out a port it just freed again, and two listeners of one server must not share one."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _given:
            _given.add(port)
            return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    data_dir: Path
    env: dict[str, str]
    imap_port: int
    imaps_port: int
    host: str = "127.0.0.1"

    def roost(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "roost", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )

    def add_user(self, address: str | None = None, password: str = PASSWORD) -> str:
        address = address or f"user{next(_counter)}@example.org"
        result = self.roost("user", "add", address, stdin=password + "\n")
        assert result.returncode == 0, result.stderr
        return address


def start_server(
    data_dir: Path,
    *,
    config: Path | None = None,
    ports: tuple[int, int] | None = None,
    extra_env: dict[str, str] | None = None,
    listeners: int = 2,
) -> Server:
    """`roost serve` on free ports; extra_env (e.g. ROOST_SMTP_PORT) is applied last, and
    `listeners` is how many "listening on" lines to wait for."""
    env = dict(os.environ)
    imap, imaps = ports or (free_port(), free_port())
    env.update(
        ROOST_DATA_DIR=str(data_dir),
        ROOST_IMAP_PORT=str(imap),
        ROOST_IMAPS_PORT=str(imaps),
        ROOST_HOSTNAME="localhost",
        **{
            f"ROOST_{name}_PORT": "0"
            for name in (
                "POP3",
                "POP3S",
                "SUBMISSION",
                "SUBMISSIONS",
                "SMTP",
                "LMTP",
                "HTTP",
                "HTTPS",
            )
        },
    )
    env.update(extra_env or {})
    options = ["--config", str(config)] if config is not None else []
    process = subprocess.Popen(
        [sys.executable, "-m", "roost", *options, "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server = Server(process, data_dir, env, imap, imaps)
    try:
        wait_for_listeners(server, listeners)
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_for_listeners(server: Server, count: int, timeout: float = 30.0) -> None:
    """`roost serve` logs one line per listener once it accepts connections.

    Reads the raw pipe (os.read): a buffered readline could swallow the second line into
    its buffer, where select() no longer sees it.
    """
    assert server.process.stderr is not None
    fd = server.process.stderr.fileno()
    deadline = time.monotonic() + timeout
    log = b""
    while log.count(b"listening on") < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"roost serve did not start:\n{log.decode(errors='replace')}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"roost serve exited:\n{log.decode(errors='replace')}")
            log += chunk


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    for stream in (server.process.stdout, server.process.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("roost-data"))
    yield srv
    stop_server(srv)


@pytest.fixture
def user(server: Server) -> str:
    return server.add_user()
