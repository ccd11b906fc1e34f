"""The `roost` command without traps (issue 13): it finds the server's store or refuses,
deletes an account only when asked twice and keeps its mail, removes only empty domains,
limits services per account, prints DNS records, and talks to a running server only
through its control socket. In-process, on the real SQLite store."""

from __future__ import annotations

import asyncio
import io
import mailbox
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

import roost
from roost.cli import main
from roost.config import ENV_OVERRIDES
from roost.delivery import analyse
from roost.store.api import NewMessage
from roost.store.engines.sqlite import SqliteStore


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


Roost = Callable[..., Result]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shell in tmp_path with no Roost variables and no system configuration file."""
    for variable in [*ENV_OVERRIDES, "ROOST_CONFIG"]:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("ROOST_HOSTNAME", "mail.test")
    monkeypatch.setattr("roost.config.SYSTEM_CONFIG_FILE", tmp_path / "etc" / "roost.toml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run(env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Roost:
    def call(*argv: str, stdin: str | io.StringIO = "") -> Result:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin) if isinstance(stdin, str) else stdin)
        status = main(list(argv))
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return call


def test_version(run: Roost) -> None:
    assert run("--version") == Result(0, f"roost {roost.__version__}\n", "")


# ----- finding the store ---------------------------------------------------------------


def test_no_store_is_created_by_mistake(run: Roost, env: Path) -> None:
    result = run("user", "list")
    assert result.status == 1
    assert result.err == (
        f"roost: no Roost store in {env / 'roost-data'} (no configuration file (not --config, "
        "ROOST_CONFIG nor /etc/roost/roost.toml)); point ROOST_CONFIG or --config at the "
        "server's configuration, or pass --init to create a new store there\n"
    )
    assert not (env / "roost-data").exists()
    assert run("--init", "user", "add", "a@example.org", stdin="pw\n").status == 0
    assert run("user", "list").out == "a@example.org\n"


def test_the_store_is_found_from_roost_config(
    run: Roost, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (env / "srv").mkdir()
    (env / "srv" / "roost.toml").write_text('data_dir = "/nonexistent-not-used"\n')
    config = env / "srv" / "roost.toml"
    config.write_text(f'data_dir = "{env / "srv" / "data"}"\n')
    monkeypatch.setenv("ROOST_CONFIG", str(config))
    refused = run("user", "list")
    assert f"no Roost store in {env / 'srv' / 'data'} (configuration {config})" in refused.err
    assert run("--init", "user", "add", "a@example.org", stdin="pw\n").status == 0
    monkeypatch.chdir(env / "srv")  # any working directory: the same store
    assert run("user", "list").out == "a@example.org\n"


def test_the_system_configuration_is_used_when_present(run: Roost, env: Path) -> None:
    (env / "etc").mkdir()
    (env / "etc" / "roost.toml").write_text(f'data_dir = "{env / "var"}"\n')
    assert run("--init", "domain", "add", "example.org").status == 0
    assert (env / "var" / "roost.db").is_file()
    assert not (env / "roost-data").exists()


# ----- user delete ---------------------------------------------------------------------


def seed(data_dir: Path, address: str) -> None:
    """Two messages for address: one \\Seen in INBOX, one flagged in Archive/2024."""

    async def fill() -> None:
        store = await SqliteStore.open(data_dir)
        try:
            account = await store.find_account(address)
            assert account is not None
            await store.create_mailbox(account.id, "Archive/2024")
            for name, flags, subject in (
                ("INBOX", ("\\Seen",), "first"),
                ("Archive/2024", ("\\Flagged",), "second"),
            ):
                box = await store.find_mailbox(account.id, name)
                data = f"Subject: {subject}\r\n\r\nbody {subject}\r\n".encode()
                await store.append(box.id, [_new(data, flags)])
        finally:
            await store.close()

    asyncio.run(fill())


def _new(data: bytes, flags: tuple[str, ...]) -> NewMessage:
    return NewMessage(
        data=data,
        flags=frozenset(flags),
        internaldate=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        parsed=analyse(data),
    )


def test_user_delete_asks_and_keeps_a_maildir(run: Roost, env: Path) -> None:
    run("--init", "user", "add", "alice@example.org", stdin="pw\n")
    seed(env / "roost-data", "alice@example.org")
    refused = run("user", "delete", "alice@example.org")  # stdin is no terminal
    assert refused.status == 1
    assert refused.err.startswith("roost: not deleting alice@example.org and its 2 messages")
    assert refused.err.endswith("without confirmation: add --yes\n")
    kept = run("user", "delete", "alice@example.org", stdin=Tty("no\n"))
    assert (kept.status, kept.err) == (1, "roost: nothing deleted\n")
    assert "Type yes to confirm" in kept.out
    assert run("user", "list").out == "alice@example.org\n"

    deleted = run("user", "delete", "alice@example.org", stdin=Tty("yes\n"))
    assert deleted.status == 0, deleted.err
    assert run("user", "list").out == ""
    (backup,) = (env / "roost-data" / "backups").iterdir()
    assert backup.name.startswith("alice@example.org-")
    assert f"saved 2 messages of alice@example.org in {backup} (Maildir)" in deleted.out
    inbox = mailbox.Maildir(backup, create=False)
    (message,) = list(inbox)
    assert message["Subject"] == "first" and message.get_flags() == "S"
    assert "Archive.2024" in inbox.list_folders()
    (archived,) = list(inbox.get_folder("Archive.2024"))
    assert archived["Subject"] == "second" and archived.get_flags() == "F"
    assert archived.get_date() == datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()


def test_user_delete_without_a_backup(run: Roost, env: Path) -> None:
    run("--init", "user", "add", "alice@example.org", stdin="pw\n")
    result = run("user", "delete", "alice@example.org", "--yes", "--no-backup")
    assert (result.status, result.out) == (0, "deleted alice@example.org\n")
    assert not (env / "roost-data" / "backups").exists()


# ----- domains, services, dns ---------------------------------------------------------


def test_domain_delete(run: Roost) -> None:
    run("--init", "user", "add", "alice@example.org", stdin="pw\n")
    run("domain", "add", "spare.test")
    assert run("domain", "delete", "spare.test").out == (
        "deleted spare.test: mail for it is refused from now on\n"
    )
    refused = run("domain", "delete", "example.org")
    assert refused == Result(1, "", "roost: example.org still has addresses: alice@example.org\n")
    assert run("domain", "delete", "nowhere.test").err == (
        "roost: nowhere.test is not a local domain\n"
    )
    assert run("domain", "list").out == "example.org\n"


def test_services(run: Roost) -> None:
    added = run(
        "--init", "user", "add", "bob@example.org", "--services", "imap,SUBMISSION", stdin="pw\n"
    )
    assert added.out == "created bob@example.org (imap,submission)\n"
    assert run("user", "list").out == "bob@example.org  (imap,submission)\n"
    assert run("user", "set", "bob@example.org", "--services", "all").out == (
        "bob@example.org: all services\n"
    )
    assert run("user", "list").out == "bob@example.org\n"
    bad = run("user", "set", "bob@example.org", "--services", "imap,webmail")
    assert bad.status == 2 and "unknown service 'webmail'" in bad.err
    assert run("user", "set", "nobody@example.org", "--services", "imap").err == (
        "roost: no account nobody@example.org\n"
    )


def test_dns_records(run: Roost, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROOST_HOSTNAME")
    (env / "roost.toml").write_text(
        'hostname = "mail.example.org"\n[ports]\nimap = 143\nimaps = 993\npop3 = 0\n'
        "pop3s = 995\nsubmission = 587\nsubmissions = 465\nhttps = 443\n"
    )
    result = run("--config", str(env / "roost.toml"), "dns", "Example.ORG")
    records = [line for line in result.out.splitlines() if not line.startswith(";")]
    assert records == [
        "example.org.\t3600\tIN\tMX\t10 mail.example.org.",
        "_imaps._tcp.example.org.\t3600\tIN\tSRV\t0 1 993 mail.example.org.",
        "_imap._tcp.example.org.\t3600\tIN\tSRV\t10 1 143 mail.example.org.",
        "_pop3s._tcp.example.org.\t3600\tIN\tSRV\t20 1 995 mail.example.org.",
        "_pop3._tcp.example.org.\t3600\tIN\tSRV\t0 0 0 .",
        "_submissions._tcp.example.org.\t3600\tIN\tSRV\t0 1 465 mail.example.org.",
        "_submission._tcp.example.org.\t3600\tIN\tSRV\t10 1 587 mail.example.org.",
        "autoconfig.example.org.\t3600\tIN\tCNAME\tmail.example.org.",
        "autodiscover.example.org.\t3600\tIN\tCNAME\tmail.example.org.",
        "_autodiscover._tcp.example.org.\t3600\tIN\tSRV\t0 1 443 mail.example.org.",
    ]
    assert "note" not in result.out  # standard ports: nothing to warn about
    assert run("dns", "not a domain").status == 1


# ----- the running server, when there is none --------------------------------------------


def test_status_and_kick_need_a_running_server(run: Roost, env: Path) -> None:
    run("--init", "user", "list")
    socket_path = env / "roost-data" / "control.sock"
    message = f"roost: no server is running on this data directory ({socket_path})\n"
    assert run("status") == Result(1, "", message)
    assert run("kick", "alice@example.org") == Result(1, "", message)


def test_queue_flush_without_a_server(run: Roost) -> None:
    run("--init", "user", "list")
    assert run("queue", "flush").out == (
        "0 entries due now; no server is running here: they go when it starts\n"
    )
