"""Push latency: from the moment an APPEND is written on one connection to the untagged
EXISTS on another connection idling on the same mailbox (RFC 2177 IDLE); median and p99
over 200 trials. Then fan-out: one APPEND, 1,000 idling connections, the time until each
of them has its EXISTS (median and the last one).
"""

from __future__ import annotations

import asyncio
import time

from bench.corpus import Corpus
from bench.imapclient import ImapClient, exists_count
from bench.scenarios.base import Context, Figure, Scenario, median, percentile

TRIALS = 200
OPEN_AT_ONCE = 50  # logins in flight while building the fan-out


async def idler(ctx: Context) -> tuple[ImapClient, str, int]:
    client = await ctx.login("push")
    reply = await client.command("SELECT INBOX")
    exists = next((n for n in map(exists_count, reply.untagged) if n is not None), 0)
    return client, await client.idle_start(), exists


async def until_exists(client: ImapClient, above: int) -> int:
    while True:
        n = exists_count(await client.read_response())
        if n is not None and n > above:
            return n


async def latency(ctx: Context, rep: int) -> list[float]:
    corpus = Corpus(ctx.seed + 500 + rep, TRIALS)
    messages = [corpus.message(i) for i in range(TRIALS)]  # made before any clock starts
    writer = await ctx.login("push")
    watcher, tag, exists = await idler(ctx)
    times = []
    try:
        for i in range(TRIALS):
            start = time.perf_counter()
            appended = await writer.send("APPEND INBOX {}", [messages[i]])
            async with asyncio.timeout(30):
                exists = await until_exists(watcher, exists)
            times.append(time.perf_counter() - start)
            await writer.wait(appended)
        await watcher.idle_done(tag)
    finally:
        await watcher.logout()
        await writer.logout()
    return times


async def fan_out(ctx: Context, n: int, rep: int) -> list[float]:
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def open_one() -> tuple[ImapClient, str, int]:
        async with gate:
            return await idler(ctx)

    idlers = await asyncio.gather(*(open_one() for _ in range(n)))
    writer = await ctx.login("push")
    message = Corpus(ctx.seed + 900 + rep, 1).message(0)
    try:
        await asyncio.sleep(0.5)  # let every server settle into its idle state
        start = time.perf_counter()
        appended = await writer.send("APPEND INBOX {}", [message])

        async def arrival(client: ImapClient, exists: int) -> float:
            async with asyncio.timeout(60):
                await until_exists(client, exists)
            return time.perf_counter() - start

        times = await asyncio.gather(*(arrival(c, e) for c, _, e in idlers))
        await writer.wait(appended)
    finally:
        await writer.logout()
        await asyncio.gather(*(c.close() for c, _, _ in idlers))
    return times


async def run(ctx: Context, rep: int) -> list[Figure]:
    times = await latency(ctx, rep)
    n = ctx.scale.n(1000)
    spread = await fan_out(ctx, n, rep)
    return [
        Figure("push latency APPEND -> EXISTS: median", median(times) * 1000, "ms", "lower"),
        Figure("push latency APPEND -> EXISTS: p99", percentile(times, 99) * 1000, "ms", "lower"),
        Figure(f"push fan-out to {n} idlers: median", median(spread) * 1000, "ms", "lower"),
        Figure(f"push fan-out to {n} idlers: last", max(spread) * 1000, "ms", "lower"),
    ]


SCENARIO = Scenario("push", run)
