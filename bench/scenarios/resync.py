"""Resync: a device that was away comes back with `SELECT mailbox (QRESYNC (uidvalidity
modseq))` (RFC 7162 §3.2.5) after 10 flag changes were made by another device, in ms.

Measured only where the server advertises QRESYNC after LOGIN; otherwise the figure is
reported as not yet supported. Cost should follow the change, so 10k and 100k should match.
"""

from __future__ import annotations

import random
import re
import time

from bench.imapclient import ImapClient
from bench.scenarios.base import Context, Figure, Scenario, median, not_yet

CHANGES = 10
TRIALS = 5
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_HIGHESTMODSEQ = re.compile(rb"\[HIGHESTMODSEQ (\d+)\]", re.IGNORECASE)
_UID = re.compile(rb"UID (\d+)", re.IGNORECASE)


def key(size: str) -> str:
    return f"resync SELECT QRESYNC after {CHANGES} changes, {size}"


async def state(client: ImapClient, mailbox: str) -> tuple[int, int, int]:
    """(UIDVALIDITY, HIGHESTMODSEQ, EXISTS) from a QRESYNC-enabled SELECT."""
    reply = await client.command(f'SELECT "{mailbox}"')
    joined = b"\n".join(reply.untagged) + reply.text.encode()
    validity = _UIDVALIDITY.search(joined)
    modseq = _HIGHESTMODSEQ.search(joined)
    exists = next((int(r.split()[1]) for r in reply.untagged if r.upper().endswith(b"EXISTS")), 0)
    if validity is None or modseq is None:
        raise RuntimeError("SELECT gave no UIDVALIDITY or HIGHESTMODSEQ")
    return int(validity.group(1)), int(modseq.group(1)), exists


async def trial(ctx: Context, mailbox: str, rng: random.Random) -> float:
    away = await ctx.login("big")
    await away.command("ENABLE QRESYNC")
    validity, modseq, exists = await state(away, mailbox)
    picks = sorted({rng.randint(1, exists) for _ in range(CHANGES * 2)})[:CHANGES]
    uids: list[int] = []
    await away.command(
        f"FETCH {','.join(map(str, picks))} (UID)",
        on_untagged=lambda r: uids.extend(int(m) for m in _UID.findall(r)),
    )
    await away.logout()

    other = await ctx.login("big")
    await other.command(f'SELECT "{mailbox}"')
    for uid in uids:
        sign = rng.choice("+-")
        await other.command(f"UID STORE {uid} {sign}FLAGS.SILENT ($Resync{rng.randrange(4)})")
    await other.logout()

    back = await ctx.login("big")
    await back.command("ENABLE QRESYNC")
    start = time.perf_counter()
    await back.command(f'SELECT "{mailbox}" (QRESYNC ({validity} {modseq}))')
    elapsed = time.perf_counter() - start
    await back.logout()
    return elapsed * 1000


async def run(ctx: Context, rep: int) -> list[Figure]:
    probe = await ctx.login("big")
    supported = "QRESYNC" in probe.capabilities
    await probe.logout()
    keys = [(key(size), "ms", "lower") for size in ctx.mailboxes]
    if not supported:
        return not_yet(keys, "not yet supported: the server does not advertise QRESYNC")  # type: ignore[arg-type]
    rng = random.Random(ctx.seed * 13 + rep)
    out = []
    for size, mailbox in ctx.mailboxes.items():
        times = [await trial(ctx, mailbox, rng) for _ in range(TRIALS)]
        out.append(Figure(key(size), median(times), "ms", "lower"))
    return out


SCENARIO = Scenario("resync", run)
