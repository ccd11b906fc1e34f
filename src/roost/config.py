"""The frozen server configuration, loaded once at start-up.

Theory of operation
-------------------
Every setting has a default, so Roost runs with no configuration file at all. A TOML file
(passed with ``--config``, else named by ``ROOST_CONFIG``, else /etc/roost/roost.toml if it
exists: `find_config_file`) overrides the defaults, and a few environment variables override
the file (handy for containers and tests). The result is one frozen `Config`, passed to
whatever needs it; nothing reads the environment or the file again later.

The file mirrors the dataclasses: top-level keys for `Config`, a ``[ports]`` table for
`Ports` and a ``[tls]`` table for `TlsFiles`. An unknown key, a value of the wrong type or
an out-of-range value raises `ConfigError` naming the key, never a bare traceback.

Relative paths in the file are relative to the directory holding the file; relative paths
from the defaults or the environment are relative to the working directory. All paths in
the resulting `Config` are absolute.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
KiB = 1024

DEFAULT_DATA_DIR = Path("roost-data")
# Where a server installed by deploy/ keeps its configuration (the CLI finds it there too).
SYSTEM_CONFIG_FILE = Path("/etc/roost/roost.toml")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


class ConfigError(Exception):
    """The configuration file or environment holds something Roost cannot use."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Ports:
    """One TCP port per listener; 0 disables that listener."""

    imap: int = 1143
    imaps: int = 1993
    pop3: int = 1110
    pop3s: int = 1995
    submission: int = 1587
    submissions: int = 1465
    smtp: int = 2525
    lmtp: int = 1024
    http: int = 8080  # autoconfig, /metrics
    https: int = 8443  # autoconfig, autodiscover, .mobileconfig (and ActiveSync)


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsFiles:
    """PEM certificate chain and private key; generated on first start when missing."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    data_dir: Path
    hostname: str
    # "": the embedded SQLite store in data_dir; "postgresql://...": that PostgreSQL database
    # holds everything (roost.backends).
    database_url: str = ""
    bind: str = "127.0.0.1"
    lmtp_bind: str = "127.0.0.1"  # LMTP has no authentication: loopback unless told
    ports: Ports = Ports()
    tls: TlsFiles
    max_message_size: int = 50 * MiB
    max_line_length: int = 64 * KiB
    # Issue 9: message bytes (APPEND literals, SMTP/LMTP DATA) all connections together may
    # hold in memory at once; a message beyond it waits its turn (roost.spool).
    max_inflight_bytes: int = 256 * MiB
    # Issue 9: failed logins (roost.auth.throttle), counted over auth_failure_window seconds
    # per source address and per account. A source past auth_delay_after failures waits
    # 1, 2, 4... (at most auth_max_delay) seconds per attempt and past auth_block_after is
    # blocked for auth_block_seconds; an account past auth_account_delay_after slows down
    # but is never blocked.
    auth_failure_window: int = 900
    auth_delay_after: int = 5
    auth_block_after: int = 20
    auth_block_seconds: int = 900
    auth_account_delay_after: int = 10
    auth_max_delay: int = 15
    # Issue 9: connections one address may hold before logging in, and one account after
    # (roost.auth.connections); the next is refused with a reason.
    max_connections_per_address: int = 50
    max_connections_per_account: int = 100
    # The two above, and the auth_* ones, also for 127.0.0.1 / ::1; off, since a webmail or
    # proxy on this machine speaks for many users (and the benchmarks for thousands).
    limit_loopback: bool = False
    idle_keepalive: int = 120  # seconds between "* OK Still here" during IDLE
    log_level: str = "INFO"
    log_format: str = "text"  # "text": one line per event; "json": one JSON object per line
    allow_plaintext_auth_on_loopback: bool = True
    # POP3 RETR sets \Seen (TOP never does). Off: a download-only client leaves the IMAP
    # devices' unread mail unread, as most clients that keep mail on the server expect.
    pop3_retr_marks_seen: bool = False
    # SMTP, LMTP and the outbound queue (roost.smtp).
    # The LMTP Unix socket: relative to data_dir unless absolute (a path given in the file
    # is made absolute against the file's directory); "" disables it.
    lmtp_socket: str = "lmtp.sock"
    # So that an MTA running as another user can deliver: "user", "user:group" or ":group"
    # ("": left as created), and the socket's mode, octal.
    lmtp_socket_owner: str = ""
    lmtp_socket_mode: str = "0660"
    # RFC 5321 §4.5.1: postmaster@ of every local domain must be accepted; it delivers to
    # this account (or alias). "": only where an account or alias postmaster@ exists.
    postmaster: str = ""
    # user+tag@domain delivers to user@domain ("": no plus-addressing), and into user's
    # mailbox "tag" when deliver_to_tag_mailbox is on and that mailbox exists.
    recipient_delimiter: str = "+"
    deliver_to_tag_mailbox: bool = False
    smarthost: str = ""  # relay all outbound mail through this host; "": the MX hosts
    smarthost_port: int = 587
    smarthost_user: str = ""  # "": no AUTH at the smarthost
    smarthost_password: str = ""
    smarthost_starttls: bool = True  # require STARTTLS (with a verified certificate)
    queue_retry: int = 300  # seconds before the first retry; doubles up to 4 hours
    queue_give_up: int = 5 * 24 * 3600  # seconds; then a DSN to the sender (RFC 5321 §4.5.4.1)
    sent_dedup_window: int = 600  # seconds: an APPEND and a submission of one message merge
    max_recipients: int = 100  # RCPTs one SMTP/LMTP transaction takes (RFC 5321 §4.5.3.1.8)
    # The store's upkeep (roost.store.mail.retention): tombstones and change logs older than
    # retention_days are folded; unreferenced blobs collected; every maintenance_interval s.
    retention_days: int = 180
    maintenance_interval: int = 6 * 3600
    # Processes serving at once (roost.serve.supervisor): one event loop each, sharing the
    # listeners and the store. 1 serves from this process, with no supervisor.
    workers: int = 1


def lmtp_socket_path(config: Config) -> Path | None:
    """Where the LMTP Unix socket listens, or None if it is disabled."""
    return config.data_dir / config.lmtp_socket if config.lmtp_socket else None


# Environment variables that override the file: variable -> (table, key).
ENV_OVERRIDES: Mapping[str, tuple[str | None, str]] = {
    "ROOST_DATA_DIR": (None, "data_dir"),
    "ROOST_DATABASE_URL": (None, "database_url"),
    "ROOST_BIND": (None, "bind"),
    "ROOST_HOSTNAME": (None, "hostname"),
    "ROOST_LOG_LEVEL": (None, "log_level"),
    "ROOST_LOG_FORMAT": (None, "log_format"),
    "ROOST_WORKERS": (None, "workers"),
    **{f"ROOST_{f.name.upper()}_PORT": ("ports", f.name) for f in dataclasses.fields(Ports)},
}

# The keys a file may hold, with the Python type TOML must give each.
_TOP_LEVEL: Mapping[str, type] = {
    "data_dir": str,
    "database_url": str,
    "hostname": str,
    "bind": str,
    "lmtp_bind": str,
    "max_message_size": int,
    "max_line_length": int,
    "max_inflight_bytes": int,
    "auth_failure_window": int,
    "auth_delay_after": int,
    "auth_block_after": int,
    "auth_block_seconds": int,
    "auth_account_delay_after": int,
    "auth_max_delay": int,
    "max_connections_per_address": int,
    "max_connections_per_account": int,
    "limit_loopback": bool,
    "idle_keepalive": int,
    "log_level": str,
    "log_format": str,
    "allow_plaintext_auth_on_loopback": bool,
    "pop3_retr_marks_seen": bool,
    "lmtp_socket": str,
    "lmtp_socket_owner": str,
    "lmtp_socket_mode": str,
    "postmaster": str,
    "recipient_delimiter": str,
    "deliver_to_tag_mailbox": bool,
    "smarthost": str,
    "smarthost_port": int,
    "smarthost_user": str,
    "smarthost_password": str,
    "smarthost_starttls": bool,
    "queue_retry": int,
    "queue_give_up": int,
    "sent_dedup_window": int,
    "max_recipients": int,
    "retention_days": int,
    "maintenance_interval": int,
    "workers": int,
}
_TABLES: Mapping[str, Mapping[str, type]] = {
    "ports": {field.name: int for field in dataclasses.fields(Ports)},
    "tls": {"cert": str, "key": str},
}


def find_config_file(
    explicit: Path | None, environ: Mapping[str, str], system: Path | None = None
) -> Path | None:
    """The configuration file the server uses: --config, else ROOST_CONFIG, else the system
    one (/etc/roost/roost.toml) if it exists, else none (defaults and ROOST_* only)."""
    if explicit is not None:
        return explicit
    named = environ.get("ROOST_CONFIG", "").strip()
    if named:
        return Path(named)
    system = SYSTEM_CONFIG_FILE if system is None else system
    return system if system.is_file() else None


def lmtp_socket_mode(config: Config) -> int:
    return int(config.lmtp_socket_mode, 8)


def default_hostname() -> str:
    return socket.getfqdn() or "localhost"


def load_config(
    path: Path | None,
    environ: Mapping[str, str],
    *,
    hostname: Callable[[], str] = default_hostname,
) -> Config:
    """Defaults, then the TOML file at `path` (if any), then `environ`. Raises ConfigError."""
    values: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        values = _read_file(path)
        base = path.parent.absolute()
    env_values = _from_environ(environ)
    return _build(values, base, env_values, Path.cwd(), hostname)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _check_keys(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _check_keys(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Flattens tables into "table.key" entries, refusing unknown keys and wrong types."""
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"'{key}' must be a table ([{key}])")
            for subkey, subvalue in value.items():
                expected = _TABLES[key].get(subkey)
                name = f"{key}.{subkey}"
                if expected is None:
                    raise ConfigError(f"unknown setting '{name}'")
                flat[name] = _check_type(name, subvalue, expected)
        elif key in _TOP_LEVEL:
            flat[key] = _check_type(key, value, _TOP_LEVEL[key])
        else:
            raise ConfigError(f"unknown setting '{key}'")
    return flat


def _check_type(name: str, value: object, expected: type) -> object:
    # bool is a subclass of int in Python: `imap = true` must not pass for a port.
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    kinds = {str: "a string", int: "an integer", bool: "true or false"}
    raise ConfigError(f"'{name}' must be {kinds[expected]}, not {type(value).__name__}")


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """The overrides present in `environ`; an empty variable counts as unset."""
    values: dict[str, Any] = {}
    for variable, (table, key) in ENV_OVERRIDES.items():
        text = environ.get(variable, "").strip()
        if not text:
            continue
        name = key if table is None else f"{table}.{key}"
        if table == "ports":
            try:
                port = int(text)
            except ValueError:
                port = -1
            if not 0 <= port <= 65535:
                raise ConfigError(f"{variable} must be a port number 0-65535, not {text!r}")
            values[name] = port
        elif table is None and _TOP_LEVEL.get(key) is int:
            try:
                values[name] = int(text)
            except ValueError:
                raise ConfigError(f"{variable} must be a whole number, not {text!r}") from None
        else:
            values[name] = text
    return values


def _build(
    file_values: Mapping[str, Any],
    file_base: Path,
    env_values: Mapping[str, Any],
    env_base: Path,
    hostname: Callable[[], str],
) -> Config:
    def path(name: str, default: Path) -> Path:
        if name in env_values:
            return (env_base / Path(env_values[name])).absolute()
        if name in file_values:
            return (file_base / Path(file_values[name])).absolute()
        return (env_base / default).absolute()

    merged = {**file_values, **env_values}
    data_dir = path("data_dir", DEFAULT_DATA_DIR)
    ports = Ports(**{k[len("ports.") :]: v for k, v in merged.items() if k.startswith("ports.")})
    # Plain settings: only those given, so the dataclass defaults stay the single source.
    plain = {k: v for k, v in merged.items() if k in _TOP_LEVEL and k != "data_dir"}
    if plain.get("lmtp_socket"):
        plain["lmtp_socket"] = str(path("lmtp_socket", Path(plain["lmtp_socket"])))
    if "log_level" in plain:
        plain["log_level"] = plain["log_level"].upper()
    if "log_format" in plain:
        plain["log_format"] = plain["log_format"].lower()
    plain.setdefault("hostname", hostname())
    config = Config(
        data_dir=data_dir,
        ports=ports,
        tls=TlsFiles(
            cert=path("tls.cert", data_dir / "tls" / "cert.pem"),
            key=path("tls.key", data_dir / "tls" / "key.pem"),
        ),
        **plain,
    )
    _validate(config)
    return config


DATABASE_SCHEMES = ("postgresql://", "postgres://")


def _validate(config: Config) -> None:
    if config.database_url and not config.database_url.startswith(DATABASE_SCHEMES):
        raise ConfigError("'database_url' must be empty or a postgresql:// URL")
    if not config.hostname.strip():
        raise ConfigError("'hostname' must not be empty")
    if not config.bind.strip():
        raise ConfigError("'bind' must not be empty")
    if config.log_level not in LOG_LEVELS:
        raise ConfigError(f"'log_level' must be one of {', '.join(LOG_LEVELS)}")
    if config.log_format not in LOG_FORMATS:
        raise ConfigError(f"'log_format' must be one of {', '.join(LOG_FORMATS)}")
    if not re.fullmatch(r"0?[0-7]{3}", config.lmtp_socket_mode):
        raise ConfigError("'lmtp_socket_mode' must be an octal mode such as \"0660\"")
    if config.postmaster and "@" not in config.postmaster:
        raise ConfigError("'postmaster' must be an address (local@domain) or empty")
    delimiter = config.recipient_delimiter
    if delimiter and (len(delimiter) != 1 or delimiter in '@"' or delimiter.isspace()):
        raise ConfigError("'recipient_delimiter' must be one character such as \"+\", or empty")
    # A line limit below 1 KiB would refuse ordinary clients' commands.
    minimums = (
        ("max_message_size", 1),
        ("max_line_length", 1024),
        ("max_inflight_bytes", MiB),
        ("auth_failure_window", 1),
        ("auth_delay_after", 1),
        ("auth_block_after", 1),
        ("auth_block_seconds", 0),
        ("auth_account_delay_after", 1),
        ("auth_max_delay", 0),
        ("max_connections_per_address", 1),
        ("max_connections_per_account", 1),
        ("idle_keepalive", 1),
        ("queue_retry", 1),
        ("queue_give_up", 1),
        ("sent_dedup_window", 0),
        ("max_recipients", 100),  # RFC 5321 §4.5.3.1.8: at least 100
        # A device offline for a week still resyncs exactly; an hour between upkeep runs.
        ("retention_days", 7),
        ("maintenance_interval", 60),
        ("workers", 1),
    )
    for name, minimum in minimums:
        if getattr(config, name) < minimum:
            raise ConfigError(f"'{name}' must be at least {minimum}")
    if not 1 <= config.smarthost_port <= 65535:
        raise ConfigError("'smarthost_port' must be between 1 and 65535")
    seen: dict[int, str] = {}
    for field in dataclasses.fields(Ports):
        port = getattr(config.ports, field.name)
        if not 0 <= port <= 65535:
            raise ConfigError(f"'ports.{field.name}' must be between 0 and 65535 (0 disables)")
        if port and port in seen:
            raise ConfigError(f"'ports.{field.name}' and 'ports.{seen[port]}' both use port {port}")
        seen[port] = field.name
