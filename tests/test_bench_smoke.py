"""The load generator runs against Roost for a few seconds, so `make test` keeps it working.

The benchmarks themselves (`make bench`) are not part of the tests; this only checks that
bench/ still speaks to the server: a short device mix with three devices, no errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.corpus import Corpus
from bench.imapclient import ImapClient
from bench.scenarios import devices
from bench.scenarios.base import SCALES, Context

from tests.e2e.conftest import PASSWORD, Server, start_server, stop_server

pytestmark = pytest.mark.e2e

DURATION = 3.0
DEVICES = 3


@pytest.fixture
def roost(tmp_path: Path) -> Iterator[Server]:
    server = start_server(tmp_path / "roost-data")
    yield server
    stop_server(server)


async def seed_inbox(server: Server, address: str, count: int) -> None:
    corpus = Corpus(seed=1, count=count)
    client = await ImapClient.login(server.host, server.imap_port, address, PASSWORD)
    for i in range(count):
        await client.command(f"APPEND INBOX {corpus.internaldate(i)} {{}}", [corpus.message(i)])
    await client.logout()


async def device_mix(server: Server, address: str) -> devices.Stats:
    ctx = Context(
        host=server.host,
        port=server.imap_port,
        password=PASSWORD,
        scale=SCALES["small"],
        users={"default": address},
        mailboxes={"INBOX": "INBOX"},
        duration=DURATION,
    )
    stats, _ = await devices.mix(ctx, DEVICES, rep=0)
    return stats


def test_device_mix_runs_against_roost(roost: Server) -> None:
    address = roost.add_user()
    asyncio.run(seed_inbox(roost, address, 20))

    stats = asyncio.run(device_mix(roost, address))

    assert stats.errors == []
    for command in devices.COMMANDS:
        assert stats.latency[command], f"no {command} completed"
    assert stats.commands > 20
