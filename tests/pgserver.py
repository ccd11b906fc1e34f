"""A throwaway PostgreSQL server: Debian's postgresql-15 in a directory of its own.

initdb refuses to run as root, so as root (CI) the cluster belongs to the unprivileged
`postgres` OS user (runuser), in a directory chowned to it; as anyone else it runs as that
user. It listens on a Unix socket only (no TCP port to collide with) and trusts local
connections.

The tests (tests/conftest.py) run it with fsync off (TEST_SETTINGS): a test server, whose
data is thrown away. One server serves a whole test session; each test gets a fresh
database from a migrated template, so a test starts from an empty store in a few tens of
milliseconds. The benchmarks (bench/servers.py) run it with PostgreSQL's own durable
defaults, in their work directory, and stop and start it again (`halt`, `start`) when a
scenario restarts the server.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "TEST_SETTINGS",
    "PostgresServer",
    "database_name",
    "find_bindir",
    "reap_orphans",
    "running_server",
]

_USER = "postgres"
# Every server: no TCP listener (the socket directory only).
_SETTINGS = {"listen_addresses": "''"}
# The tests': speed over durability, and room for many test databases' pools.
TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "32MB",
    "deadlock_timeout": "100ms",
    # A statement still running after this is a bug, and one whose test session was killed
    # would otherwise hold a core until the cluster stops.
    "statement_timeout": "120s",
}
# Marks a test cluster with the pid of the process that started it (running_server).
_OWNER = "owner"


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are (the newest Debian version installed), if anywhere."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return None if initdb is None else Path(initdb).resolve().parent


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


class PostgresServer:
    """A cluster in `root` (a new temporary directory if None); `url(database)` names a
    database in it. `settings` are given to the server beside _SETTINGS."""

    def __init__(
        self, bindir: Path, *, root: Path | None = None, settings: dict[str, str] | None = None
    ) -> None:
        self._bindir = bindir
        self._root = root if root is not None else Path(tempfile.mkdtemp(prefix="roost-pg-"))
        self._data = self._root / "data"
        self.socket_dir = self._root / "sock"
        self.log = self._root / "log"
        self.settings = {**_SETTINGS, **(settings or {})}
        self._names = itertools.count(1)
        self._as_root = os.geteuid() == 0
        self.user = _USER if self._as_root else _current_user()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            shutil.chown(self._root, _USER)
            shutil.chown(self.socket_dir, _USER)

    def _run(self, *argv: str) -> None:
        command = [str(self._bindir / argv[0]), *argv[1:]]
        if self._as_root:
            command = ["runuser", "-u", _USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Creates the cluster the first time, then starts it."""
        if not (self._data / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self._data), "-A", "trust", "-U", self.user,
                "-E", "UTF8", "--no-locale", "--no-sync",
            )  # fmt: skip
        options = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        self._run(
            "pg_ctl", "-D", str(self._data), "-l", str(self.log), "-w", "-t", "60",
            "-o", f"-k {self.socket_dir} {options}", "start",
        )  # fmt: skip

    def halt(self) -> None:
        """Stops the server cleanly (its data stays; `start` starts it again)."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self._data), "-m", "fast", "-w", "-t", "60", "stop")

    def stop(self) -> None:
        """Stops the server at once and removes its directory."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._root, ignore_errors=True)

    def postmaster_pid(self) -> int | None:
        """The server's first process (every other one descends from it), if it runs."""
        try:
            return int((self._data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}"

    def new_database(self, template: str | None = None) -> str:
        """Creates an empty database (a copy of template if given) and returns its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        source = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}{source}")  # type: ignore[arg-type]
        return self.url(name)

    def ensure_database(self, name: str) -> str:
        """Creates the database `name` unless it exists; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = database_name(url)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


def database_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    """The tests' server, in a temporary directory removed afterwards."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (make system-deps installs it)")
    reap_orphans(bindir)
    server = PostgresServer(bindir, settings=TEST_SETTINGS)
    (server.socket_dir.parent / _OWNER).write_text(str(os.getpid()))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def reap_orphans(bindir: Path) -> None:
    """Stops and removes the test clusters whose test session died without stopping them
    (killed, or stopped at a breakpoint and abandoned): their servers would run on."""
    for owner in Path(tempfile.gettempdir()).glob(f"roost-pg-*/{_OWNER}"):
        try:
            pid = int(owner.read_text())
            os.kill(pid, 0)
            continue  # its session is alive
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue  # not ours to judge
        PostgresServer(bindir, root=owner.parent).stop()
