"""imaptest's stress load (Dovecot's own IMAP load generator), issue 17: commands per second
and the average milliseconds per command, for the whole load and per command.

Three loads, each for `Context.duration` seconds (imaptest's `secs=`), seed 1, appending
messages from the bench's seeded corpus (`mbox=`):

- `users=100 clients=10`: ten clients, each logging in as one of 100 accounts at random,
  running a few commands, logging out and starting over (logins are part of the load);
- `clients=50`: fifty clients on one account, logging in and out likewise;
- `clients=10 logout=0`: ten long sessions on one account (no logins after the first).

imaptest writes a row per second to its `output=` file: for each command it ran, how many
completed, how many were timed and their total milliseconds. The figures come from those
rows (whole seconds only: the last partial second is left out for both servers alike), and
errors are imaptest's own `Error:` lines. imaptest is not part of this repository: the
binary is named by IMAPTEST (as for `make conformance`); without it the figures are "not
measured" with the reason, and the rest of the run goes on.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.conformance import count_commands, error_lines, imaptest_argv, imaptest_env, write_mbox
from bench.scenarios.base import Better, Context, Figure, Scenario, not_yet

ACCOUNTS = 100  # users=100: the accounts stress1 ... stress100
ROLE = "stress"  # the account of the one-account loads


@dataclass(frozen=True, slots=True)
class Load:
    label: str  # as the issue names it, and the figures' keys
    clients: int
    users: int = 1  # >1: user=stress%d@... users=N
    logout: bool = True

    def args(self) -> list[str]:
        out = [f"clients={self.clients}"]
        if self.users > 1:
            out.append(f"users={self.users}")
        if not self.logout:
            out.append("logout=0")
        return out


LOADS = (
    Load("users=100 clients=10", clients=10, users=ACCOUNTS),
    Load("clients=50", clients=50),
    Load("clients=10 logout=0", clients=10, logout=False),
)


def accounts(domain: str) -> dict[str, str]:
    """The roles (and addresses) `compare` makes on every server for this scenario."""
    roles = {f"{ROLE}{i}": f"{ROLE}{i}@{domain}" for i in range(1, ACCOUNTS + 1)}
    return {ROLE: f"{ROLE}@{domain}", **roles}


@dataclass
class Totals:
    """imaptest's `output=` rows summed: per command (imaptest's name), completed and
    timed counts and the milliseconds of the timed ones."""

    seconds: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    timed: dict[str, int] = field(default_factory=dict)
    msecs: dict[str, int] = field(default_factory=dict)

    @property
    def commands(self) -> int:
        return sum(self.counts.values())

    def per_second(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0

    def average_ms(self, command: str | None = None) -> float | None:
        names = [command] if command else list(self.timed)
        timed = sum(self.timed.get(n, 0) for n in names)
        return sum(self.msecs.get(n, 0) for n in names) / timed if timed else None


def parse_output(names: list[str], text: str) -> Totals:
    """imaptest's `output=` file: a header line, then per second three numbers (completed,
    timed, milliseconds) for each command it shows. `names` are those commands, in order:
    the file's own header may name more (it is written before imaptest drops COPY when
    there is no copy target), the rows never."""
    totals = Totals()
    for line in text.splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) != 3 * len(names) or not all(f.isdigit() for f in fields):
            continue  # a row cut short when imaptest was stopped
        totals.seconds += 1
        for i, name in enumerate(names):
            count, timed, msecs = (int(f) for f in fields[3 * i : 3 * i + 3])
            totals.counts[name] = totals.counts.get(name, 0) + count
            totals.timed[name] = totals.timed.get(name, 0) + timed
            totals.msecs[name] = totals.msecs.get(name, 0) + msecs
    return totals


# imaptest's four-letter column heads (stdout) -> its command names (the output file).
SHORT = {
    "Logi": "LOGIN",
    "List": "LIST",
    "Stat": "STATUS",
    "Sele": "SELECT",
    "Fetc": "FETCH",
    "Fet2": "FETCH2",
    "Copy": "COPY",
    "Stor": "STORE",
    "Dele": "DELETE",
    "Expu": "EXPUNGE",
    "Appe": "APPEND",
    "Logo": "LOGOUT",
    "Noop": "NOOP",
    "Sear": "SEARCH",
    "UIDF": "UIDFETCH",
}


def shown_commands(stdout: str) -> list[str]:
    """The commands imaptest counts, from the first line of its stdout (the column heads)."""
    first = stdout.splitlines()[0] if stdout.strip() else ""
    return [SHORT.get(head, head) for head in first.split()]


@dataclass
class Outcome:
    totals: Totals
    errors: list[str]
    commands: int = 0  # every command imaptest completed (its Totals row)
    cpu_seconds: float | None = None  # the server's, for the whole load


def run_imaptest(
    imaptest: str, host: str, port: int, user: str, password: str, load: Load, seconds: int
) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="roost-stress-") as tmp:
        mbox, output = Path(tmp, "stress.mbox"), Path(tmp, "rows.tsv")
        write_mbox(mbox)
        argv = imaptest_argv(
            imaptest,
            host,
            port,
            user,
            password,
            f"mbox={mbox}",
            *load.args(),
            f"secs={seconds}",
            "seed=1",
            f"output={output}",
        )
        done = subprocess.run(
            argv, capture_output=True, timeout=seconds + 120, env=imaptest_env(), check=False
        )
        stdout = done.stdout.decode("utf-8", "replace")
        text = output.read_text() if output.exists() else ""
    lines = (done.stderr.decode("utf-8", "replace") + stdout).splitlines()
    totals = parse_output(shown_commands(stdout), text)
    errors = error_lines(lines)
    if done.returncode != 0 and not errors:
        errors = [f"imaptest exited with {done.returncode}", *lines[-3:]]
    return Outcome(totals, errors, count_commands(lines))


def find_imaptest() -> str | None:
    return shutil.which(os.environ.get("IMAPTEST") or "imaptest")


def figures(load: Load, outcome: Outcome) -> list[Figure]:
    key, t = f"imaptest stress {load.label}", outcome.totals
    out = [
        Figure(f"{key}: commands/s", t.per_second(), "cmd/s", "higher"),
        Figure(f"{key}: ms per command", t.average_ms(), "ms", "lower"),
        Figure(f"{key}: errors", float(len(outcome.errors)), "", "lower"),
    ]
    if outcome.cpu_seconds is not None and outcome.commands:
        # What a command costs the server, whatever the machine's other load: CPU time of
        # every process of the server (Dovecot's auth, imap and master alike), per command.
        cpu = 1000 * outcome.cpu_seconds / outcome.commands
        out.append(Figure(f"{key}: server CPU ms per command", cpu, "ms", "lower", detail=True))
    out += [
        Figure(f"{key}: {name} ms", t.average_ms(name), "ms", "lower", detail=True)
        for name in t.timed
        if t.timed[name]  # a command imaptest never timed in this run has no figure
    ]
    return out


def user_for(ctx: Context, load: Load) -> str | None:
    """imaptest's user= (a template with %d for users=N), or None when the context has no
    such accounts (`python -m bench run` names one user)."""
    if load.users == 1:
        return ctx.user(ROLE)
    first = ctx.users.get(f"{ROLE}1")
    if first is None or f"{ROLE}{load.users}" not in ctx.users:
        return None
    return first.replace(f"{ROLE}1@", f"{ROLE}%d@", 1)


async def run(ctx: Context, rep: int) -> list[Figure]:
    imaptest = find_imaptest()
    kinds: list[tuple[str, str, Better]] = [
        ("commands/s", "cmd/s", "higher"),
        ("ms per command", "ms", "lower"),
        ("errors", "", "lower"),
    ]
    keys = [
        (f"imaptest stress {load.label}: {what}", unit, better)
        for load in LOADS
        for what, unit, better in kinds
    ]
    if imaptest is None:
        why = "not measured: no imaptest binary (set IMAPTEST=/path/to/imaptest)"
        print(f"stress: skipped, {why}", flush=True)
        return not_yet(keys, why)
    out: list[Figure] = []
    for i, load in enumerate(LOADS):
        user = user_for(ctx, load)
        if user is None:
            why = f"not measured: needs the accounts {ROLE}1 ... {ROLE}{load.users}"
            out += not_yet(keys[3 * i : 3 * i + 3], why)
            continue
        await settle(ctx)
        cpu = ctx.server.cpu_seconds() if ctx.server is not None else None
        outcome = await asyncio.to_thread(
            run_imaptest,
            imaptest,
            ctx.host,
            ctx.port,
            user,
            ctx.password,
            load,
            max(1, round(ctx.duration)),
        )
        await settle(ctx)
        if ctx.server is not None and cpu is not None:
            outcome.cpu_seconds = ctx.server.cpu_seconds() - cpu
        t = outcome.totals
        print(
            f"  {load.label}: {t.per_second():.0f} cmd/s, "
            f"{t.average_ms() or 0:.1f} ms/cmd, {len(outcome.errors)} errors",
            flush=True,
        )
        out += figures(load, outcome)
    return out


async def settle(ctx: Context, limit: float = 120.0) -> None:
    """Waits (up to `limit` seconds) until the server is idle, below a tenth of a core for a
    second: Dovecot's auth process may still be verifying the Argon2 hashes of logins that
    imaptest gave up on at its end, and that work must not be counted against the next load
    or the next server."""
    server = ctx.server
    if server is None or not server.running():
        return
    started = time.monotonic()
    used = server.cpu_seconds()
    while time.monotonic() - started < limit:
        await asyncio.sleep(1.0)
        used, before = server.cpu_seconds(), used
        if used - before < 0.1:
            break
    waited = time.monotonic() - started
    if waited > 1.5:
        print(f"  ({server.name} was busy for {waited:.0f} s after imaptest ended)", flush=True)


SCENARIO = Scenario("stress", run)
