"""`roost check [--repair]`: the store checks itself (roost.store.mail.check).

Prints each problem on a line of its own and exits 1 if any remain, 0 if the store is
clean; `--repair` first mends what can be mended without losing mail (counters, quota
usage, UIDNEXT and HIGHESTMODSEQ, contradicted tombstones), and says what is left (a
missing or damaged message file needs the message back from a backup). Safe while the
server runs: the checks read, and the repair is one short write.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from roost.store.api import Store
from roost.store.mail.check import Report
from roost.store.mail.store import MailStore

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("check", help="check the store, and repair it with --repair")
    parser.add_argument(
        "--repair", action="store_true", help="mend what can be mended without losing mail"
    )
    parser.set_defaults(command=check)


def check(ctx: Context, args: argparse.Namespace) -> int:
    async def run(store: Store) -> Report:
        assert isinstance(store, MailStore)  # the maintenance side of every engine's store
        return await store.check(repair=args.repair)

    report = ctx.with_store(run)
    for finding in report.findings:
        ctx.stdout.write(f"{finding.text}\n")
    if report.repaired:
        ctx.stdout.write("repaired the counters, UIDNEXT and HIGHESTMODSEQ\n")
    state = "clean" if report.clean else f"{len(report.findings)} problem(s) left"
    ctx.stdout.write(f"checked {report.blobs_checked} message files: {state}\n")
    return 0 if report.clean else 1
