"""A throwaway PostgreSQL server for the tests: Debian's postgresql-15 in a temporary directory.

initdb refuses to run as root, so as root (CI) the cluster belongs to the unprivileged
`postgres` OS user (runuser), in a directory chowned to it; as anyone else it runs as that
user. It listens on a Unix socket only (no TCP port to collide with), trusts local
connections, and runs with fsync off: a test server, whose data is thrown away. One server
serves a whole test session; each test gets a fresh database from a migrated template, so
a test starts from an empty store in a few tens of milliseconds.
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

__all__ = ["PostgresServer", "database_name", "find_bindir", "running_server"]

_USER = "postgres"
_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "32MB",
    "deadlock_timeout": "100ms",
}


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
    """A running test cluster; `url(database)` names a database in it."""

    def __init__(self, bindir: Path) -> None:
        self._bindir = bindir
        self._root = Path(tempfile.mkdtemp(prefix="roost-pg-"))
        self._data = self._root / "data"
        self.socket_dir = self._root / "sock"
        self._names = itertools.count(1)
        self._as_root = os.geteuid() == 0
        self.user = _USER if self._as_root else _current_user()
        self.socket_dir.mkdir()
        if self._as_root:
            shutil.chown(self._root, _USER)
            shutil.chown(self.socket_dir, _USER)

    def _run(self, *argv: str) -> None:
        command = [str(self._bindir / argv[0]), *argv[1:]]
        if self._as_root:
            command = ["runuser", "-u", _USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self._data), "-A", "trust", "-U", self.user,
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        options = " ".join(f"-c {k}={v}" for k, v in _SETTINGS.items())
        log = self._root / "log"
        self._run(
            "pg_ctl", "-D", str(self._data), "-l", str(log), "-w", "-t", "60",
            "-o", f"-k {self.socket_dir} {options}", "start",
        )  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._root, ignore_errors=True)

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
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (make system-deps installs it)")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
