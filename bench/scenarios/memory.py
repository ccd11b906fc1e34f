"""Memory: the server's RSS (VmRSS of every process of the server, from /proc) with 0, 100,
1,000 and 10,000 connections logged in, INBOX selected and idling; per connection is the
growth from 0 to the largest count divided by that count. PSS (proportional set size,
from smaps_rollup) is reported beside it, because summing RSS over many processes counts
shared pages (libraries, mmapped indexes) once per process.

Connections are added step by step and kept open. 10,000 of them need ~10,000 file
descriptors in this process and in the server: `python -m bench compare` raises
RLIMIT_NOFILE (see servers.raise_fd_limit).

For Roost on PostgreSQL, the server's memory is that of its nodes (summed); PostgreSQL's
own processes are read at the same moments and reported on rows of their own.
"""

from __future__ import annotations

import asyncio

from bench.imapclient import ImapClient
from bench.scenarios.base import Context, Figure, Scenario, not_yet

OPEN_AT_ONCE = 64
SETTLE = 2.0  # seconds to wait before reading /proc, so lazy allocations have happened
MiB = 1024 * 1024


def steps(ctx: Context) -> list[int]:
    return [0, *(ctx.scale.n(n) for n in (100, 1000, 10_000))]


async def open_idler(ctx: Context, gate: asyncio.Semaphore, index: int) -> ImapClient:
    async with gate:
        client = await ctx.login("idle", node=index)  # spread over the nodes, if several
        await client.command("SELECT INBOX")
        await client.idle_start()
        return client


async def run(ctx: Context, rep: int) -> list[Figure]:
    counts = steps(ctx)
    if ctx.server is None:
        keys = [(f"memory RSS, {n} idle connections", "MiB", "lower") for n in counts]
        return not_yet(keys, "needs a server started by the bench (reads /proc)")  # type: ignore[arg-type]
    server = ctx.server
    server.restart()  # start from a known state
    gate = asyncio.Semaphore(OPEN_AT_ONCE)
    clients: list[ImapClient] = []
    rss: dict[int, int] = {}
    pss: dict[int, int] = {}
    database: dict[int, tuple[int, int]] = {}
    try:
        for n in counts:
            more = await asyncio.gather(*(open_idler(ctx, gate, i) for i in range(len(clients), n)))
            clients.extend(more)
            await asyncio.sleep(SETTLE)
            rss[n], pss[n] = server.rss_bytes(), server.pss_bytes()
            if (used := server.database_memory()) is not None:
                database[n] = used
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    top = counts[-1]
    out = [
        Figure(f"memory RSS, {n} idle connections", rss[n] / MiB, "MiB", "lower", detail=True)
        for n in counts
    ]
    out += [
        Figure(f"memory PSS, {n} idle connections", pss[n] / MiB, "MiB", "lower", detail=True)
        for n in counts
    ]
    for n, (db_rss, db_pss) in database.items():
        out.append(
            Figure(f"memory of PostgreSQL (RSS), {n} idle connections", db_rss / MiB, "MiB",
                   "lower", detail=True)
        )  # fmt: skip
        out.append(
            Figure(f"memory of PostgreSQL (PSS), {n} idle connections", db_pss / MiB, "MiB",
                   "lower", detail=True)
        )  # fmt: skip
    out.append(
        Figure("memory per idle connection (RSS)", (rss[top] - rss[0]) / top / 1024, "KiB", "lower")
    )
    out.append(
        Figure("memory per idle connection (PSS)", (pss[top] - pss[0]) / top / 1024, "KiB", "lower")
    )
    return out


SCENARIO = Scenario("memory", run, repeats=1)
