"""The table (figure, Dovecot, each Roost with its ratio, target, verdict) and BENCHMARKS.md.

The ratio is always "how many times better this Roost is": Roost/Dovecot for figures where
higher is better (messages/s), Dovecot/Roost where lower is better (ms, KiB). Above 1
Roost is ahead, below 1 it is behind. Every server other than Dovecot (Roost on SQLite, on
PostgreSQL with one or two nodes, Roost as of an earlier commit) gets its own value and
ratio columns, and its own verdict against the targets.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.compare import Plan, Results

DOVECOT, ROOST = "Dovecot", "Roost"

# (ratio, this Roost's value, all results, figure key, server name) -> met?
Met = Callable[[float | None, float, Results, str, str], bool]


@dataclass(frozen=True, slots=True)
class Target:
    pattern: str  # regular expression on the figure key
    text: str
    met: Met
    absolute: bool = False  # judged without Dovecot's figure


def _flat(ratio: float | None, roost: float, results: Results, key: str, server: str) -> bool:
    """Resync ≥ 3x Dovecot, and the largest mailbox no slower than 1.5x the smallest."""
    sizes = [k for k in results.figures if k.startswith(key.rsplit(",", 1)[0] + ",")]
    values = [v for k in sizes if (v := results.value(server, k)) is not None]
    return ratio is not None and ratio >= 3 and max(values) <= 1.5 * min(values)


def _at_least(x: float) -> Met:
    return lambda ratio, roost, results, key, server: ratio is not None and ratio >= x


def _push(ratio: float | None, roost: float, results: Results, key: str, server: str) -> bool:
    """Issue 5: under 5 ms on one node; issue 10: under 20 ms from one node to another."""
    return roost < (20 if server.endswith(" nodes") else 5)


TARGETS = [
    Target(r"^push latency .*: median$", "< 5 ms (across nodes: < 20 ms)", _push, True),
    Target(
        r"^ActiveSync Ping latency .*: median$",
        "< 20 ms (issue 16)",
        lambda ratio, roost, results, key, server: roost < 20,
        True,
    ),
    Target(r"^memory per idle connection", "≤ 1/20 of Dovecot (≥ 20x)", _at_least(20)),
    Target(r"^resync ", "≥ 3x and flat 10k→100k", _flat),
    Target(r"^SEARCH TEXT", "≥ 30x", _at_least(30)),
    Target(r"^initial sync .*: (cold|first ever)$", "≥ 10x", _at_least(10)),
    Target(r"^initial sync .*: warm$", "≥ 1x (equal)", _at_least(1)),
    Target(r"^ingest .*, 1 connection$", "≥ 1x (equal)", _at_least(1)),
    Target(r"^ingest .*, 10 connections$", "≥ 3x", _at_least(3)),
    Target(r"^device mix.*: commands/s$", "≥ 1.5x", _at_least(1.5)),
    Target(r"^device mix.*: p99 latency", "≥ 1x (no worse)", _at_least(1)),
    # Issue 17: imaptest's stress, long sessions at least Dovecot's pace, with logins 1.5x.
    Target(r"^imaptest stress .*logout=0: commands/s$", "≥ 1x (equal)", _at_least(1)),
    Target(r"^imaptest stress .*: commands/s$", "≥ 1.5x", _at_least(1.5)),
    Target(
        r"^imaptest stress .*: errors$",
        "0",
        lambda ratio, roost, results, key, server: roost == 0,
        True,
    ),
]


def target_for(key: str) -> Target | None:
    return next((t for t in TARGETS if re.search(t.pattern, key)), None)


def roosts(results: Results) -> list[str]:
    """Every server but Dovecot, in the order they were named."""
    names = results.servers or [DOVECOT, *sorted(set(results.samples) - {DOVECOT})]
    return [name for name in names if name != DOVECOT]


def ratio(results: Results, key: str, server: str = ROOST) -> float | None:
    d, r = results.value(DOVECOT, key), results.value(server, key)
    if d is None or r is None or d <= 0 or r <= 0:
        return None
    return r / d if results.figures[key].better == "higher" else d / r


def verdict(results: Results, key: str, server: str = ROOST) -> str:
    target = target_for(key)
    value = results.value(server, key)
    if target is None:
        return ""
    if value is None:
        return "not yet" if key in results.notes.get(server, {}) else "—"
    if not target.absolute and results.value(DOVECOT, key) is None:
        return "—"  # a ratio to nothing
    met = target.met(ratio(results, key, server), value, results, key, server)
    return "met" if met else "**MISSED**"


def missed(results: Results, server: str = ROOST) -> list[str]:
    return [k for k in results.figures if verdict(results, k, server) == "**MISSED**"]


def missed_scenarios(results: Results) -> set[str]:
    """The scenarios where Roost on SQLite (the one profiled) misses a target."""
    return {results.scenario_of[k] for k in missed(results)}


def cell(results: Results, server: str, key: str) -> str:
    value = results.value(server, key)
    if value is None:
        note = results.notes.get(server, {}).get(key, "")
        if note:
            return "not yet" if note.startswith("not yet") else note
        scenario = results.scenario_of.get(key, "")
        failed = any(e.startswith(f"{scenario}:") for e in results.errors.get(server, []))
        return "error" if failed else "—"
    unit = results.figures[key].unit
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f} {unit}".strip()


def table(results: Results, *, detail: bool) -> str:
    others = roosts(results)
    head = ["figure", DOVECOT]
    for name in others:
        head += [name, "ratio (x better)" if len(others) == 1 else "ratio"]
    if not detail:
        head += ["target", "verdict" if len(others) == 1 else "verdicts"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, figure in results.figures.items():
        if figure.detail != detail:
            continue
        cells = [key, cell(results, DOVECOT, key)]
        for name in others:
            r = ratio(results, key, name)
            cells += [cell(results, name, key), f"{r:.2f}x" if r is not None else "—"]
        if not detail:
            target = target_for(key)
            verdicts = [verdict(results, key, name) for name in others]
            cells += [target.text if target else "", " / ".join(verdicts) if target else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the machine -------------------------------------------------------------------------
def machine() -> dict[str, str]:
    info = {"cores": str(os.cpu_count()), "kernel": platform.release()}
    info["python"] = platform.python_version()
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            info["cpu"] = line.split(":", 1)[1].strip()
            break
    info["dovecot"] = _output(["dovecot", "--version"])
    info["postgresql"] = _postgresql_version()
    info["roost"] = _output(["git", "rev-parse", "--short", "HEAD"]) + (
        " (with uncommitted changes)" if _output(["git", "status", "--porcelain", "src"]) else ""
    )
    return info


def _postgresql_version() -> str:
    from tests.pgserver import find_bindir

    bindir = find_bindir()
    text = _output([str(bindir / "postgres"), "--version"]) if bindir else ""
    words = text.split()  # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    return words[2] if len(words) > 2 else "?"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


# --- BENCHMARKS.md -----------------------------------------------------------------------
def markdown(results: Results, plan: Plan, command: str) -> str:
    m = machine()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = "; ".join(f"{name}: `{text}`" for name, text in results.commands.items())
    servers = f"Dovecot {m['dovecot']} (Debian package); Roost {m['roost']}"
    if any(name.startswith("Roost on PostgreSQL") for name in results.servers):
        servers += f"; PostgreSQL {m['postgresql']} (Debian package)"
    out = [
        "# Benchmarks: Roost and Dovecot side by side",
        "",
        "Generated by `make bench` (bench/report.py); do not edit by hand — rerun instead.",
        "",
        f"- **Date:** {now}",
        f"- **Machine:** {m['cores']} cores ({m.get('cpu', '?')}), {m.get('memory', '?')} RAM, "
        f"Linux {m['kernel']}, Python {m['python']}",
        f"- **Servers:** {servers}",
        f"- **Scale:** {plan.scale.name} (sizes and connection counts ÷{plan.scale.factor}); "
        f"{plan.repeats} repetitions, median reported; seed {plan.seed}; "
        f"device mix {plan.duration:g} s per run",
        f"- **Command:** `{command}`",
        f"- **Servers as started:** {started} (ports, data directory and user in the "
        "environment; see bench/servers.py)",
        "",
        "The ratio is how many times better that Roost is (Roost/Dovecot for rates, "
        "Dovecot/Roost for times and memory): above 1 Roost is ahead.",
        "",
        table(results, detail=False),
        "",
    ]
    out += _not_yet(results) + _misses(results) + _errors(results)
    if any(f.detail for f in results.figures.values()):
        out += ["## Details", "", table(results, detail=True), ""]
    out += _method(results, plan)
    return "\n".join(out) + "\n"


def _not_yet(results: Results) -> list[str]:
    out = []
    for server in roosts(results):
        notes = results.notes.get(server, {})
        if notes:
            out += [f"## Not yet measured for {server}", ""]
            out += [f"- {key}: {note}" for key, note in notes.items()]
            out.append("")
    return out


def _misses(results: Results) -> list[str]:
    out = []
    for server in roosts(results):
        keys = missed(results, server)
        if not keys:
            continue
        out += [f"## Where {server} misses its targets", ""]
        for key in keys:
            r = ratio(results, key, server)
            target = target_for(key)
            assert target is not None
            shown = f"{r:.2f}x" if r is not None else "—"
            out.append(
                f"- **{key}**: {server} {cell(results, server, key)} vs Dovecot "
                f"{cell(results, DOVECOT, key)} ({shown}); target {target.text}."
            )
        out.append("")
        if server == ROOST:
            out += _profiles(results)
    return out


def _profiles(results: Results) -> list[str]:
    out = []
    for scenario, profile in results.profiles.items():
        out += [
            f"### Profile of Roost during `{scenario}` (cProfile, all threads, by own time)",
            "",
            "```",
            profile.strip(),
            "```",
            "",
        ]
    return out


def _errors(results: Results) -> list[str]:
    if not results.errors:
        return []
    out = ["## Errors during the run", ""]
    for server, errors in results.errors.items():
        out += [f"- {server}: {e}" for e in errors]
    return [*out, ""]


METHOD = """\
## How to run

    make bench                      # full scale: 10k/100k mailboxes, 10,000 connections
    BENCH_SCALE=small make bench    # corpora and connection counts / 10, ~30 minutes
    make bench BENCH_ARGS="--scenario push --repeat 5"   # a subset
    make bench BENCH_SERVERS=dovecot,roost               # without Roost on PostgreSQL
    python -m bench compare --servers dovecot,roost,roost@<commit> ...
                                    # Roost as of <commit> beside today's, in one run
    python -m bench run --host H --port P --user U --password W --scenario devices
                                    # one scenario against any IMAP server
    make bench IMAPTEST=/path/to/imaptest BENCH_ARGS="--scenario stress"
                                    # Dovecot's imaptest stress (skipped without IMAPTEST)

`make bench-deps` installs Debian's dovecot-imapd, dovecot-lmtpd and postgresql when
missing. The
10,000-connection memory figure needs ~10,000 file descriptors in the bench and in each
server: the bench raises RLIMIT_NOFILE itself (to 65,536 as root, else to the hard limit);
as a non-root user raise the hard limit first (`ulimit -Hn 65536` as root, or limits.conf).
At full scale the memory scenario takes ~35 minutes for Dovecot, since each of its 10,000
logins is an Argon2id verification in one auth process (Roost verifies the password once
and remembers it).

## Method

- **One load generator for both** (`python -m bench`, asyncio, raw IMAP over loopback
  sockets), on the same machine as the servers, so client and server share the CPU cores.
- **Same data, same path.** Corpora are generated from fixed seeds (bench/corpus.py: 1-50 KB
  log-uniform, a third multipart/mixed with a base64 attachment, a third
  multipart/alternative, non-ASCII names and subjects as RFC 2047 encoded-words, threads with
  In-Reply-To/References) and loaded into both servers through IMAP MULTIAPPEND with the same
  INTERNALDATEs. No maildir files are written behind Dovecot's back.
- **Same password cost.** Every user has an Argon2id hash with Roost's parameters (m=64 MiB,
  t=3, p=4) in both servers; Dovecot reads it from a passwd-file (`{ARGON2ID}` scheme).
  Each server does with it what it does by default: Dovecot verifies every login in its
  auth process (its passdb cache is off by default, and when on it keeps the hash and
  verifies against it again); Roost remembers a successful verification for an hour (a
  keyed digest, README "Logins"), so a device that logs in again skips Argon2.
- **The clocks time the servers.** Messages are generated, and the ingest connections
  logged in, before a clock starts (ingest, LMTP, push), so the load generator's own work
  is not counted against either server.
- **Dovecot as Debian ships it**, with only what the loads need changed: loopback listeners,
  no TLS, plaintext auth, Maildir under the work directory, process and connection limits
  raised for 10,000 connections, `mail_max_userip_connections = 20000`. Default fsync
  behaviour (`mail_fsync = optimized`), no FTS plugin, no imap-hibernate. The
  configuration is below.
- **Limits.** The bench raises RLIMIT_NOFILE (inherited by both servers) and, as root,
  `fs.inotify.max_user_instances` for the run (Dovecot's IDLE takes one inotify instance per
  process; with Debian's 128 every further idler would fall back to 30 s polling); it is
  restored afterwards.
- **Cold** means right after a restart of the server with the page cache dropped
  (`/proc/sys/vm/drop_caches`, when running as root). *First ever* is the first FETCH of
  that mailbox since it was loaded: Dovecot then parses every message and fills its cache
  file; Roost computed ENVELOPE and BODYSTRUCTURE at delivery.
- **Memory** is the sum of VmRSS over the server's process tree (/proc); per connection is
  (RSS at the largest count - RSS at 0) / count. PSS (shared pages divided among the
  processes sharing them) is given beside it, since summing RSS over Dovecot's one process
  per connection counts shared libraries and mapped indexes once per process. For Roost on
  PostgreSQL it is the sum over its nodes; PostgreSQL's own processes (the postmaster and
  its backends) are measured at the same moments and given on their own rows.
- **Device mix**: 5 devices per account, each looping LOGIN, SELECT, then rounds of FETCH
  headers of new mail, FETCH a body, STORE flags, APPEND, STORE \\Deleted + UID EXPUNGE of
  its own message, IDLE (10 ms dwell); closed loop, no think time. Latency p50/p99 over all
  commands; per command in the details.
- **imaptest stress** (Dovecot's own load generator, bench/scenarios/stress.py): its
  default profile for the device-mix duration (`secs=`), `seed=1`, appending from the bench's
  corpus, as `users=100 clients=10`, `clients=50` and `clients=10 logout=0`; commands/s and
  ms per command from its `output=` rows, errors from its `Error:` lines, and the server's
  CPU time (every process of it) per command. The bench waits for each server to go idle
  before and after each load (Dovecot's auth process may still be verifying Argon2 hashes).
- **Push**: a writer changes INBOX while another connection idles on it: APPEND to EXISTS
  (200 trials), flag STORE to FETCH and UID EXPUNGE to EXPUNGE (50 each), timed from the
  moment the command is written to the untagged response; then one APPEND to many idlers.
- **Roost on PostgreSQL** (`--servers roost-pg,roost-pg2`): `roost serve` with
  `ROOST_DATABASE_URL` naming a database in a PostgreSQL cluster the bench starts in its
  work directory (Debian's package, its defaults: fsync and synchronous_commit on; Unix
  socket only), one cluster per kind. `roost-pg2` is two `roost serve` nodes on one
  database: device i connects to node i mod 2, and in push every idler listens on node 1
  while every change is written through node 2, so its push figures cross nodes
  (LISTEN/NOTIFY). These kinds run `--postgresql-scenarios` (by default the device mix and
  push). A restart (cold figures, memory) restarts the PostgreSQL cluster too.
"""


def _method(results: Results, plan: Plan) -> list[str]:
    out = [METHOD]
    if results.run_notes:
        out += ["Notes from this run:", "", *(f"- {n}" for n in sorted(results.run_notes)), ""]
    if results.load_seconds:
        out += ["Corpus loading (both servers at once, MULTIAPPEND):", ""]
        out += [f"- {name}: {seconds:.0f} s" for name, seconds in results.load_seconds.items()]
        out.append("")
    conf = results.environment.get("dovecot_conf")
    if conf:
        out += ["Dovecot configuration used:", "", "```", conf.strip(), "```", ""]
    return out


def write(results: Results, plan: Plan, command: str, path: Path) -> str:
    text = markdown(results, plan, command)
    path.write_text(text)
    return text
