"""Ingest: APPEND of 10,000 messages from one connection, and of 10,000 split over 10
concurrent connections, one APPEND at a time per connection (as mail clients do: no
pipelining), into a fresh mailbox that is deleted afterwards; messages per second.
"""

from __future__ import annotations

import asyncio
import time

from bench.corpus import Corpus
from bench.scenarios.base import Context, Figure, Scenario

CONNECTIONS = 10


async def appender(ctx: Context, mailbox: str, corpus: Corpus, indexes: range) -> None:
    client = await ctx.login("ingest")
    try:
        for i in indexes:
            await client.command(
                f'APPEND "{mailbox}" {corpus.internaldate(i)} {{}}', [corpus.message(i)]
            )
    finally:
        await client.logout()


async def ingest(ctx: Context, connections: int, total: int, rep: int) -> float:
    mailbox = f"Ingest-{connections}-{rep}"
    admin = await ctx.login("ingest")
    await admin.command(f'CREATE "{mailbox}"', check=False)
    corpus = Corpus(ctx.seed + 300 + rep, total)
    share = total // connections
    start = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for c in range(connections):
            tg.create_task(appender(ctx, mailbox, corpus, range(c * share, (c + 1) * share)))
    elapsed = time.perf_counter() - start
    await admin.command(f'DELETE "{mailbox}"', check=False)
    await admin.logout()
    return share * connections / elapsed


async def run(ctx: Context, rep: int) -> list[Figure]:
    total = ctx.scale.n(10_000)
    one = await ingest(ctx, 1, total, rep)
    ten = await ingest(ctx, CONNECTIONS, total, rep)
    return [
        Figure(f"ingest APPEND {total}, 1 connection", one, "msg/s", "higher"),
        Figure(f"ingest APPEND {total}, {CONNECTIONS} connections", ten, "msg/s", "higher"),
    ]


SCENARIO = Scenario("ingest", run)
