"""`roost serve` with `workers = 2` (issue 17): two processes share the ports and the store,
a change made through one reaches a client idling on the other at once, a worker killed
is started again while the other keeps serving, SIGTERM stops them all, and a port that
is taken stops the server with one line instead of a restart loop."""

from __future__ import annotations

import contextlib
import imaplib
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server
from tests.smtp.harness import RemoteMx

pytestmark = pytest.mark.e2e

WORKERS = {"ROOST_WORKERS": "2", "ROOST_LOG_LEVEL": "INFO"}


@pytest.fixture
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Two listeners (IMAP, IMAPS) per worker.
    server = start_server(tmp_path_factory.mktemp("workers"), extra_env=WORKERS, listeners=4)
    yield server
    stop_server(server)


def session_pids(server: Server) -> dict[str, int]:
    """Client name (IMAP ID) -> the pid of the worker serving it, from what `roost status`
    reads: the control sockets of both workers."""
    from roost.http.control import ControlClient

    found = ControlClient(server.data_dir).status()
    return {str(s["client"]): int(s["pid"]) for s in found["sessions"] if s["client"]}


def named_client(server: Server, user: str, name: str) -> IMAPClient:
    client = IMAPClient(server.host, port=server.imap_port, ssl=False, timeout=10)
    try:
        client.login(user, PASSWORD)
        client.id_({"name": name})
    except BaseException:
        client.shutdown()
        raise
    return client


def clients_on_two_workers(server: Server, user: str) -> list[tuple[IMAPClient, int]]:
    """Logs in until two clients are served by different workers (the kernel picks);
    returns them with their workers' pids."""
    opened: dict[str, IMAPClient] = {}
    for n in range(40):
        opened[f"c{n}"] = named_client(server, user, f"c{n}")
        by_pid: dict[int, str] = {}
        for name, pid in session_pids(server).items():
            by_pid.setdefault(pid, name)
        if len(by_pid) == 2:
            chosen = [(opened[name], pid) for pid, name in by_pid.items()]
            for name, client in opened.items():
                if name not in by_pid.values():
                    client.logout()
            return chosen
    raise AssertionError("40 connections, all served by one worker")


def test_a_change_through_one_worker_reaches_a_client_idling_on_the_other(
    workers: Server,
) -> None:
    user = workers.add_user()
    (idler, _), (writer, _) = clients_on_two_workers(workers, user)
    try:
        idler.select_folder("INBOX")
        idler.idle()
        start = time.monotonic()
        writer.append("INBOX", b"From: a@example.org\r\nSubject: across\r\n\r\nhi\r\n")
        seen: list[tuple[object, ...]] = []
        while (1, b"EXISTS") not in seen and time.monotonic() - start < 5:
            seen += idler.idle_check(timeout=1)
        assert (1, b"EXISTS") in seen
        assert time.monotonic() - start < 1.0  # a wake-up, not the one-second poll
        idler.idle_done()
        writer.select_folder("INBOX")
        writer.add_flags([1], [b"\\Flagged"])  # and a flag change the other way
        idler.idle()
        seen = []
        start = time.monotonic()
        while not any(b"FETCH" in r for r in seen) and time.monotonic() - start < 5:
            seen += idler.idle_check(timeout=1)
        assert any(b"FETCH" in r and b"\\Flagged" in str(r).encode() for r in seen), seen
        idler.idle_done()
    finally:
        idler.logout()
        writer.logout()


def test_a_killed_worker_is_started_again_and_the_other_keeps_serving(
    workers: Server,
) -> None:
    user = workers.add_user()
    (survivor, _), (doomed, victim) = clients_on_two_workers(workers, user)
    os.kill(victim, signal.SIGKILL)
    survivor.select_folder("INBOX")  # the other worker did not notice
    survivor.noop()
    with pytest.raises((OSError, imaplib.IMAP4.abort, EOFError)):
        doomed.noop()
    doomed.shutdown()
    deadline = time.monotonic() + 20
    while True:  # its successor listens again: new logins reach two workers, not the dead one
        fresh = []
        for n in range(12):
            # A connection the dead worker's socket had queued is reset: clients retry.
            with contextlib.suppress(OSError, imaplib.IMAP4.abort):
                fresh.append(named_client(workers, user, f"fresh{n}"))
        pids = {pid for name, pid in session_pids(workers).items() if name.startswith("fresh")}
        for client in fresh:
            client.logout()
        if len(pids) == 2 and victim not in pids:
            break
        assert time.monotonic() < deadline, f"no second worker serves after the kill: {pids}"
        time.sleep(0.5)
    survivor.logout()


def test_roost_status_and_kick_see_every_worker(workers: Server) -> None:
    user = workers.add_user()
    (first, _), (second, _) = clients_on_two_workers(workers, user)
    status = workers.roost("status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.count(user) == 2
    kicked = workers.roost("kick", user)
    assert kicked.returncode == 0, kicked.stderr
    assert f"ended 2 sessions of {user}" in kicked.stdout
    for client in (first, second):
        with pytest.raises((OSError, imaplib.IMAP4.abort, EOFError)):
            client.noop()
        client.shutdown()


def test_sigterm_stops_every_worker_with_bye(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_server(tmp_path_factory.mktemp("workers"), extra_env=WORKERS, listeners=4)
    try:
        user = server.add_user()
        (first, _), (second, _) = clients_on_two_workers(server, user)
        pids = set(session_pids(server).values())
        start = time.monotonic()
        server.process.terminate()
        assert server.process.wait(timeout=15) == 0
        assert time.monotonic() - start < 10
        for client in (first, second):  # each worker said goodbye to its own sessions
            client._imap.sock.settimeout(5)
            assert b"BYE" in client._imap.sock.recv(4096)
            client.shutdown()
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        stop_server(server)


def test_a_taken_port_stops_the_server_with_one_line(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data_dir = tmp_path_factory.mktemp("workers")
        env = dict(os.environ)
        env.update(
            ROOST_DATA_DIR=str(data_dir),
            ROOST_IMAP_PORT=str(port),
            ROOST_IMAPS_PORT=str(free_port()),
            ROOST_HOSTNAME="localhost",
            ROOST_WORKERS="2",
            **{
                f"ROOST_{name}_PORT": "0"
                for name in ("POP3", "POP3S", "SUBMISSION", "SUBMISSIONS", "SMTP", "LMTP")
            },
            ROOST_HTTP_PORT="0",
            ROOST_HTTPS_PORT="0",
        )
        done = subprocess.run(
            [sys.executable, "-m", "roost", "serve"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert f"port {port}" in done.stderr and "ports.imap" in done.stderr
    assert "starting it again" not in done.stderr


def test_mail_submitted_to_any_worker_leaves_through_the_one_queue(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Only worker 0 runs the outbound queue; a worker that queues mail wakes it, so mail
    leaves at once (the runner's own look comes only every minute), and leaves once."""
    remote = RemoteMx()
    data_dir = tmp_path_factory.mktemp("workers") / "data"
    config = data_dir.parent / "roost.toml"
    config.write_text(
        f'smarthost = "127.0.0.1"\nsmarthost_port = {remote.port}\nsmarthost_starttls = false\n',
        encoding="utf-8",
    )
    submission = free_port()
    server = start_server(
        data_dir,
        config=config,
        extra_env={**WORKERS, "ROOST_SUBMISSION_PORT": str(submission)},
        listeners=6,  # IMAP, IMAPS and submission, on each worker
    )
    try:
        alice = server.add_user()
        for n in range(8):  # new connections: the kernel spreads them over both workers
            start = time.monotonic()
            with smtplib.SMTP("127.0.0.1", submission, local_hostname="client.test") as client:
                client.login(alice, PASSWORD)
                client.sendmail(
                    alice, [f"r{n}@remote.test"], f"From: {alice}\r\n\r\n{n}\r\n".encode()
                )
            while len(remote.received) <= n:  # each leaves before the next is sent
                assert time.monotonic() - start < 10, f"message {n} did not leave"
                time.sleep(0.05)
        time.sleep(1)
        assert sorted(r for e in remote.received for r in e.rcpt_tos) == sorted(
            f"r{n}@remote.test" for n in range(8)
        )
    finally:
        stop_server(server)
        remote.stop()


def test_workers_do_not_outlive_a_killed_supervisor(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = start_server(tmp_path_factory.mktemp("workers"), extra_env=WORKERS, listeners=4)
    try:
        user = server.add_user()
        pids = {pid for _, pid in clients_with_pids(server, user)}
        os.kill(server.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        for pid in pids:
            while _alive(pid):
                assert time.monotonic() < deadline, f"worker {pid} still serves"
                time.sleep(0.1)
    finally:
        stop_server(server)


def clients_with_pids(server: Server, user: str) -> list[tuple[IMAPClient, int]]:
    chosen = clients_on_two_workers(server, user)
    for client, _ in chosen:
        client.logout()
    return chosen


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) serves nobody.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def guarded_workers(tmp_path: Path) -> Iterator[Server]:
    # Blocked at the 4th failure from one address; no delays before (the test stays fast).
    config = tmp_path / "roost.toml"
    config.write_text(
        "limit_loopback = true\n"
        "auth_delay_after = 1000\n"
        "auth_block_after = 4\n"
        "auth_account_delay_after = 1000\n"
        "max_connections_per_account = 2\n"
    )
    server = start_server(tmp_path / "data", config=config, extra_env=WORKERS, listeners=4)
    yield server
    stop_server(server)


def refused_logins(server: Server, user: str, *, tries: int) -> list[str]:
    """The refusals of `tries` logins with the right password, each on a new connection
    (so on either worker); every one must be refused."""
    refusals = []
    for _ in range(tries):
        client = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
        with pytest.raises(imaplib.IMAP4.error) as refused:
            client.login(user, PASSWORD)
        refusals.append(str(refused.value))
        client.shutdown()
    return refusals


def test_a_guesser_spread_over_the_workers_is_blocked_as_by_one_process(
    guarded_workers: Server,
) -> None:
    # The kernel spreads the connections over both workers; each worker's throttle hears
    # the other's failures (roost.serve.bus), so the 4th blocks the address on both: no
    # connection, whichever worker takes it, gets in, the right password included.
    user = guarded_workers.add_user()
    for n in range(4):
        client = imaplib.IMAP4(guarded_workers.host, guarded_workers.imap_port, timeout=10)
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.login(user, f"wrong-{n}")
        client.shutdown()
    time.sleep(0.2)  # the last failure's message reaches the other worker
    refusals = refused_logins(guarded_workers, user, tries=8)
    assert all("UNAVAILABLE" in refusal for refusal in refusals), refusals
    guarded_workers.process.terminate()
    guarded_workers.process.wait(timeout=15)
    assert guarded_workers.process.stderr is not None
    os.set_blocking(guarded_workers.process.stderr.fileno(), False)
    log = (guarded_workers.process.stderr.read() or b"").decode(errors="replace")
    assert log.count("login blocked source=127.0.0.1") == 1, log


def test_an_accounts_connections_are_counted_over_both_workers(
    guarded_workers: Server,
) -> None:
    # Two sessions of the account, wherever the kernel put them, fill its two places on
    # every worker; when one ends, the place is free on every worker again.
    user = guarded_workers.add_user()
    held = []
    for _ in range(2):
        client = imaplib.IMAP4(guarded_workers.host, guarded_workers.imap_port, timeout=10)
        client.login(user, PASSWORD)
        held.append(client)
    time.sleep(0.2)  # each worker's count reaches the other
    refusals = refused_logins(guarded_workers, user, tries=8)
    assert all("[LIMIT]" in refusal for refusal in refusals), refusals
    held.pop().logout()
    time.sleep(0.2)
    for _ in range(4):
        client = imaplib.IMAP4(guarded_workers.host, guarded_workers.imap_port, timeout=10)
        client.login(user, PASSWORD)
        client.logout()
        time.sleep(0.1)
    held.pop().logout()
