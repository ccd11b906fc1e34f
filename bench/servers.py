"""Start, restart and stop the two servers under test, each in its own temporary directory.

Roost runs as `python -m roost serve` with its ports in the environment; its log goes to a
file (a pipe nobody reads would eventually block it). Dovecot (Debian's dovecot-imapd and
dovecot-lmtpd) runs as `dovecot -F -c <conf>` with a configuration written here: loopback
only, no TLS, plaintext LOGIN allowed, Maildir under the temporary directory, users from a
passwd-file. Both servers get the same Argon2id hash (m=64 MiB, t=3, p=4, Roost's
parameters) for every user, so a LOGIN costs both the same.

Memory is the VmRSS of the server's process and all its descendants, read from /proc.
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
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_bytes(self) -> int:
        return sum(_status_kib(pid, "VmRSS") for pid in tree_pids(self.pid)) * 1024

    def pss_bytes(self) -> int:
        return sum(_pss_kib(pid) for pid in tree_pids(self.pid)) * 1024

    def processes(self) -> int:
        return len(tree_pids(self.pid))

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
    def __init__(self, workdir: Path, python: str = sys.executable) -> None:
        super().__init__("Roost", workdir)
        self.python = python
        self.data_dir = workdir / "data"
        self.log = workdir / "roost.log"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ROOST_DATA_DIR=str(self.data_dir),
            ROOST_IMAP_PORT=str(self.port),
            ROOST_LMTP_PORT=str(self.lmtp_port),
            ROOST_HOSTNAME="localhost",
            ROOST_LOG_LEVEL="WARNING",
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
                    "HTTPS",
                )
            },
        )
        return env

    def command(self) -> list[str]:
        return [self.python, "-m", "roost", "serve"]

    def start(self, *, profile: Path | None = None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv, env = self.command(), self.env
        self.profile = profile
        if profile is not None:  # every thread profiled; written when serve returns (SIGTERM)
            argv = [self.python, "-m", "bench.profiled", str(profile), *argv[3:]]
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)
        wait_for_port(self.port, self.process)

    def add_users(self, addresses: list[str]) -> None:
        for address in addresses:
            result = subprocess.run(
                [self.python, "-m", "roost", "user", "add", address],
                input=PASSWORD + "\n",
                capture_output=True,
                text=True,
                env=self.env,
                timeout=120,
                check=False,
            )
            if result.returncode != 0 and "exists" not in result.stderr:
                raise RuntimeError(f"roost user add {address}: {result.stderr}")


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
