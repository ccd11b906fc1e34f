"""Ingest: APPEND of 10,000 messages from one connection, and of 10,000 split over 10
concurrent connections, one APPEND at a time per connection (as mail clients do: no
pipelining), into a fresh mailbox that is deleted afterwards; messages per second. The
clock runs from the first APPEND to the last reply: the messages are generated and the
connections logged in before it starts, so neither the load generator's own work nor the
Argon2 logins are counted.
"""

from __future__ import annotations

import asyncio
import time

from bench.corpus import Corpus
from bench.imapclient import ImapClient
from bench.scenarios.base import Context, Figure, Scenario

CONNECTIONS = 10


async def appender(
    client: ImapClient, mailbox: str, corpus: Corpus, messages: list[bytes], indexes: range
) -> None:
    for i in indexes:
        await client.command(f'APPEND "{mailbox}" {corpus.internaldate(i)} {{}}', [messages[i]])


async def ingest(ctx: Context, connections: int, total: int, rep: int) -> float:
    mailbox = f"Ingest-{connections}-{rep}"
    admin = await ctx.login("ingest")
    await admin.command(f'CREATE "{mailbox}"', check=False)
    corpus = Corpus(ctx.seed + 300 + rep, total)
    messages = [corpus.message(i) for i in range(total)]  # generated before the clock starts
    share = total // connections
    # Logged in before the clock starts too: the figure is APPEND, not Argon2.
    clients = await asyncio.gather(*(ctx.login("ingest") for _ in range(connections)))
    try:
        start = time.perf_counter()
        async with asyncio.TaskGroup() as tg:
            for c, client in enumerate(clients):
                part = range(c * share, (c + 1) * share)
                tg.create_task(appender(client, mailbox, corpus, messages, part))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(client.logout() for client in clients))
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
