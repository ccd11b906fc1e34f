"""The `roost` command, run in-process against a fresh data directory.

These use the real SQLite store (roost.store.engines.sqlite) through ROOST_DATA_DIR, exactly as an
administrator's shell would. `serve` runs with a stand-in for roost.app.run, so no socket is
opened here (the end-to-end tests do that).
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from roost.auth.accounts import authenticate
from roost.cli import main
from roost.cli.quota import parse_size
from roost.config import ENV_OVERRIDES, Config
from roost.store.api import Account, Quota
from roost.store.engines.sqlite import DATABASE, SqliteStore


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str


class TtyInput(io.StringIO):
    def isatty(self) -> bool:
        return True


Roost = Callable[..., Result]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ENV_OVERRIDES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("ROOST_CONFIG", raising=False)
    monkeypatch.setenv("ROOST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROOST_HOSTNAME", "mail.test")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


@pytest.fixture
def store_dir(data_dir: Path) -> Path:
    """A data directory whose store exists, as after the server's first start."""

    async def create() -> None:
        await (await SqliteStore.open(data_dir)).close()

    asyncio.run(create())
    return data_dir


@pytest.fixture
def roost(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Roost:
    """roost(*argv, stdin="...") runs one command line and returns what it did."""

    def run(*argv: str, stdin: str | io.StringIO = "") -> Result:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin) if isinstance(stdin, str) else stdin)
        status = main(list(argv))
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run


def login(data_dir: Path, address: str, password: str) -> Account | None:
    async def run() -> Account | None:
        store = await SqliteStore.open(data_dir)
        try:
            return await authenticate(store, address, password)
        finally:
            await store.close()

    return asyncio.run(run())


# ----- user ----------------------------------------------------------------------------


def test_user_add_and_list(roost: Roost, data_dir: Path) -> None:
    assert roost("user", "add", "alice@example.org", stdin="secret\n").status == 0
    assert roost("user", "add", "Bob@Example.ORG", stdin="hunter2\n").status == 0
    result = roost("user", "list")
    assert result.status == 0
    assert result.out.splitlines() == ["alice@example.org", "bob@example.org"]
    assert login(data_dir, "alice@example.org", "secret") is not None
    assert login(data_dir, "bob@example.org", "hunter2") is not None


def test_password_from_stdin_is_the_first_line_only(roost: Roost, data_dir: Path) -> None:
    assert roost("user", "add", "alice@example.org", stdin="  two words \r\nsecond\n").status == 0
    assert login(data_dir, "alice@example.org", "  two words ") is not None


def test_password_from_stdin_without_newline(roost: Roost, data_dir: Path) -> None:
    assert roost("user", "add", "alice@example.org", stdin="secret").status == 0
    assert login(data_dir, "alice@example.org", "secret") is not None


def test_duplicate_user(roost: Roost) -> None:
    roost("user", "add", "alice@example.org", stdin="secret\n")
    result = roost("user", "add", "ALICE@example.org", stdin="other\n")
    assert result.status == 1
    assert "alice@example.org already exists" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("address", ["alice", "alice@", "a b@example.org", "<a@example.org>"])
def test_bad_address(roost: Roost, address: str) -> None:
    result = roost("user", "add", address, stdin="secret\n")
    assert result.status == 1
    assert result.err.startswith("roost: ")
    assert roost("user", "list").out == ""


@pytest.mark.parametrize("stdin", ["", "\n", "\r\n"])
def test_empty_password_is_refused(roost: Roost, stdin: str) -> None:
    result = roost("user", "add", "alice@example.org", stdin=stdin)
    assert result.status == 1
    assert "empty password" in result.err
    assert roost("user", "list").out == ""


def test_password_prompted_twice_on_a_terminal(
    roost: Roost, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return "typed secret"

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert roost("user", "add", "alice@example.org", stdin=TtyInput()).status == 0
    assert len(prompts) == 2
    assert login(data_dir, "alice@example.org", "typed secret") is not None


def test_prompted_passwords_must_match(roost: Roost, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["one", "two"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    result = roost("user", "add", "alice@example.org", stdin=TtyInput())
    assert result.status == 1
    assert "differ" in result.err
    assert roost("user", "list").out == ""


def test_user_passwd(roost: Roost, data_dir: Path) -> None:
    roost("user", "add", "alice@example.org", stdin="old\n")
    result = roost("user", "passwd", "Alice@Example.org", stdin="new\n")
    assert result.status == 0
    assert login(data_dir, "alice@example.org", "new") is not None
    assert login(data_dir, "alice@example.org", "old") is None


def test_passwd_unknown_user(roost: Roost) -> None:
    result = roost("user", "passwd", "nobody@example.org", stdin="new\n")
    assert result.status == 1
    assert "no account nobody@example.org" in result.err


def test_user_delete(roost: Roost, data_dir: Path) -> None:
    roost("user", "add", "alice@example.org", stdin="secret\n")
    roost("user", "add", "bob@example.org", stdin="secret\n")
    assert roost("user", "delete", "alice@example.org", "--yes").status == 0
    assert roost("user", "list").out.splitlines() == ["bob@example.org"]
    assert login(data_dir, "alice@example.org", "secret") is None


def test_delete_unknown_user(roost: Roost) -> None:
    result = roost("user", "delete", "nobody@example.org")
    assert result.status == 1
    assert "no account nobody@example.org" in result.err


def test_list_with_no_users(roost: Roost) -> None:
    result = roost("user", "list")
    assert (result.status, result.out) == (0, "")


def quota_of(data_dir: Path, address: str) -> Quota:
    async def run() -> Quota:
        store = await SqliteStore.open(data_dir)
        try:
            account = await store.find_account(address)
            assert account is not None
            return await store.get_quota(account.id)
        finally:
            await store.close()

    return asyncio.run(run())


def test_user_quota_set_show_and_clear(roost: Roost, data_dir: Path) -> None:
    roost("user", "add", "alice@example.org", stdin="secret\n")
    shown = roost("user", "quota", "alice@example.org")
    assert shown.status == 0
    assert shown.out.splitlines() == [
        "alice@example.org",
        "  storage: 0 bytes used, no limit",
        "  messages: 0 used, no limit",
    ]
    result = roost("user", "quota", "Alice@Example.org", "--storage", "500M", "--messages", "100")
    assert result.status == 0
    assert "storage: 0 bytes used of 500M (524288000 bytes)" in result.out
    assert "messages: 0 used of 100" in result.out
    quota = quota_of(data_dir, "alice@example.org")
    assert (quota.storage_limit, quota.message_limit) == (500 * 1024**2, 100)
    # An option left out keeps its limit; none removes one.
    assert roost("user", "quota", "alice@example.org", "--storage", "none").status == 0
    quota = quota_of(data_dir, "alice@example.org")
    assert (quota.storage_limit, quota.message_limit) == (None, 100)
    assert roost("user", "quota", "alice@example.org", "--storage", "2GiB").status == 0
    assert quota_of(data_dir, "alice@example.org").storage_limit == 2 * 1024**3


@pytest.mark.parametrize(
    ("text", "octets"),
    [("1048576", 1048576), ("10k", 10240), ("500M", 500 * 1024**2), ("2 GB", 2 * 1024**3),
     ("1T", 1024**4), ("none", None), ("Unlimited", None)],
)  # fmt: skip
def test_quota_sizes(text: str, octets: int | None) -> None:
    assert parse_size(text) == octets


@pytest.mark.parametrize("text", ["0", "0M", "-5", "5X", "M", "1.5G", ""])
def test_bad_quota_sizes_are_usage_errors(roost: Roost, text: str) -> None:
    roost("user", "add", "alice@example.org", stdin="secret\n")
    result = roost("user", "quota", "alice@example.org", "--storage", text)
    assert result.status == 2 and "Traceback" not in result.err


def test_quota_of_an_unknown_user(roost: Roost) -> None:
    result = roost("user", "quota", "nobody@example.org", "--messages", "5")
    assert result.status == 1
    assert "no account nobody@example.org" in result.err
    assert roost("user", "quota", "nobody@example.org", "--messages", "many").status == 2


# ----- domain --------------------------------------------------------------------------


def test_domain_add_and_list(roost: Roost) -> None:
    assert roost("domain", "add", "Example.ORG").status == 0
    assert roost("domain", "add", "example.net").status == 0
    assert roost("domain", "list").out.splitlines() == ["example.net", "example.org"]


def test_adding_a_user_makes_its_domain_local(roost: Roost) -> None:
    roost("user", "add", "alice@example.com", stdin="secret\n")
    assert "example.com" in roost("domain", "list").out.splitlines()


def test_bad_domain(roost: Roost) -> None:
    result = roost("domain", "add", "exa mple.org")
    assert result.status == 1
    assert "not a domain name" in result.err


# ----- alias ---------------------------------------------------------------------------


def test_alias_add_list_delete(roost: Roost, data_dir: Path) -> None:
    roost("user", "add", "alice@example.org", stdin="secret\n")
    result = roost("alias", "add", "Sales@Shop.TEST", "alice@example.org")
    assert (result.status, result.out) == (0, "sales@shop.test -> alice@example.org\n")
    assert "shop.test" in roost("domain", "list").out.splitlines()
    assert roost("alias", "list").out == "sales@shop.test -> alice@example.org\n"
    assert login(data_dir, "sales@shop.test", "secret") is None  # an alias never logs in
    assert roost("alias", "delete", "sales@shop.test").status == 0
    assert roost("alias", "list").out == ""


def test_alias_refusals(roost: Roost) -> None:
    roost("user", "add", "alice@example.org", stdin="secret\n")
    unknown = roost("alias", "add", "info@example.org", "nobody@example.org")
    assert unknown.status == 1 and "no such account" in unknown.err
    taken = roost("alias", "add", "alice@example.org", "alice@example.org")
    assert taken.status == 1 and "is an account" in taken.err
    missing = roost("alias", "delete", "info@example.org")
    assert missing.status == 1 and "no such alias" in missing.err
    bad = roost("alias", "add", "not-an-address", "alice@example.org")
    assert bad.status == 1
    no_target = roost("alias", "add", "info@example.org")
    assert no_target.status == 2 and "ADDRESS" in no_target.err  # argparse: one at least
    roost("alias", "add", "info@example.org", "alice@example.org")
    not_there = roost("alias", "delete", "info@example.org", "bob@example.org")
    assert not_there.err == "roost: info@example.org does not deliver to bob@example.org\n"
    assert roost("alias", "list").out == "info@example.org -> alice@example.org\n"


def test_an_alias_with_several_accounts(roost: Roost, data_dir: Path) -> None:
    for user in ("alice", "bob", "carol"):
        roost("user", "add", f"{user}@example.org", stdin="secret\n")
    added = roost("alias", "add", "team@example.org", "bob@example.org", "alice@example.org")
    assert added == Result(0, "team@example.org -> alice@example.org, bob@example.org\n", "")
    more = roost("alias", "add", "team@example.org", "carol@example.org")
    assert more.out == "team@example.org -> alice@example.org, bob@example.org, carol@example.org\n"
    assert roost("alias", "list").out == more.out
    fewer = roost("alias", "delete", "team@example.org", "alice@example.org", "carol@example.org")
    assert fewer.out == "team@example.org -> bob@example.org\n"
    assert roost("alias", "delete", "team@example.org", "bob@example.org").out == (
        "deleted team@example.org\n"
    )
    assert roost("alias", "list").out == ""


def test_a_catch_all_per_domain(roost: Roost) -> None:
    for user in ("alice", "bob"):
        roost("user", "add", f"{user}@example.org", stdin="secret\n")
    roost("domain", "add", "example.net")
    caught = roost("domain", "set", "example.org", "--catch-all", "alice@example.org")
    assert caught.out == "example.org: mail for unknown addresses goes to alice@example.org\n"
    both = roost(
        "domain", "set", "example.org", "--catch-all", "bob@example.org", "alice@example.org"
    )
    assert both.out == (
        "example.org: mail for unknown addresses goes to alice@example.org, bob@example.org\n"
    )
    assert roost("domain", "list").out.splitlines() == [
        "example.net",
        "example.org  catch-all -> alice@example.org, bob@example.org",
    ]
    assert roost("alias", "list").out == ""  # not an alias
    unknown = roost("domain", "set", "example.org", "--catch-all", "dan@example.org")
    assert unknown.err == "roost: no such account: dan@example.org\n"
    elsewhere = roost("domain", "set", "nowhere.test", "--catch-all", "bob@example.org")
    assert elsewhere.err == "roost: nowhere.test is not a local domain\n"
    assert roost("domain", "set", "example.org", "--catch-all", "none").out == (
        "example.org: mail for unknown addresses is refused\n"
    )
    assert roost("domain", "list").out.splitlines() == ["example.net", "example.org"]


# ----- usage and configuration -----------------------------------------------------------


def test_usage_errors_exit_2(roost: Roost) -> None:
    assert roost().status == 2
    assert roost("user").status == 2
    assert roost("user", "frobnicate").status == 2
    assert roost("user", "add").status == 2


def test_help_exits_0(roost: Roost) -> None:
    result = roost("--help")
    assert result.status == 0
    assert "serve" in result.out


def test_bad_config_file(roost: Roost, tmp_path: Path) -> None:
    path = tmp_path / "roost.toml"
    path.write_text("[ports]\nimap = 'x'\n")
    result = roost("--config", str(path), "user", "list")
    assert result.status == 1
    assert "'ports.imap' must be an integer" in result.err
    assert "Traceback" not in result.err


def test_config_file_chooses_the_data_dir(
    roost: Roost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROOST_DATA_DIR")
    path = tmp_path / "roost.toml"
    path.write_text('data_dir = "elsewhere"\n')
    roost("--config", str(path), "--init", "user", "add", "alice@example.org", stdin="secret\n")
    assert login(tmp_path / "elsewhere", "alice@example.org", "secret") is not None


# ----- serve ---------------------------------------------------------------------------


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Replaces roost.app.run by a stand-in that reports ready and stops at once; yields
    the events it saw."""
    events: list[str] = []

    async def fake_run(config: Config, ready: Callable[[], None]) -> None:
        events.append(f"run {config.ports.imap}")
        ready()

    monkeypatch.setattr("roost.cli._run_app", fake_run)
    yield events


def test_serve_makes_the_certificate(roost: Roost, data_dir: Path, server: list[str]) -> None:
    result = roost("serve")
    assert result.status == 0
    assert server == ["run 1143"]
    assert (data_dir / "tls" / "cert.pem").exists()
    assert stat.S_IMODE((data_dir / "tls" / "key.pem").stat().st_mode) == 0o600
    assert not (data_dir / "demo-password").exists()
    assert result.out == ""


def test_serve_demo(roost: Roost, data_dir: Path, server: list[str]) -> None:
    first = roost("serve", "--demo")
    assert first.status == 0
    password_file = data_dir / "demo-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert len(password) >= 12
    for text in (
        "127.0.0.1",
        "1143",
        "STARTTLS",
        "1993",
        "demo@localhost",
        password,
        "self-signed",
    ):
        assert text in first.out
    assert login(data_dir, "demo@localhost", password) is not None

    second = roost("serve", "--demo")  # same account, same password, same instructions
    assert second.status == 0
    assert second.out == first.out
    assert password_file.read_text().strip() == password


def test_serve_demo_after_the_password_file_was_lost(
    roost: Roost, data_dir: Path, server: list[str]
) -> None:
    roost("serve", "--demo")
    (data_dir / "demo-password").unlink()
    assert roost("serve", "--demo").status == 0
    password = (data_dir / "demo-password").read_text().strip()
    assert login(data_dir, "demo@localhost", password) is not None


def test_serve_demo_after_passwd(roost: Roost, data_dir: Path, server: list[str]) -> None:
    roost("serve", "--demo")
    roost("user", "passwd", "demo@localhost", stdin="mine\n")
    result = roost("serve", "--demo")
    assert result.status == 0
    assert "changed since" in result.out
    assert login(data_dir, "demo@localhost", "mine") is not None


def test_serve_logs_to_stderr(roost: Roost, server: list[str]) -> None:
    result = roost("serve")
    assert "INFO roost.cli.serve: stopped" in result.err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_on_a_signal(
    roost: Roost, monkeypatch: pytest.MonkeyPatch, signum: signal.Signals
) -> None:
    events: list[str] = []
    # As in a fresh `roost serve` process: Python's own SIGINT handler, which asyncio.run
    # replaces by its own only if it finds it in place (earlier tests may have left another).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    async def serve_forever(config: Config, ready: Callable[[], None]) -> None:
        ready()
        try:
            # To this (the main) thread: os.kill may deliver it to another thread of the
            # test process, which the event loop would not hear of until its next wake-up.
            signal.raise_signal(signum)
            await asyncio.Event().wait()
        finally:
            events.append("closed")

    monkeypatch.setattr("roost.cli._run_app", serve_forever)
    try:
        result = roost("serve")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.status == 0
    assert events == ["closed"]
    assert "Traceback" not in result.err


def test_serve_reports_a_port_in_use(roost: Roost, monkeypatch: pytest.MonkeyPatch) -> None:
    async def port_taken(config: Config, ready: Callable[[], None]) -> None:
        raise OSError(98, "Address already in use")

    monkeypatch.setattr("roost.cli._run_app", port_taken)
    result = roost("serve")
    assert result.status == 1
    assert "Address already in use" in result.err
    assert "Traceback" not in result.err


# ----- check ---------------------------------------------------------------------------


def test_check_finds_repairs_and_finds_nothing_more(roost: Roost, data_dir: Path) -> None:
    assert roost("user", "add", "ann@example.org", stdin="pw\n").status == 0
    clean = roost("check")
    assert clean.status == 0 and "clean" in clean.out, clean
    with sqlite3.connect(data_dir / DATABASE) as conn:
        conn.execute("UPDATE mailboxes SET unseen_count = 5 WHERE name = 'INBOX'")
    conn.close()
    broken = roost("check")
    assert broken.status == 1
    assert "ann@example.org 'INBOX': UNSEEN is 5, the messages say 0" in broken.out
    repaired = roost("check", "--repair")
    assert repaired.status == 0 and "repaired" in repaired.out, repaired
    assert roost("check").status == 0


# ----- team and acl (issue 15) ---------------------------------------------------------


def test_team_add_and_list(roost: Roost, data_dir: Path) -> None:
    for user in ("alice@example.org", "bob@example.org"):
        assert roost("user", "add", user, stdin="secret\n").status == 0
    made = roost(
        "team",
        "add",
        "support@example.org",
        "--member",
        "alice@example.org",
        "--member",
        "Bob@Example.org",
    )
    assert (made.status, made.out) == (
        0,
        "team support@example.org: alice@example.org, bob@example.org\n",
    )
    listed = roost("team", "list").out
    assert (
        listed == "support@example.org: alice@example.org lrswipkxte, bob@example.org lrswipkxte\n"
    )
    assert login(data_dir, "support@example.org", "") is None  # nobody logs in to a team
    assert login(data_dir, "support@example.org", "!team") is None
    assert roost("user", "list").out == "alice@example.org\nbob@example.org\n"
    passwd = roost("user", "passwd", "support@example.org", stdin="secret\n")
    assert passwd.status == 1 and "team" in passwd.err
    assert login(data_dir, "support@example.org", "secret") is None
    # Adding to an existing team, and taking out.
    assert roost("user", "add", "carol@example.org", stdin="secret\n").status == 0
    more = roost("team", "add", "support@example.org", "--member", "carol@example.org")
    assert more.status == 0
    assert "carol@example.org lrswipkxte" in roost("team", "list").out
    gone = roost("team", "remove", "support@example.org", "--member", "bob@example.org")
    assert gone.status == 0
    assert roost("team", "list").out == (
        "support@example.org: alice@example.org lrswipkxte, carol@example.org lrswipkxte\n"
    )
    assert roost("acl", "list", "support@example.org", "Sent").out.count("\t") == 4
    user = roost("team", "add", "alice@example.org", "--member", "bob@example.org")
    assert user.status == 1 and "not a team" in user.err
    assert roost("team", "remove", "alice@example.org", "--member", "bob@example.org").status == 1
    nobody = roost("team", "add", "sales@example.org", "--member", "nobody@example.org")
    assert nobody.status == 1 and "nobody@example.org" in nobody.err
    assert roost("team", "add", "sales@example.org").status == 1  # no member


def test_acl_set_delete_list(roost: Roost) -> None:
    for user in ("alice@example.org", "bob@example.org"):
        assert roost("user", "add", user, stdin="secret\n").status == 0
    assert roost("acl", "set", "alice@example.org", "Sent", "bob@example.org", "lr").out == (
        "alice@example.org Sent: bob@example.org lr\n"
    )
    assert roost("acl", "set", "alice@example.org", "Sent", "bob@example.org", "+is").out == (
        "alice@example.org Sent: bob@example.org lrsi\n"
    )
    assert (
        roost("acl", "set", "alice@example.org", "Sent", "bob@example.org", "--", "-s").status == 0
    )
    assert roost("acl", "list", "alice@example.org").out == "Sent\tbob@example.org\tlri\n"
    assert roost("acl", "list", "alice@example.org", "INBOX").out == ""
    assert roost("acl", "delete", "alice@example.org", "Sent", "bob@example.org").status == 0
    assert roost("acl", "list", "alice@example.org").out == ""
    bad = roost("acl", "set", "alice@example.org", "Sent", "bob@example.org", "lrZ")
    assert bad.status == 1 and "unknown right" in bad.err
    assert roost("acl", "set", "alice@example.org", "Nope", "bob@example.org", "l").status == 1
    assert roost("acl", "list", "nobody@example.org").status == 1


def test_a_store_the_cli_creates_is_private(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 9: `roost --init user add` on a fresh data directory made roost.db 0644 and the
    # directories 0755 under the usual umask; and it leaves the caller's umask as it was.
    monkeypatch.setattr("sys.stdin", io.StringIO("secret\n"))
    previous = os.umask(0o022)
    try:
        assert main(["--init", "user", "add", "alice@example.org"]) == 0
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(previous)
    capsys.readouterr()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for path in data_dir.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        if path.is_socket():
            continue
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
