"""The table (figure, Dovecot, Roost, ratio, target) and BENCHMARKS.md.

The ratio is always "how many times better Roost is": Roost/Dovecot for figures where
higher is better (messages/s), Dovecot/Roost where lower is better (ms, KiB). Above 1
Roost is ahead, below 1 it is behind.
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


@dataclass(frozen=True, slots=True)
class Target:
    pattern: str  # regular expression on the figure key
    text: str
    met: Callable[[float | None, float, Results, str], bool]  # (ratio, roost value, all, key)


def _flat(ratio: float | None, roost: float, results: Results, key: str) -> bool:
    """Resync ≥ 3x Dovecot, and the largest mailbox no slower than 1.5x the smallest."""
    sizes = [k for k in results.figures if k.startswith(key.rsplit(",", 1)[0] + ",")]
    values = [v for k in sizes if (v := results.value(ROOST, k)) is not None]
    return ratio is not None and ratio >= 3 and max(values) <= 1.5 * min(values)


def _at_least(x: float) -> Callable[[float | None, float, Results, str], bool]:
    return lambda ratio, roost, results, key: ratio is not None and ratio >= x


TARGETS = [
    Target(r"^push latency .*: median$", "< 5 ms", lambda r, roost, res, k: roost < 5),
    Target(r"^memory per idle connection", "≤ 1/20 of Dovecot (≥ 20x)", _at_least(20)),
    Target(r"^resync ", "≥ 3x and flat 10k→100k", _flat),
    Target(r"^SEARCH TEXT", "≥ 30x", _at_least(30)),
    Target(r"^initial sync .*: (cold|first ever)$", "≥ 10x", _at_least(10)),
    Target(r"^initial sync .*: warm$", "≥ 1x (equal)", _at_least(1)),
    Target(r"^ingest .*, 1 connection$", "≥ 1x (equal)", _at_least(1)),
    Target(r"^ingest .*, 10 connections$", "≥ 3x", _at_least(3)),
    Target(r"^device mix.*: commands/s$", "≥ 1.5x", _at_least(1.5)),
    Target(r"^device mix.*: p99 latency", "≥ 1x (no worse)", _at_least(1)),
]


def target_for(key: str) -> Target | None:
    return next((t for t in TARGETS if re.search(t.pattern, key)), None)


def ratio(results: Results, key: str) -> float | None:
    d, r = results.value(DOVECOT, key), results.value(ROOST, key)
    if d is None or r is None or d <= 0 or r <= 0:
        return None
    return r / d if results.figures[key].better == "higher" else d / r


def verdict(results: Results, key: str) -> str:
    target = target_for(key)
    roost = results.value(ROOST, key)
    if target is None:
        return ""
    if roost is None:
        return "not yet"
    return "met" if target.met(ratio(results, key), roost, results, key) else "**MISSED**"


def missed(results: Results) -> list[str]:
    return [k for k in results.figures if verdict(results, k) == "**MISSED**"]


def missed_scenarios(results: Results) -> set[str]:
    return {results.scenario_of[k] for k in missed(results)}


def cell(results: Results, server: str, key: str) -> str:
    value = results.value(server, key)
    if value is None:
        note = results.notes.get(server, {}).get(key, "")
        return "not yet" if note.startswith("not yet") else (note or "error")
    unit = results.figures[key].unit
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f} {unit}".strip()


def table(results: Results, *, detail: bool) -> str:
    head = ["| figure | Dovecot | Roost | ratio (x better) |"]
    if not detail:
        head = ["| figure | Dovecot | Roost | ratio (x better) | target | verdict |"]
    head.append("|" + "---|" * (head[0].count("|") - 1))
    rows = []
    for key, figure in results.figures.items():
        if figure.detail != detail:
            continue
        r = ratio(results, key)
        cells = [key, cell(results, DOVECOT, key), cell(results, ROOST, key)]
        cells.append(f"{r:.2f}x" if r is not None else "—")
        if not detail:
            target = target_for(key)
            cells += [target.text if target else "", verdict(results, key)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(head + rows)


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
    info["roost"] = _output(["git", "rev-parse", "--short", "HEAD"]) + (
        " (with uncommitted changes)" if _output(["git", "status", "--porcelain", "src"]) else ""
    )
    return info


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
    out = [
        "# Benchmarks: Roost and Dovecot side by side",
        "",
        "Generated by `make bench` (bench/report.py); do not edit by hand — rerun instead.",
        "",
        f"- **Date:** {now}",
        f"- **Machine:** {m['cores']} cores ({m.get('cpu', '?')}), {m.get('memory', '?')} RAM, "
        f"Linux {m['kernel']}, Python {m['python']}",
        f"- **Servers:** Dovecot {m['dovecot']} (Debian package); Roost {m['roost']}",
        f"- **Scale:** {plan.scale.name} (sizes and connection counts ÷{plan.scale.factor}); "
        f"{plan.repeats} repetitions, median reported; seed {plan.seed}; "
        f"device mix {plan.duration:g} s per run",
        f"- **Command:** `{command}`",
        f"- **Servers as started:** `{results.environment.get('dovecot_command', '')}` and "
        f"`{results.environment.get('roost_command', '')}` (ports, data directory and user "
        "in the environment; see bench/servers.py)",
        "",
        "The ratio is how many times better Roost is (Roost/Dovecot for rates, Dovecot/Roost "
        "for times and memory): above 1 Roost is ahead.",
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
    notes = results.notes.get(ROOST, {})
    if not notes:
        return []
    out = ["## Not yet measured for Roost", ""]
    out += [f"- {key}: {note}" for key, note in notes.items()]
    return [*out, ""]


def _misses(results: Results) -> list[str]:
    keys = missed(results)
    if not keys:
        return []
    out = ["## Where Roost misses its targets", ""]
    for key in keys:
        r = ratio(results, key)
        target = target_for(key)
        assert target is not None
        shown = f"{r:.2f}x" if r is not None else "—"
        out.append(
            f"- **{key}**: Roost {cell(results, ROOST, key)} vs Dovecot "
            f"{cell(results, DOVECOT, key)} ({shown}); target {target.text}."
        )
    out.append("")
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
    BENCH_SCALE=small make bench    # corpora and connection counts / 10, ~20 minutes
    make bench BENCH_ARGS="--scenario push --repeat 5"   # a subset
    python -m bench run --host H --port P --user U --password W --scenario devices
                                    # one scenario against any IMAP server

`make bench-deps` installs Debian's dovecot-imapd and dovecot-lmtpd when missing. The
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
  per connection counts shared libraries and mapped indexes once per process.
- **Device mix**: 5 devices per account, each looping LOGIN, SELECT, then rounds of FETCH
  headers of new mail, FETCH a body, STORE flags, APPEND, STORE \\Deleted + UID EXPUNGE of
  its own message, IDLE (10 ms dwell); closed loop, no think time. Latency p50/p99 over all
  commands; per command in the details.
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
