"""Search: UID SEARCH TEXT, FROM and SINCE on the 10k and 100k mailboxes, in ms.

The terms come from the corpus (bench/corpus.py), so their selectivity is known: TEXT
matches ~1% of messages (a word in the body), FROM one sender in 200, SINCE the newest 10%.
"""

from __future__ import annotations

import time

from bench.corpus import RARE_WORD, SEARCH_FROM, Corpus
from bench.scenarios.base import Context, Figure, Scenario, median

TRIALS = 3


def criteria(ctx: Context, size: int) -> dict[str, str]:
    since = Corpus(ctx.seed, size).since_date().strftime("%d-%b-%Y")
    return {
        "TEXT": f'TEXT "{RARE_WORD}"',
        "FROM": f'FROM "{SEARCH_FROM}"',
        "SINCE": f"SINCE {since}",
    }


async def run(ctx: Context, rep: int) -> list[Figure]:
    client = await ctx.login("big")
    out = []
    try:
        for size, mailbox in ctx.mailboxes.items():
            reply = await client.command(f'EXAMINE "{mailbox}"')
            exists = next(
                (int(r.split()[1]) for r in reply.untagged if r.upper().endswith(b"EXISTS")), 0
            )
            for name, criterion in criteria(ctx, exists).items():
                times = []
                for _ in range(TRIALS):
                    start = time.perf_counter()
                    await client.command(f"UID SEARCH {criterion}")
                    times.append((time.perf_counter() - start) * 1000)
                out.append(Figure(f"SEARCH {name}, {size}", median(times), "ms", "lower"))
    finally:
        await client.logout()
    return out


SCENARIO = Scenario("search", run)
