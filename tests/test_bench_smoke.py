"""The load generator runs against Roost for a few seconds, so `make test` keeps it working.

The benchmarks themselves (`make bench`) are not part of the tests; this only checks that
bench/ still speaks to the server and still starts the servers it compares: a short device
mix with three devices and a few push trials, no errors, against Roost on SQLite (started
as the end-to-end tests start it) and against the bench's own Roost on PostgreSQL
(bench/servers.py's PostgresRoost: its own PostgreSQL cluster, two nodes), through one node
and through both (devices spread over the nodes, push from one node to the other).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.corpus import Corpus
from bench.imapclient import ImapClient
from bench.scenarios import devices, push
from bench.scenarios.base import SCALES, Context
from bench.servers import PASSWORD as BENCH_PASSWORD
from bench.servers import PostgresRoost

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server
from tests.pgserver import find_bindir

pytestmark = pytest.mark.e2e

DURATION = 3.0
PG_DURATION = 2.0
DEVICES = 3
PUSH_TRIALS = 5
PUSH_CHANGES = 3


@pytest.fixture
def roost(tmp_path: Path) -> Iterator[Server]:
    server = start_server(tmp_path / "roost-data")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def roost_pg() -> Iterator[PostgresRoost]:
    """Two nodes; the one-node test drives only the first (one cluster start, not two)."""
    if find_bindir() is None:
        pytest.fail("PostgreSQL is not installed (make system-deps installs it)")
    # Not pytest's tmp_path: PostgreSQL runs as the `postgres` user when we are root, and
    # must reach its directory (pytest's are private to us).
    base = Path(tempfile.mkdtemp(prefix="roost-bench-smoke-"))
    base.chmod(0o755)
    server = PostgresRoost(base / "roost-pg", nodes=2)
    try:
        server.start()
        server.add_users(["one@bench.test", "two@bench.test"])
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


async def seed_inbox(host: str, port: int, address: str, password: str, count: int) -> None:
    corpus = Corpus(seed=1, count=count)
    client = await ImapClient.login(host, port, address, password)
    for i in range(count):
        await client.command(f"APPEND INBOX {corpus.internaldate(i)} {{}}", [corpus.message(i)])
    await client.logout()


def context(
    host: str, ports: tuple[int, ...], address: str, password: str, duration: float
) -> Context:
    return Context(
        host=host,
        port=ports[0],
        password=password,
        scale=SCALES["small"],
        users={"default": address},
        mailboxes={"INBOX": "INBOX"},
        duration=duration,
        ports=ports if len(ports) > 1 else (),
    )


def check(ctx: Context) -> None:
    stats, _ = asyncio.run(devices.mix(ctx, DEVICES, rep=0))
    assert stats.errors == []
    for command in devices.COMMANDS:
        assert stats.latency[command], f"no {command} completed"
    assert stats.commands > 20

    times = asyncio.run(push.latency(ctx, rep=0, trials=PUSH_TRIALS, changes=PUSH_CHANGES))
    assert [len(times[kind]) for kind in ("APPEND", "STORE", "EXPUNGE")] == [
        PUSH_TRIALS,
        PUSH_CHANGES,
        PUSH_CHANGES,
    ]
    assert all(figure.value is not None for figure in push.figures(times))


def test_device_mix_and_push_run_against_roost(roost: Server) -> None:
    address = roost.add_user()
    asyncio.run(seed_inbox(roost.host, roost.imap_port, address, PASSWORD, 20))

    check(context(roost.host, (roost.imap_port,), address, PASSWORD, DURATION))


@pytest.mark.parametrize("nodes", [1, 2], ids=["one-node", "two-nodes"])
def test_device_mix_and_push_run_against_roost_on_postgresql(
    roost_pg: PostgresRoost, nodes: int
) -> None:
    address = ["one@bench.test", "two@bench.test"][nodes - 1]
    assert roost_pg.running()
    asyncio.run(seed_inbox(roost_pg.host, roost_pg.port, address, BENCH_PASSWORD, 20))
    ports = roost_pg.ports[:nodes]

    check(context(roost_pg.host, ports, address, BENCH_PASSWORD, PG_DURATION))

    assert roost_pg.rss_bytes() > 0
    memory = roost_pg.database_memory()
    assert memory is not None and memory[0] > 0


def test_activesync_ping_latency_runs_against_roost(tmp_path: Path) -> None:
    from bench.scenarios import ping

    from tests.e2e.conftest import free_port

    https = free_port()
    server = start_server(
        tmp_path / "roost-data", extra_env={"ROOST_HTTPS_PORT": str(https)}, listeners=3
    )
    try:
        address = server.add_user()
        ctx = context(server.host, (server.imap_port,), address, PASSWORD, DURATION)
        ctx.https_port = https
        times = asyncio.run(ping.latency(ctx, rep=0, trials=PUSH_TRIALS))
        assert len(times) == PUSH_TRIALS
        assert all(0 < t < ping.SETTLE + 5 for t in times)
        assert all(figure.value is not None for figure in ping.figures(times))
    finally:
        stop_server(server)
