"""Initial sync: a new device fetches `1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)` of a whole
mailbox, in messages per second.

- first ever: the first such FETCH the server has seen for this mailbox (after a restart);
  measured once per run, on the first repetition. A server that computes ENVELOPE and
  BODYSTRUCTURE at delivery answers from its database; one that parses on demand reads
  every message here.
- cold: right after a restart of the server (and with the page cache dropped when we may).
- warm: the same FETCH again on the running server.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.scenarios.base import Context, Figure, Scenario

ITEMS = "(UID FLAGS ENVELOPE BODYSTRUCTURE)"
DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_page_cache() -> bool:
    """Drops clean page-cache pages (root only); False when not allowed."""
    try:
        os.sync()
        DROP_CACHES.write_text("1")
        return True
    except OSError:
        return False


async def fetch_all(ctx: Context, mailbox: str) -> float:
    """Messages per second for one FETCH 1:* on a fresh connection."""
    client = await ctx.login("big")
    try:
        await client.command(f'EXAMINE "{mailbox}"')
        count = 0

        def note(response: bytes) -> None:
            nonlocal count
            count += b" FETCH " in response[:24]

        start = time.perf_counter()
        await client.command(f"FETCH 1:* {ITEMS}", on_untagged=note)
        elapsed = time.perf_counter() - start
    finally:
        await client.logout()
    return count / elapsed


def restart(ctx: Context) -> None:
    assert ctx.server is not None
    ctx.server.restart()
    if ctx.drop_caches and not drop_page_cache():
        ctx.notes.append("cold: the page cache could not be dropped (not root?)")


async def run(ctx: Context, rep: int) -> list[Figure]:
    out: list[Figure] = []
    for size, mailbox in ctx.mailboxes.items():
        label = f"initial sync FETCH 1:*, {size}"
        if ctx.server is None:
            out.append(Figure(f"{label}: cold", None, "msg/s", "higher", note="needs restart"))
        else:
            if rep == 0:
                restart(ctx)
                first = await fetch_all(ctx, mailbox)
                out.append(Figure(f"{label}: first ever", first, "msg/s", "higher"))
            restart(ctx)
            cold = await fetch_all(ctx, mailbox)
            out.append(Figure(f"{label}: cold", cold, "msg/s", "higher"))
        warm = await fetch_all(ctx, mailbox)
        out.append(Figure(f"{label}: warm", warm, "msg/s", "higher"))
    return out


SCENARIO = Scenario("sync", run)
