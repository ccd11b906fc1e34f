"""Push latency: from the moment a change is written on one connection to the untagged
response on another connection idling on the same mailbox (RFC 2177 IDLE): APPEND to
EXISTS (median and p99 over 200 trials), then a flag STORE to FETCH and UID EXPUNGE to
EXPUNGE (50 trials each). Then fan-out: one APPEND, 1,000 idling connections, the time until
each of them has its EXISTS (median and the last one).

When the server is several nodes on one store, every idler listens on the first node and
every change is written through the second, so the figures are push across nodes.
"""

from __future__ import annotations

import asyncio
import re
import time

from bench.corpus import Corpus
from bench.imapclient import ImapClient, exists_count
from bench.scenarios.base import Context, Figure, Scenario, median, percentile

TRIALS = 200
CHANGE_TRIALS = 50  # of STORE and of EXPUNGE
OPEN_AT_ONCE = 50  # logins in flight while building the fan-out
IDLER, WRITER = 0, 1  # the nodes (the same one when there is one)
_UNTAGGED = re.compile(rb"^\* \d+ (FETCH|EXPUNGE)\b", re.IGNORECASE)


async def idler(ctx: Context) -> tuple[ImapClient, str, int]:
    client = await ctx.login("push", IDLER)
    reply = await client.command("SELECT INBOX")
    exists = next((n for n in map(exists_count, reply.untagged) if n is not None), 0)
    return client, await client.idle_start(), exists


async def until_exists(client: ImapClient, above: int) -> int:
    while True:
        n = exists_count(await client.read_response())
        if n is not None and n > above:
            return n


async def until(client: ImapClient, kind: bytes) -> None:
    """Reads until an untagged `* n FETCH` or `* n EXPUNGE` (kind) arrives."""
    while True:
        match = _UNTAGGED.match(await client.read_response())
        if match and match.group(1).upper() == kind:
            return


async def latency(
    ctx: Context, rep: int, trials: int = TRIALS, changes: int = CHANGE_TRIALS
) -> dict[str, list[float]]:
    """Seconds from writing each change to the idler's response, per kind of change."""
    corpus = Corpus(ctx.seed + 500 + rep, trials + changes)
    messages = [corpus.message(i) for i in range(trials + changes)]  # before any clock
    writer = await ctx.login("push", WRITER)
    watcher, tag, exists = await idler(ctx)
    times: dict[str, list[float]] = {"APPEND": [], "STORE": [], "EXPUNGE": []}
    uids: list[str] = []
    try:
        for i in range(trials):
            start = time.perf_counter()
            appended = await writer.send("APPEND INBOX {}", [messages[i]])
            async with asyncio.timeout(30):
                exists = await until_exists(watcher, exists)
            times["APPEND"].append(time.perf_counter() - start)
            uids.append((await writer.wait(appended)).code.split()[-1])
        await writer.command("SELECT INBOX")
        for i in range(min(changes, len(uids))):
            start = time.perf_counter()
            stored = await writer.send(f"UID STORE {uids[i]} +FLAGS.SILENT (\\Flagged)")
            async with asyncio.timeout(30):
                await until(watcher, b"FETCH")
            times["STORE"].append(time.perf_counter() - start)
            await writer.wait(stored)
        for i in range(trials, trials + changes):
            # Appended already deleted, so that the clock times the expunge alone; the
            # idler's EXISTS for it is awaited before the clock starts.
            reply = await writer.command("APPEND INBOX (\\Deleted) {}", [messages[i]])
            async with asyncio.timeout(30):
                exists = await until_exists(watcher, exists)
            start = time.perf_counter()
            expunged = await writer.send(f"UID EXPUNGE {reply.code.split()[-1]}")
            async with asyncio.timeout(30):
                await until(watcher, b"EXPUNGE")
            times["EXPUNGE"].append(time.perf_counter() - start)
            exists -= 1
            await writer.wait(expunged)
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
    writer = await ctx.login("push", WRITER)
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
    return [*figures(times), *fan_out_figures(n, spread)]


def figures(times: dict[str, list[float]]) -> list[Figure]:
    out = []
    for change, response in (("APPEND", "EXISTS"), ("STORE", "FETCH"), ("EXPUNGE", "EXPUNGE")):
        label, values = f"push latency {change} -> {response}", times[change]
        out.append(Figure(f"{label}: median", median(values) * 1000, "ms", "lower"))
        out.append(Figure(f"{label}: p99", percentile(values, 99) * 1000, "ms", "lower"))
    return out


def fan_out_figures(n: int, spread: list[float]) -> list[Figure]:
    return [
        Figure(f"push fan-out to {n} idlers: median", median(spread) * 1000, "ms", "lower"),
        Figure(f"push fan-out to {n} idlers: last", max(spread) * 1000, "ms", "lower"),
    ]


SCENARIO = Scenario("push", run)
