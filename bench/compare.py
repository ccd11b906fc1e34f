"""`python -m bench compare`: the servers, one corpus, every scenario, one table.

Theory of operation
-------------------
1. Start the servers named by `--servers` (by default Dovecot and Roost on SQLite; `make
   bench` adds Roost on PostgreSQL with one node and with two), each in its own directory
   under the work directory, and add the same users with the same password (and the same
   Argon2id parameters) to all.
2. Load the corpora into all through the same path: IMAP APPEND (MULTIAPPEND batches of
   50, with the INTERNALDATE of each message), from one seeded generator whose output is
   sent to every server, so all hold byte-identical mailboxes. No server gets a private
   shortcut (no maildir files written behind Dovecot's back).
3. Run every scenario `repeats` times against each server, reversing the order of the
   servers every other time, and keep the median of each figure. The PostgreSQL kinds run
   only `postgresql_scenarios` (by default the device mix and push), and get only the
   corpora those need.
4. Where Roost (on SQLite) misses a target, optionally run that scenario once more against
   it under cProfile and keep the top of the profile for the report.
"""

from __future__ import annotations

import asyncio
import math
import pstats
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

from bench.corpus import Corpus
from bench.imapclient import ImapClient
from bench.scenarios import SCENARIOS, stress
from bench.scenarios.base import Context, Figure, Scale, median
from bench.scenarios.devices import DEVICES_PER_ACCOUNT, counts
from bench.servers import (
    PASSWORD,
    REPO,
    DovecotServer,
    PostgresRoost,
    RoostServer,
    Server,
    inotify_instances,
    raise_fd_limit,
)

DOMAIN = "bench.test"
BATCH = 50
# --servers: the kinds of server; "roost@<commit>" is Roost as of that commit (on SQLite).
KINDS = ("dovecot", "roost", "roost-w2", "roost-pg", "roost-pg2")
DEFAULT_KINDS = ("dovecot", "roost")
POSTGRESQL_KINDS = ("roost-pg", "roost-pg2")
POSTGRESQL_SCENARIOS = ("devices", "push")


@dataclass
class Plan:
    scale: Scale
    repeats: int
    seed: int
    duration: float
    scenarios: list[str]
    workdir: Path | None
    profile_misses: bool = True
    drop_caches: bool = True
    servers: list[str] = field(default_factory=lambda: list(DEFAULT_KINDS))
    postgresql_scenarios: list[str] | None = field(
        default_factory=lambda: list(POSTGRESQL_SCENARIOS)
    )  # None: every scenario

    def runs(self, kind: str, scenario: str) -> bool:
        """Whether the server of this kind runs this scenario."""
        if scenario not in self.scenarios:
            return False
        wanted = self.postgresql_scenarios
        return kind not in POSTGRESQL_KINDS or wanted is None or scenario in wanted


def check_kind(kind: str) -> str:
    """`--servers` validation: a known kind, or roost@<commit>."""
    if kind in KINDS or (kind.startswith("roost@") and len(kind) > len("roost@")):
        return kind
    raise ValueError(f"unknown server kind {kind!r} (known: {', '.join(KINDS)}, roost@<commit>)")


def make_server(kind: str, base: Path) -> Server:
    if kind == "dovecot":
        return DovecotServer(base / "dovecot")
    if kind == "roost":
        return RoostServer(base / "roost")
    if kind == "roost-w2":
        return RoostServer(base / kind, name="Roost 2 workers", workers=2)
    if kind in POSTGRESQL_KINDS:
        return PostgresRoost(base / kind, nodes=1 if kind == "roost-pg" else 2)
    commit = kind.split("@", 1)[1]
    return RoostServer(base / kind, name=f"Roost {commit}", source=extract(commit, base))


def extract(commit: str, base: Path) -> Path:
    """Roost's source as of `commit` (git archive of src/), for a before/after run."""
    target = base / f"source-{commit}"
    if not (target / "src" / "roost").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", REPO, "archive", commit, "src"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


@dataclass
class Results:
    """Per server name: figure key -> samples; plus the last Figure seen for each key."""

    servers: list[str] = field(default_factory=list)  # names, in the order of --servers
    commands: dict[str, str] = field(default_factory=dict)  # name -> how it was started
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    scenario_of: dict[str, str] = field(default_factory=dict)  # figure key -> scenario
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # server -> key -> note
    errors: dict[str, list[str]] = field(default_factory=dict)  # server -> failures
    profiles: dict[str, str] = field(default_factory=dict)  # scenario -> top of profile
    load_seconds: dict[str, float] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    run_notes: set[str] = field(default_factory=set)  # from Context.notes

    def add(self, server: str, scenario: str, figures: list[Figure]) -> None:
        for f in figures:
            self.figures.setdefault(f.key, f)
            self.scenario_of[f.key] = scenario
            if f.value is None or math.isnan(f.value):
                self.notes.setdefault(server, {})[f.key] = f.note or "not measured"
            else:
                self.samples.setdefault(server, {}).setdefault(f.key, []).append(f.value)

    def value(self, server: str, key: str) -> float | None:
        values = self.samples.get(server, {}).get(key)
        return median(values) if values else None


# --- the users and their mailboxes -------------------------------------------------------
def users(scale: Scale, scenarios: list[str] | None = None) -> dict[str, str]:
    accounts = math.ceil(max(counts_for(scale)) / DEVICES_PER_ACCOUNT)
    roles = ["big", "push", "ping", "idle", "ingest", "lmtp", *(f"mix{i}" for i in range(accounts))]
    made = {role: f"{role}@{DOMAIN}" for role in roles}
    if scenarios is None or "stress" in scenarios:
        made.update(stress.accounts(DOMAIN))  # imaptest's users=100 logs in as stress1..100
    return made


def counts_for(scale: Scale) -> list[int]:
    return counts(Context("", 0, "", scale, {}, {}))


def label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 and n >= 1000 else str(n)


def big_mailboxes(scale: Scale) -> dict[str, tuple[str, int]]:
    """Size label -> (mailbox name, message count) in the "big" account."""
    sizes = [scale.n(10_000), scale.n(100_000)]
    return {label(n): (f"Sync-{label(n)}", n) for n in sizes}


def loads(plan: Plan, roles: dict[str, str]) -> list[tuple[str, str, Corpus, set[str]]]:
    """(role, mailbox, corpus, the scenarios that need it) for what the chosen scenarios
    need loaded before they run."""
    scale, seed, wanted = plan.scale, plan.seed, set(plan.scenarios)
    out: list[tuple[str, str, Corpus, set[str]]] = []
    if big := wanted & {"sync", "search", "resync"}:
        for i, (name, n) in enumerate(big_mailboxes(scale).values()):
            out.append(("big", name, Corpus(seed + i, n), big))
    if "devices" in wanted:
        for i, role in enumerate(r for r in roles if r.startswith("mix")):
            corpus = Corpus(seed + 100 + i, scale.n(1000, minimum=100))
            out.append((role, "INBOX", corpus, {"devices"}))
    if "memory" in wanted:
        out.append(("idle", "INBOX", Corpus(seed + 200, 100), {"memory"}))
    return out


# --- loading -----------------------------------------------------------------------------
async def load(servers: list[Server], address: str, mailbox: str, corpus: Corpus) -> None:
    """Appends the corpus to `mailbox` on every server; skips servers that already hold it."""
    clients: list[ImapClient] = []
    for server in servers:
        client = await ImapClient.login(server.host, server.port, address, PASSWORD)
        if mailbox != "INBOX":
            await client.command(f'CREATE "{mailbox}"', check=False)
        status = await client.command(f'STATUS "{mailbox}" (MESSAGES)')
        have = int(status.untagged[0].rsplit(b"MESSAGES", 1)[1].strip(b" )"))
        if have == 0:
            clients.append(client)
        elif have != len(corpus):
            raise RuntimeError(
                f"{server.name} {address} {mailbox}: {have} messages, not {len(corpus)}"
            )
        else:
            await client.logout()
    if not clients:
        return
    queues: list[asyncio.Queue[tuple[str, list[bytes]] | None]] = [
        asyncio.Queue(maxsize=4) for _ in clients
    ]

    async def produce() -> None:
        for start in range(0, len(corpus), BATCH):
            indexes = range(start, min(start + BATCH, len(corpus)))
            text = f'APPEND "{mailbox}"' + "".join(
                f" {corpus.internaldate(i)} {{}}" for i in indexes
            )
            literals = [corpus.message(i) for i in indexes]
            for queue in queues:
                await queue.put((text, literals))
        for queue in queues:
            await queue.put(None)

    async def consume(
        client: ImapClient, queue: asyncio.Queue[tuple[str, list[bytes]] | None]
    ) -> None:
        while (item := await queue.get()) is not None:
            await client.command(*item)
        await client.logout()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(produce())
        for client, queue in zip(clients, queues, strict=True):
            tg.create_task(consume(client, queue))


async def prepare(
    servers: dict[str, Server], plan: Plan, roles: dict[str, str], results: Results
) -> None:
    for server in servers.values():
        server.add_users(list(roles.values()))
    for role, mailbox, corpus, needed_by in loads(plan, roles):
        into = [s for kind, s in servers.items() if any(plan.runs(kind, n) for n in needed_by)]
        start = time.perf_counter()
        print(f"loading {len(corpus)} messages into {role} {mailbox} ...", flush=True)
        await load(into, roles[role], mailbox, corpus)
        results.load_seconds[f"{role}/{mailbox}"] = time.perf_counter() - start


# --- running -----------------------------------------------------------------------------
def context(server: Server, plan: Plan, roles: dict[str, str]) -> Context:
    return Context(
        host=server.host,
        port=server.port,
        password=PASSWORD,
        scale=plan.scale,
        users=roles,
        mailboxes={size: name for size, (name, _) in big_mailboxes(plan.scale).items()},
        seed=plan.seed,
        duration=plan.duration,
        server=server,
        lmtp_port=server.lmtp_port,
        https_port=server.https_port,
        drop_caches=plan.drop_caches,
        ports=server.ports if len(server.ports) > 1 else (),
    )


async def run_scenarios(
    servers: dict[str, Server], plan: Plan, roles: dict[str, str], results: Results
) -> None:
    for name in plan.scenarios:
        scenario = SCENARIOS[name]
        repeats = min(plan.repeats, scenario.repeats or plan.repeats)
        running = [server for kind, server in servers.items() if plan.runs(kind, name)]
        for rep in range(repeats):
            order = running if rep % 2 == 0 else running[::-1]
            for server in order:
                print(f"{name} #{rep + 1}/{repeats} on {server.name} ...", flush=True)
                start = time.perf_counter()
                ctx = context(server, plan, roles)
                try:
                    figures = await scenario.run(ctx, rep)
                except Exception as exc:  # one failure must not lose the rest of the run
                    traceback.print_exc()
                    results.errors.setdefault(server.name, []).append(f"{name}: {exc!r}")
                    ensure_running(server)
                    continue
                results.add(server.name, name, figures)
                results.run_notes.update(f"{server.name}: {note}" for note in ctx.notes)
                print(f"  {time.perf_counter() - start:.1f} s", flush=True)


def ensure_running(server: Server) -> None:
    if not server.running():
        server.stop()
        server.start()


async def profile_misses(
    roost: RoostServer, missed: set[str], plan: Plan, roles: dict[str, str], results: Results
) -> None:
    """Runs each scenario with a missed target once more, Roost under cProfile."""
    for name in sorted(missed):
        if name == "memory":  # a memory miss is not a CPU profile question
            continue
        out = roost.workdir / f"profile-{name}.prof"
        print(f"profiling Roost on {name} ...", flush=True)
        roost.restart(profile=out)
        try:
            await SCENARIOS[name].run(context(roost, plan, roles), 99)
        except Exception as exc:
            results.profiles[name] = f"(the profiled run failed: {exc!r})"
        roost.stop()
        roost.profile, roost.profile_restarts = None, 0
        roost.start()
        files = sorted(roost.workdir.glob(f"profile-{name}.prof*"))
        if files:
            results.profiles.setdefault(name, top_of_profile(files))


# Waiting, not working: the event loop's poll and the executor threads' queue and locks.
_IDLE = r"^(?!.*(epoll|SimpleQueue|_thread\.lock|threading\.py|builtins\.exec)).*$"


def top_of_profile(paths: list[Path], lines: int = 25) -> str:
    buffer = StringIO()
    stats = pstats.Stats(*map(str, paths), stream=buffer)
    stats.strip_dirs().sort_stats("tottime").print_stats(_IDLE, lines)
    text = buffer.getvalue()
    return text[text.find("   ncalls") :] if "   ncalls" in text else text


@contextmanager
def workdir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix="roost-bench-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def compare(plan: Plan) -> Results:
    from bench import report

    results = Results()
    results.environment["fd_limit"] = str(raise_fd_limit())
    with workdir(plan.workdir) as base, inotify_instances(20_000) as inotify_before:
        base.chmod(0o755)  # Dovecot's mail processes run as `nobody` when we are root
        results.environment["inotify_before"] = str(inotify_before)
        servers = {kind: make_server(kind, base) for kind in plan.servers}
        results.servers = [server.name for server in servers.values()]
        try:
            for server in servers.values():
                server.workdir.mkdir(parents=True, exist_ok=True)
                server.workdir.chmod(0o755)
                server.start()
            roles = users(plan.scale, plan.scenarios)
            await prepare(servers, plan, roles, results)
            await run_scenarios(servers, plan, roles, results)
            roost = servers.get("roost")
            if plan.profile_misses and isinstance(roost, RoostServer):
                await profile_misses(roost, report.missed_scenarios(results), plan, roles, results)
            for server in servers.values():
                results.commands[server.name] = server.describe()
                if isinstance(server, DovecotServer):
                    results.environment["dovecot_conf"] = server.conf.read_text()
        finally:
            for server in servers.values():  # each stops only what it started
                server.stop()
    return results
