"""The load generator's command line.

python -m bench run --host H --port P --user U --password W --scenario devices
    drives one IMAP server (any server) with one scenario and prints its figures;
    every role (device accounts, push, idle, ...) is that one user, every sized
    mailbox is --mailbox.
python -m bench compare [--scale small|full] [--repeat 3] [--output BENCHMARKS.md]
                       [--servers dovecot,roost,roost-pg,roost-pg2]
    starts the servers (by default Dovecot and Roost on SQLite; roost-pg is Roost on
    PostgreSQL, roost-pg2 two Roost nodes on one PostgreSQL, roost@<commit> Roost as of a
    commit), loads the same corpus into each, runs every scenario against each (the
    PostgreSQL kinds: --postgresql-scenarios), prints the table and writes it to --output.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shlex
import sys
from pathlib import Path

from bench.compare import DEFAULT_KINDS, KINDS, POSTGRESQL_SCENARIOS, check_kind
from bench.scenarios import SCENARIOS
from bench.scenarios.base import SCALES, Context, Figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    default_scale = os.environ.get("BENCH_SCALE", "full")

    run = sub.add_parser("run", help="one scenario against one server")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, required=True)
    run.add_argument("--user", required=True)
    run.add_argument("--password", required=True)
    run.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    run.add_argument("--scale", choices=sorted(SCALES), default=default_scale)
    run.add_argument("--mailbox", default="INBOX", help="the mailbox sync/search/resync use")
    run.add_argument("--duration", type=float, default=10.0, help="seconds of device mix")
    run.add_argument("--devices", type=int, action="append", help="device count (repeatable)")
    run.add_argument("--lmtp-port", type=int)
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--json", action="store_true", help="print the figures as JSON")

    cmp = sub.add_parser("compare", help="Dovecot and Roost side by side, one table")
    cmp.add_argument("--scale", choices=sorted(SCALES), default=default_scale)
    cmp.add_argument("--repeat", type=int, default=3)
    cmp.add_argument("--seed", type=int, default=1)
    cmp.add_argument("--duration", type=float, help="seconds per device-mix run")
    cmp.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    cmp.add_argument(
        "--workdir",
        type=Path,
        help="keep the servers' data here and reuse it next time (then the 'first ever' "
        "FETCH figures are no longer first)",
    )
    cmp.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    cmp.add_argument(
        "--servers",
        type=_kinds,
        default=list(DEFAULT_KINDS),
        help=f"comma-separated, from {', '.join(KINDS)}, roost@<commit> "
        f"(default: {','.join(DEFAULT_KINDS)})",
    )
    cmp.add_argument(
        "--postgresql-scenarios",
        type=lambda text: None if text == "all" else _names(text),
        default=list(POSTGRESQL_SCENARIOS),
        help="the scenarios roost-pg and roost-pg2 run, comma-separated, or 'all' "
        f"(default: {','.join(POSTGRESQL_SCENARIOS)})",
    )
    cmp.add_argument("--no-profile", action="store_true", help="skip profiling misses")
    cmp.add_argument("--no-drop-caches", action="store_true")

    args = parser.parse_args(argv)
    if args.command == "run":
        return asyncio.run(run_one(args))
    return asyncio.run(compare(args, argv if argv is not None else sys.argv[1:]))


async def run_one(args: argparse.Namespace) -> int:
    ctx = Context(
        host=args.host,
        port=args.port,
        password=args.password,
        scale=SCALES[args.scale],
        users={"default": args.user},
        mailboxes={args.mailbox: args.mailbox},
        seed=args.seed,
        duration=args.duration,
        lmtp_port=args.lmtp_port,
        device_counts=tuple(args.devices) if args.devices else None,
    )
    figures = await SCENARIOS[args.scenario].run(ctx, 0)
    if args.json:
        print(json.dumps([_as_dict(f) for f in figures]))
    else:
        for f in figures:
            shown = "—" if f.value is None else f"{f.value:,.2f} {f.unit}"
            print(f"{f.key:60} {shown}{'  ' + f.note if f.note else ''}")
    failed = any(f.key.endswith(": errors") and f.value for f in figures)
    return 1 if failed else 0


def _kinds(text: str) -> list[str]:
    try:
        return [check_kind(kind.strip()) for kind in text.split(",") if kind.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if unknown := [name for name in names if name not in SCENARIOS]:
        raise argparse.ArgumentTypeError(f"unknown scenario(s): {', '.join(unknown)}")
    return names


def _as_dict(f: Figure) -> dict[str, object]:
    return dataclasses.asdict(f)


async def compare(args: argparse.Namespace, argv: list[str]) -> int:
    from bench import report
    from bench.compare import Plan
    from bench.compare import compare as run_compare

    scale = SCALES[args.scale]
    plan = Plan(
        scale=scale,
        repeats=args.repeat,
        seed=args.seed,
        duration=args.duration or (20.0 if scale.name == "full" else 5.0),
        scenarios=args.scenario or list(SCENARIOS),
        workdir=args.workdir,
        profile_misses=not args.no_profile,
        drop_caches=not args.no_drop_caches,
        servers=args.servers,
        postgresql_scenarios=args.postgresql_scenarios,
    )
    results = await run_compare(plan)
    command = f"BENCH_SCALE={scale.name} python -m bench " + shlex.join(argv)
    text = report.write(results, plan, command, args.output)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
