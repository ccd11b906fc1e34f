"""Device mix: N simulated devices, five per account, each looping through what a phone or
a laptop does: LOGIN, SELECT, FETCH headers of new mail, FETCH a body, STORE flags, APPEND,
EXPUNGE (its own appended message, by UID), IDLE briefly, and after a few rounds LOGOUT.

Closed loop, no think time: the figure is how many commands per second the server completes
for N busy devices, with p50/p99 latency per command. Each device has its own seeded random
stream, so runs are comparable. When the server is several nodes on one store, device i
connects to node i mod nodes, so the five devices of an account are spread over the nodes
and hear each other's changes across them.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict

from bench.corpus import Corpus
from bench.imapclient import ImapClient, ImapError
from bench.scenarios.base import Context, Figure, Scenario, median, percentile

DEVICES_PER_ACCOUNT = 5
ROUNDS_PER_SESSION = 10
KNOWN = 200  # UIDs a device remembers to pick bodies and flags from
IDLE_DWELL = 0.01  # seconds a device stays in IDLE unless something arrives sooner
HEADERS = "BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID REFERENCES)]"
COMMANDS = ("LOGIN", "SELECT", "FETCH headers", "FETCH body", "STORE", "APPEND", "EXPUNGE", "IDLE")


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    @property
    def commands(self) -> int:
        return sum(len(v) for v in self.latency.values())


def timed(stats: Stats, name: str, start: float) -> None:
    stats.latency[name].append(time.perf_counter() - start)


async def device(ctx: Context, index: int, deadline: float, stats: Stats, rep: int) -> None:
    rng = random.Random(ctx.seed * 7919 + index * 31 + rep)
    corpus = Corpus(ctx.seed + 1000 + index, 1_000_000)
    role = f"mix{index // DEVICES_PER_ACCOUNT}"
    serial = 0
    while time.perf_counter() < deadline:
        try:
            serial = await session(ctx, index, role, rng, corpus, serial, deadline, stats)
        except (ImapError, OSError, TimeoutError) as exc:
            stats.errors.append(f"device {index}: {exc}")
            await asyncio.sleep(0.1)


async def session(
    ctx: Context,
    index: int,
    role: str,
    rng: random.Random,
    corpus: Corpus,
    serial: int,
    deadline: float,
    stats: Stats,
) -> int:
    t = time.perf_counter()
    client = await ImapClient.connect(ctx.host, ctx.node_port(index))
    try:
        t = time.perf_counter()
        await client.command(f'LOGIN "{ctx.user(role)}" "{ctx.password}"')
        timed(stats, "LOGIN", t)
        t = time.perf_counter()
        reply = await client.command("SELECT INBOX")
        timed(stats, "SELECT", t)
        exists = next((n for n in map(_exists, reply.untagged) if n is not None), 0)
        known: list[int] = []
        last = f"{max(1, exists - 19)}:*" if exists else None  # the newest 20 to begin with
        for _ in range(ROUNDS_PER_SESSION):
            if time.perf_counter() >= deadline:
                break
            last = await one_round(client, rng, corpus, serial, known, last, stats)
            serial += 1
        await client.command("LOGOUT", check=False)
    finally:
        await client.close()
    return serial


async def one_round(
    client: ImapClient,
    rng: random.Random,
    corpus: Corpus,
    serial: int,
    known: list[int],
    new: str | None,
    stats: Stats,
) -> str | None:
    t = time.perf_counter()
    if new is not None:
        command = "UID FETCH" if known else "FETCH"  # by sequence number the first time
        await client.command(
            f"{command} {new} (UID FLAGS {HEADERS})",
            on_untagged=lambda r: _note_uid(r, known),
        )
        del known[:-KNOWN]
        timed(stats, "FETCH headers", t)
    if known:
        uid = rng.choice(known)
        t = time.perf_counter()
        await client.command(f"UID FETCH {uid} (BODY.PEEK[])")
        timed(stats, "FETCH body", t)
        t = time.perf_counter()
        sign = rng.choice("+-")
        await client.command(f"UID STORE {uid} {sign}FLAGS.SILENT (\\Seen)")
        timed(stats, "STORE", t)
    t = time.perf_counter()
    message = corpus.message(serial)
    reply = await client.command("APPEND INBOX () {}", [message])
    timed(stats, "APPEND", t)
    appended = reply.code.split()[-1] if reply.code.upper().startswith("APPENDUID") else None
    if appended is not None:
        t = time.perf_counter()
        await client.command(f"UID STORE {appended} +FLAGS.SILENT (\\Deleted)")
        timed(stats, "STORE", t)
        t = time.perf_counter()
        await client.command(f"UID EXPUNGE {appended}")
        timed(stats, "EXPUNGE", t)
    t = time.perf_counter()
    tag = await client.idle_start()
    entered = time.perf_counter() - t
    try:
        async with asyncio.timeout(IDLE_DWELL):
            await client.read_response()
    except TimeoutError:
        pass
    t = time.perf_counter()
    await client.idle_done(tag)
    stats.latency["IDLE"].append(entered + time.perf_counter() - t)
    return f"{max(known) + 1}:*" if known else new


def _exists(response: bytes) -> int | None:
    parts = response.split()
    if len(parts) == 3 and parts[2].upper() == b"EXISTS":
        return int(parts[1])
    return None


def _note_uid(response: bytes, known: list[int]) -> None:
    upper = response.upper()
    at = upper.find(b"UID ")
    if b" FETCH " in upper[:24] and at > 0:
        known.append(int(upper[at + 4 :].split(maxsplit=1)[0].rstrip(b")")))


def counts(ctx: Context) -> list[int]:
    if ctx.device_counts:
        return list(ctx.device_counts)
    return [ctx.scale.n(10), ctx.scale.n(50)]


async def mix(ctx: Context, devices: int, rep: int) -> tuple[Stats, float]:
    stats = Stats()
    start = time.perf_counter()
    deadline = start + ctx.duration
    async with asyncio.TaskGroup() as tg:
        for i in range(devices):
            tg.create_task(device(ctx, i, deadline, stats, rep))
    return stats, time.perf_counter() - start


def figures(devices: int, stats: Stats, elapsed: float) -> list[Figure]:
    # LOGIN is an Argon2id verification (~100 ms of CPU in both servers, by design): it
    # would be the p99 of everything, so the headline latencies leave it out; its own
    # p50/p99 are in the details.
    every = [v for name, values in stats.latency.items() if name != "LOGIN" for v in values]
    label = f"device mix, {devices} devices"
    out = [
        Figure(f"{label}: commands/s", stats.commands / elapsed, "cmd/s", "higher"),
        Figure(f"{label}: p50 latency (all but LOGIN)", median(every) * 1000, "ms", "lower"),
        Figure(
            f"{label}: p99 latency (all but LOGIN)", percentile(every, 99) * 1000, "ms", "lower"
        ),
        Figure(f"{label}: errors", float(len(stats.errors)), "", "lower", detail=True),
    ]
    for name in COMMANDS:
        values = stats.latency.get(name, [])
        for p in (50, 99):
            ms = percentile(values, p) * 1000
            out.append(Figure(f"{label}: {name} p{p}", ms, "ms", "lower", detail=True))
    return out


async def run(ctx: Context, rep: int) -> list[Figure]:
    out: list[Figure] = []
    for devices in counts(ctx):
        stats, elapsed = await mix(ctx, devices, rep)
        out += figures(devices, stats, elapsed)
    return out


SCENARIO = Scenario("devices", run)
