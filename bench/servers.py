"""Start, restart and stop the servers under test, each in its own temporary directory.

Roost runs as `python -m roost serve` with its ports in the environment; its log goes to a
file (a pipe nobody reads would eventually block it). Dovecot (Debian's dovecot-imapd and
dovecot-lmtpd) runs as `dovecot -F -c <conf>` with a configuration written here: loopback
only, no TLS, plaintext LOGIN allowed, Maildir under the temporary directory, users from a
passwd-file. Every server gets the same Argon2id hash (m=64 MiB, t=3, p=4, Roost's
parameters) for every user, so a LOGIN costs them the same.

Roost on PostgreSQL (`PostgresRoost`) is one or more `roost serve` nodes, each with its own
ports, on one database of a PostgreSQL cluster of its own (Debian's, started by
tests/pgserver.py in the work directory, on a Unix socket only) with PostgreSQL's durable
defaults (fsync, synchronous_commit), as an operator would run it. A restart restarts the
cluster too, so "cold" is cold for PostgreSQL's buffers as well.

Memory is the VmRSS of the server's process and all its descendants, read from /proc; for
several nodes, the sum over every node. PostgreSQL's processes are not in it: they are
reported on their own (`database_memory`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.pgserver import PostgresServer, find_bindir

HOST = "127.0.0.1"
PASSWORD = "bench password"
REPO = str(Path(__file__).resolve().parent.parent)  # so `-m bench.profiled` imports anywhere


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing accepts on port {port} after {timeout} s")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=2):
            return True
    except OSError:
        return False


def tree_pids(root: int) -> list[int]:
    """`root` and every descendant, from /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    # utime, stime, and cutime, cstime: the children it reaped (Dovecot's imap processes,
    # one per connection, end with it); fields 14 to 17 of proc(5).
    return sum(int(f) for f in fields[11:15])


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    """What the scenarios need to know about a running server."""

    name: str
    workdir: Path
    port: int = field(default_factory=free_port)
    lmtp_port: int = field(default_factory=free_port)
    https_port: int | None = None  # ActiveSync, for the servers that serve it
    process: subprocess.Popen[bytes] | None = None
    host: str = HOST
    profile: Path | None = None  # set while the server runs under the profiler
    profile_restarts: int = 0

    def start(self, *, profile: Path | None = None) -> None:
        raise NotImplementedError

    def add_users(self, addresses: list[str]) -> None:
        raise NotImplementedError

    def has_lmtp(self) -> bool:
        return self.process is not None and port_open(self.lmtp_port)

    @property
    def ports(self) -> tuple[int, ...]:
        """Every node's IMAP port (one node: just `port`)."""
        return (self.port,)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def describe(self) -> str:
        """How the server was started, for the report."""
        raise NotImplementedError

    def database_memory(self) -> tuple[int, int] | None:
        """(RSS, PSS) in bytes of a database server this one uses, if any."""
        return None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_bytes(self) -> int:
        return sum(_status_kib(pid, "VmRSS") for pid in tree_pids(self.pid)) * 1024

    def pss_bytes(self) -> int:
        return sum(_pss_kib(pid) for pid in tree_pids(self.pid)) * 1024

    def processes(self) -> int:
        return len(tree_pids(self.pid))

    def cpu_seconds(self) -> float:
        """CPU time (user and system) used so far by the server's processes, those that
        ended included."""
        return sum(_cpu_ticks(pid) for pid in tree_pids(self.pid)) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, *, profile: Path | None = None) -> None:
        """Restarts; while profiling, a restart by a scenario keeps profiling into a new file
        (`<profile>.1`, `.2`, ...) so its work is not lost."""
        self.stop()
        if profile is None and self.profile is not None:
            self.profile_restarts += 1
            profile = self.profile.with_name(f"{self.profile.name}.{self.profile_restarts}")
            self.start(profile=profile)
            self.profile = profile.with_name(profile.name.rsplit(".", 1)[0])
            return
        self.start(profile=profile)


class RoostServer(Server):
    """`roost serve` on SQLite in workdir, or on `database_url`. `source` (a directory with
    a roost package) runs that Roost instead of the installed one, e.g. an earlier commit
    extracted by `compare` for a before/after run."""

    def __init__(
        self,
        workdir: Path,
        python: str = sys.executable,
        *,
        name: str = "Roost",
        database_url: str = "",
        source: Path | None = None,
        workers: int = 1,
    ) -> None:
        super().__init__(name, workdir)
        self.workers = workers
        self.python = python
        self.data_dir = workdir / "data"
        self.log = workdir / "roost.log"
        self.database_url = database_url
        self.source = source
        self.https_port = free_port()

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.source is not None:
            env["PYTHONPATH"] = str(self.source)
        env.pop("ROOST_DATABASE_URL", None)
        if self.database_url:
            env["ROOST_DATABASE_URL"] = self.database_url
        env.update(
            ROOST_DATA_DIR=str(self.data_dir),
            ROOST_IMAP_PORT=str(self.port),
            ROOST_LMTP_PORT=str(self.lmtp_port),
            ROOST_HTTPS_PORT=str(self.https_port),
            ROOST_HOSTNAME="localhost",
            ROOST_LOG_LEVEL="WARNING",
            ROOST_WORKERS=str(self.workers),
            **{
                f"ROOST_{name}_PORT": "0"
                for name in (
                    "IMAPS",
                    "POP3",
                    "POP3S",
                    "SUBMISSION",
                    "SUBMISSIONS",
                    "SMTP",
                    "HTTP",
                )
            },
        )
        return env

    def command(self) -> list[str]:
        return [self.python, "-m", "roost", "serve"]

    def describe(self) -> str:
        shown = [f"{k}={v}" for k, v in self.env.items() if k == "PYTHONPATH" and self.source]
        if self.database_url:
            shown.append(f"ROOST_DATABASE_URL={self.database_url}")
        return " ".join([*shown, *self.command()])

    def start(self, *, profile: Path | None = None) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv, env = self.command(), self.env
        self.profile = profile
        if self.workers > 1:
            profile = None  # bench.profiled would see the supervisor only
        if profile is not None:  # every thread profiled; written when serve returns (SIGTERM)
            argv = [self.python, "-m", "bench.profiled", str(profile), *argv[3:]]
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), REPO]))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)
        wait_for_port(self.port, self.process)

    def add_users(self, addresses: list[str]) -> None:
        for address in addresses:
            result = self._roost("user", "add", address)
            if result.returncode != 0 and "--init" in result.stderr:
                # The roost CLI creates a store only when told (older ones know no --init).
                result = self._roost("--init", "user", "add", address)
            if result.returncode != 0 and "exists" not in result.stderr:
                raise RuntimeError(f"roost user add {address}: {result.stderr}")

    def _roost(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, "-m", "roost", *args],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )


class PostgresRoost(Server):
    """`nodes` Roost nodes (`roost serve` each, its own ports and data_dir) on the database
    `roost` of a PostgreSQL cluster in workdir/postgresql, which this server starts and
    stops with its nodes. `port` is the first node's; `ports` every node's."""

    DATABASE = "roost"

    def __init__(self, workdir: Path, nodes: int = 1, python: str = sys.executable) -> None:
        count = {1: "", 2: ", two nodes"}.get(nodes, f", {nodes} nodes")
        name = f"Roost on PostgreSQL{count}"
        super().__init__(name, workdir)
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (make bench-deps installs it)")
        (workdir / "postgresql").mkdir(parents=True, exist_ok=True)
        self.database = PostgresServer(bindir, root=workdir / "postgresql")
        url = self.database.url(self.DATABASE)
        self.nodes = [
            RoostServer(workdir / f"node{i + 1}", python, name=f"{name} #{i + 1}", database_url=url)
            for i in range(nodes)
        ]
        self.port, self.lmtp_port = self.nodes[0].port, self.nodes[0].lmtp_port

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(node.port for node in self.nodes)

    @property
    def pid(self) -> int:
        return self.nodes[0].pid

    def running(self) -> bool:
        return self.database.postmaster_pid() is not None and all(n.running() for n in self.nodes)

    def has_lmtp(self) -> bool:
        return self.nodes[0].has_lmtp()

    def describe(self) -> str:
        return " & ".join(node.describe() for node in self.nodes)

    def start(self, *, profile: Path | None = None) -> None:
        if self.database.postmaster_pid() is None:
            self.database.start()
            self.database.ensure_database(self.DATABASE)
        for node in self.nodes:  # the first migrates the database; the others find it done
            node.start(profile=profile)
        self.process = self.nodes[0].process

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.process = None
        self.database.halt()

    def add_users(self, addresses: list[str]) -> None:
        self.nodes[0].add_users(addresses)  # one database: every node knows them

    def rss_bytes(self) -> int:
        return sum(node.rss_bytes() for node in self.nodes)

    def pss_bytes(self) -> int:
        return sum(node.pss_bytes() for node in self.nodes)

    def processes(self) -> int:
        return sum(node.processes() for node in self.nodes)

    def database_memory(self) -> tuple[int, int] | None:
        postmaster = self.database.postmaster_pid()
        if postmaster is None:
            return None
        pids = tree_pids(postmaster)
        rss = sum(_status_kib(pid, "VmRSS") for pid in pids) * 1024
        return rss, sum(_pss_kib(pid) for pid in pids) * 1024


DOVECOT_CONF = """\
# Written by bench/servers.py for one benchmark run.
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%u
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_privileged_group =
default_process_limit = 20000
default_client_limit = 40000
default_internal_user = {internal}
default_login_user = {login}
mail_max_userip_connections = 20000

passdb {{
  driver = passwd-file
  args = username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/home/%u
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service imap {{
  process_limit = 20000
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service anvil {{
  client_limit = 60000
}}
service auth {{
  client_limit = 60000
}}
protocol imap {{
  mail_max_userip_connections = 20000
}}
"""


class DovecotServer(Server):
    def __init__(self, workdir: Path, binary: str = "dovecot") -> None:
        super().__init__("Dovecot", workdir)
        self.binary = shutil.which(binary) or binary
        self.conf = workdir / "dovecot.conf"
        self.passwd = workdir / "passwd"

    def write_config(self) -> None:
        for sub in ("run", "state", "mail", "home"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        uid, gid = os.getuid(), os.getgid()
        internal = login = pwd.getpwuid(uid).pw_name
        if uid == 0:
            # Dovecot refuses mail access as root: the mail belongs to `nobody`, and the
            # internal and login processes run as the Debian package's own users.
            internal, login = "dovecot", "dovenull"
            uid, gid = pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid
            for sub in ("mail", "home"):
                os.chown(self.workdir / sub, uid, gid)
        self.conf.write_text(
            DOVECOT_CONF.format(
                base=self.workdir,
                uid=uid,
                gid=gid,
                port=self.port,
                lmtp_port=self.lmtp_port,
                internal=internal,
                login=login,
            )
        )
        self.passwd.touch()

    def command(self) -> list[str]:
        return [self.binary, "-F", "-c", str(self.conf)]

    def describe(self) -> str:
        return " ".join(self.command())

    def start(self, *, profile: Path | None = None) -> None:
        self.write_config()
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "dovecot.stderr").open("ab"),
        )
        wait_for_port(self.port, self.process)

    def add_users(self, addresses: list[str]) -> None:
        from argon2 import PasswordHasher  # Roost's own dependency, same parameters

        hasher = PasswordHasher()
        known = {line.split(":", 1)[0] for line in self.passwd.read_text().splitlines()}
        with self.passwd.open("a") as f:
            for address in addresses:
                if address not in known:
                    f.write(f"{address}:{{ARGON2ID}}{hasher.hash(PASSWORD)}::::::\n")


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raises RLIMIT_NOFILE (inherited by both servers); returns the soft limit now in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted and os.geteuid() == 0:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


INOTIFY = Path("/proc/sys/fs/inotify/max_user_instances")


@contextlib.contextmanager
def inotify_instances(wanted: int) -> Iterator[int | None]:
    """Dovecot's IDLE uses one inotify instance per imap process; Debian's default of 128
    would send every idler past the 128th to 30-second polling. Raised (as root) for the
    run and restored after."""
    before: int | None
    try:
        before = int(INOTIFY.read_text())
    except (OSError, ValueError):
        before = None
    changed = False
    if before is not None and before < wanted:
        try:
            INOTIFY.write_text(str(wanted))
            changed = True
        except OSError:
            pass
    try:
        yield before
    finally:
        if changed:
            with contextlib.suppress(OSError):
                INOTIFY.write_text(str(before))
