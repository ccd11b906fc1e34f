"""Dovecot's imaptest against Roost and Dovecot, side by side (`make conformance`).

python -m bench.conformance --imaptest PATH --tests DIR [--output CONFORMANCE.md]

Theory of operation. Both servers start on loopback in one temporary directory
(bench/servers.py, as for `make bench`). Then, for each server:

- every scripted group of imaptest's tests directory (each file that is not an `.mbox` and
  not a directory) runs in its own imaptest process, as a user made for that group alone,
  under a timeout; imaptest's own summary line says whether the group failed or was skipped
  for a missing capability;
- the checked stress test (`checkpoint=1`: imaptest tracks the state of the mailbox and checks
  every response against it) runs for `--stress-seconds` with each client count, as a fresh
  user, appending messages from a generated mbox; each `Error:` line imaptest logs counts.

imaptest is not ours and is never committed: its binary and tests directory are given by the
caller. The table is printed and written into the output file with the date and the commands;
the file's hand-written "## Notes" section, if it has one, is kept.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.corpus import Corpus
from bench.servers import PASSWORD, DovecotServer, RoostServer, Server

SUMMARY = re.compile(rb"(\d+) test groups: (\d+) failed, (\d+) skipped")
COMMANDS = re.compile(rb"(?m)^(?:base protocol|extensions): \d+/(\d+) individual commands")
DOVECOT_LIBS = "/usr/lib/dovecot"  # imaptest links against libdovecot.so, which lives here

# Where an RFC and imaptest disagree, Roost follows the RFC; the group is listed here with the
# section, and the table shows it apart from the failures.
EXPECTED: dict[str, str] = {
    "notify": "RFC 5465 §5: MessageExpunge without MessageNew is BAD; imaptest expects OK",
}


@dataclass
class GroupResult:
    name: str
    outcome: str  # "pass", "fail", "skip", "timeout"
    detail: str = ""


@dataclass
class StressResult:
    clients: int
    seconds: int
    errors: int  # imaptest's "Error:" lines: state checks that failed
    commands: int  # commands imaptest completed (its "Totals" line)
    panic: str = ""  # imaptest's own assertion, if it stopped on one
    first_errors: list[str] = field(default_factory=list)


@dataclass
class ServerResults:
    name: str
    groups: list[GroupResult] = field(default_factory=list)
    stress: list[StressResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for g in self.groups if g.outcome == outcome)

    def failed(self) -> list[GroupResult]:
        return [g for g in self.groups if g.outcome in ("fail", "timeout")]

    def unexpected(self) -> list[GroupResult]:
        """Failures, but not the groups listed in EXPECTED (RFC over imaptest)."""
        return [g for g in self.failed() if g.name not in EXPECTED]


def groups(tests: Path) -> list[Path]:
    return sorted(
        p for p in tests.iterdir() if p.is_file() and p.suffix != ".mbox" and p.name[0] != "."
    )


def imaptest_env() -> dict[str, str]:
    env = dict(os.environ)
    if Path(DOVECOT_LIBS, "libdovecot.so.0").exists():
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            filter(None, [DOVECOT_LIBS, env.get("LD_LIBRARY_PATH")])
        )
    return env


def imaptest_argv(
    imaptest: str, host: str, port: int, user: str, password: str, *extra: str
) -> list[str]:
    return [imaptest, f"host={host}", f"port={port}", f"user={user}", f"pass={password}", *extra]


def error_lines(lines: list[str]) -> list[str]:
    """imaptest's `Error:` and `Fatal:` lines (without the backtrace lines of a panic)."""
    return [
        line
        for line in lines
        if line.startswith(("Error:", "Fatal:")) and not line.startswith("Error: Raw backtrace")
    ]


def run_group(imaptest: str, server: Server, group: Path, user: str, timeout: float) -> GroupResult:
    argv = imaptest_argv(imaptest, server.host, server.port, user, PASSWORD, f"test={group}")
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=timeout, env=imaptest_env(), check=False
        )
    except subprocess.TimeoutExpired as exc:
        output = (exc.stderr or b"") + (exc.stdout or b"")
        return GroupResult(group.name, "timeout", _tail(output))
    match = SUMMARY.search(done.stdout)
    if match is None:
        return GroupResult(group.name, "fail", _tail(done.stderr + done.stdout))
    failed, skipped = int(match[2]), int(match[3])
    if failed:
        return GroupResult(group.name, "fail", _tail(done.stderr))
    # A group whose capabilities the server lacks runs no command at all; imaptest does not
    # always count it as skipped.
    ran = sum(int(n) for n in COMMANDS.findall(done.stdout))
    return GroupResult(group.name, "skip" if skipped or not ran else "pass")


def run_stress(
    imaptest: str, server: Server, user: str, mbox: Path, clients: int, seconds: int
) -> StressResult:
    argv = imaptest_argv(
        imaptest,
        server.host,
        server.port,
        user,
        PASSWORD,
        f"mbox={mbox}",
        "checkpoint=1",
        f"clients={clients}",
        f"secs={seconds}",
        "seed=1",
    )
    # Line-buffered, so the counters printed before an abort are not lost with the buffer.
    if shutil.which("stdbuf"):
        argv = ["stdbuf", "-oL", *argv]
    done = subprocess.run(
        argv, capture_output=True, timeout=seconds + 120, env=imaptest_env(), check=False
    )
    lines = [line.decode("utf-8", "replace") for line in (done.stderr + done.stdout).splitlines()]
    errors = error_lines(lines)
    panic = next((line for line in lines if line.startswith("Panic:")), "")
    return StressResult(clients, seconds, len(errors), count_commands(lines), panic, errors[:5])


def count_commands(lines: list[str]) -> int:
    """The sum of the per-second counter rows imaptest prints (a row of numbers and then
    "n/ m" connected clients), or of its Totals row when it got that far."""
    if "Totals:" in lines:
        after = lines[lines.index("Totals:") + 1 :]
        rows = [line.split() for line in after if line.split() and line.replace(" ", "").isdigit()]
        return sum(int(n) for n in rows[0]) if rows else 0
    total = 0
    for line in lines:
        head, _, clients = line.rpartition("  ")
        fields = head.split()
        if fields and all(f.isdigit() for f in fields) and "/" in clients:
            total += sum(int(f) for f in fields)
    return total


def _tail(output: bytes, lines: int = 12) -> str:
    text = output.decode("utf-8", "replace").strip().splitlines()
    return "\n".join(text[:lines])


def write_mbox(path: Path, count: int = 200) -> None:
    """imaptest's stress test APPENDs messages read from an mbox; these come from the
    benchmarks' seeded corpus."""
    corpus = Corpus(seed=11, count=count, domain="conformance.test")
    with path.open("wb") as f:
        for i in range(count):
            body = corpus.message(i).replace(b"\r\n", b"\n")
            body = re.sub(rb"(?m)^(>*From )", rb">\1", body)
            f.write(b"From sender@conformance.test Thu Jan  1 00:00:00 2024\n")
            f.write(body.rstrip(b"\n") + b"\n\n")


def user_for(n: int, label: str) -> str:
    return f"t{n}-{re.sub(r'[^a-z0-9]', '', label.lower())}@localhost"


@dataclass(frozen=True)
class Options:
    imaptest: str
    tests: Path
    timeout: float
    stress_seconds: int
    clients: tuple[int, ...]
    only: tuple[str, ...]
    servers: tuple[str, ...]


def run(options: Options, workdir: Path) -> list[ServerResults]:
    made: dict[str, Server] = {
        "roost": RoostServer(workdir / "roost"),
        "dovecot": DovecotServer(workdir / "dovecot"),
    }
    servers = [made[name] for name in options.servers]
    mbox = workdir / "stress.mbox"
    write_mbox(mbox)
    results = [ServerResults(s.name) for s in servers]
    selected = [g for g in groups(options.tests) if not options.only or g.name in options.only]
    stress = options.clients if options.stress_seconds else ()
    labels = [g.name for g in selected] + [f"stress{c}" for c in stress]
    users = [user_for(n, label) for n, label in enumerate(labels, 1)]
    # Every account is made before the servers start: Dovecot reads its passwd-file again
    # only when its modification time changes, so one written within the same second as the
    # previous one might be missed.
    with _running(servers, users):
        for group, user in zip(selected, users, strict=False):
            for server, result in zip(servers, results, strict=True):
                outcome = run_group(options.imaptest, server, group, user, options.timeout)
                result.groups.append(outcome)
                _progress(f"{server.name:8} {group.name:32} {outcome.outcome}")
        for clients, user in zip(stress, users[len(selected) :], strict=True):
            for server, result in zip(servers, results, strict=True):
                outcome_s = run_stress(
                    options.imaptest, server, user, mbox, clients, options.stress_seconds
                )
                result.stress.append(outcome_s)
                _progress(f"{server.name:8} stress, {clients} clients: {_stress_text(outcome_s)}")
    return results


class _running:
    def __init__(self, servers: list[Server], users: list[str]) -> None:
        self.servers = servers
        self.users = users

    def __enter__(self) -> None:
        for server in self.servers:
            server.workdir.mkdir(parents=True, exist_ok=True)
            # Dovecot's auth and mail processes run as other users when we are root.
            server.workdir.parent.chmod(0o755)
            server.workdir.chmod(0o755)
            if isinstance(server, DovecotServer):
                server.write_config()
                _plain_passwords(server, self.users)
            elif isinstance(server, RoostServer):
                server.data_dir.mkdir(parents=True, exist_ok=True)
                server.add_users(self.users)
            server.start()

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.stop()


def _plain_passwords(server: DovecotServer, users: list[str]) -> None:
    """Dovecot's users with {PLAIN} passwords. The benchmarks give both servers the same
    Argon2id hash, but Dovecot hashes at every login while Roost remembers a recent one:
    imaptest's stress clients log in over and over, and under Argon2 Dovecot would run a
    tenth of the commands Roost runs in the same 30 seconds."""
    with server.passwd.open("a") as f:
        for address in users:
            f.write(f"{address}:{{PLAIN}}{PASSWORD}::::::\n")


def _stress_text(s: StressResult) -> str:
    text = f"{s.errors} errors in {s.commands} commands"
    return text + (f" (imaptest stopped: {s.panic})" if s.panic else "")


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def report(results: list[ServerResults], options: Options, argv: list[str]) -> str:
    lines = [
        "# Conformance: imaptest against Roost and Dovecot",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `make conformance`, that is "
        f"`python -m bench.conformance {shlex.join(argv)}`.",
        "",
        "imaptest comes from the dovecot/imaptest repository, branch release-2.3, built by hand "
        "against Debian's dovecot-dev; the runner is `bench/conformance.py`. Each scripted "
        "group runs in its own imaptest process as a fresh user "
        f"(`imaptest host=… port=… user=… pass=… test=<group>`, timeout {options.timeout:g} s); "
        "the checked stress test runs as "
        f"`imaptest … mbox=<generated> checkpoint=1 clients=N secs={options.stress_seconds} "
        "seed=1`.",
        "",
        "| server | groups | passed | failed | expected differences | skipped | "
        + " | ".join(f"stress errors, {c} clients" for c in options.clients)
        + " |",
        "|---" * (6 + len(options.clients)) + "|",
    ]
    for r in results:
        stress = [
            f"{s.errors} in {s.commands} commands" + (" (imaptest panicked)" if s.panic else "")
            for s in r.stress
        ] + ["-"] * (len(options.clients) - len(r.stress))
        lines.append(
            f"| {r.name} | {len(r.groups)} | {r.count('pass')} | {len(r.unexpected())} "
            f"| {len(r.failed()) - len(r.unexpected())} | {r.count('skip')} | "
            + " | ".join(stress)
            + " |"
        )
    lines += ["", "## Groups that did not pass", ""]
    names = [g.name for g in results[0].groups] if results else []
    rows = []
    for i, name in enumerate(names):
        outcomes = [r.groups[i].outcome for r in results]
        if any(o != "pass" for o in outcomes):
            note = EXPECTED.get(name, "")
            rows.append(f"| {name} | " + " | ".join(outcomes) + f" | {note} |")
    if rows:
        lines.append(
            "| group | " + " | ".join(r.name for r in results) + " | expected difference |"
        )
        lines.append("|---" * (len(results) + 2) + "|")
        lines += rows
    else:
        lines.append("None.")
    lines += ["", "## Expected differences", ""]
    lines += [f"- `{name}`: {why}." for name, why in EXPECTED.items()]
    details = [(r.name, g) for r in results for g in r.failed() if g.detail]
    if details:
        lines += ["", "## Failure details (first lines of imaptest's output)", ""]
        for server, g in details:
            lines += [f"### {server}: {g.name}", "", "```", g.detail, "```", ""]
    stress_errors = [(r.name, s) for r in results for s in r.stress if s.first_errors or s.panic]
    if stress_errors:
        lines += ["", "## First stress errors", ""]
        for server, s in stress_errors:
            shown = [*s.first_errors, *([s.panic] if s.panic else [])]
            lines += [f"### {server}, {s.clients} clients", "", "```", *shown, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


NOTES = "## Notes"


def _kept_notes(path: Path) -> str:
    """The hand-written part of the file (from its "## Notes" heading on), which a new run
    keeps: what the figures mean, and where they stood before."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return ""
    at = text.find("\n" + NOTES + "\n")
    return "\n" + text[at + 1 :] if at >= 0 else ""


def summary(results: list[ServerResults]) -> Iterator[str]:
    for r in results:
        stress = ", ".join(f"{s.clients} clients: {_stress_text(s)}" for s in r.stress)
        yield (
            f"{r.name}: {len(r.groups)} groups, {r.count('pass')} passed, {len(r.unexpected())} "
            f"failed, {len(r.failed()) - len(r.unexpected())} expected differences, "
            f"{r.count('skip')} skipped; stress {stress or 'not run'}"
        )
        for g in r.failed():
            yield f"  failed: {g.name}" + (" (expected difference)" if g.name in EXPECTED else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.conformance", description=__doc__)
    parser.add_argument("--imaptest", required=True, help="the imaptest binary")
    parser.add_argument("--tests", type=Path, required=True, help="imaptest's src/tests")
    parser.add_argument("--output", type=Path, help="write the report here (CONFORMANCE.md)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per group")
    parser.add_argument("--stress-seconds", type=int, default=30, help="0 skips the stress test")
    parser.add_argument("--clients", type=int, action="append", help="stress clients (10, 50)")
    parser.add_argument("--group", action="append", default=[], help="only this group")
    parser.add_argument("--server", action="append", choices=["roost", "dovecot"])
    parser.add_argument("--workdir", type=Path, help="keep the servers' data here")
    args = parser.parse_args(argv)
    options = Options(
        imaptest=args.imaptest,
        tests=args.tests,
        timeout=args.timeout,
        stress_seconds=args.stress_seconds,
        clients=tuple(args.clients or (10, 50)),
        only=tuple(args.group),
        servers=tuple(args.server or ("roost", "dovecot")),
    )
    # A SIGTERM (a timeout, a Ctrl-C from make) still stops both servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    started = time.monotonic()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        results = run(options, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="roost-conformance-") as tmp:
            results = run(options, Path(tmp))
    for line in summary(results):
        print(line)
    print(f"({time.monotonic() - started:.0f} s)")
    if args.output is not None:
        given = sys.argv[1:] if argv is None else argv
        args.output.write_text(report(results, options, given) + _kept_notes(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
