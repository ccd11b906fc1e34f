"""The `roost` command: run the server and administer accounts over the store interface.

    roost [--config FILE] [--init] serve [--demo]
    roost ... user add|set|list|passwd|delete [ADDRESS] [--services LIST] [--yes] [--no-backup]
    roost ... user quota ADDRESS [--storage SIZE] [--messages N]
    roost ... domain add|list|delete [DOMAIN]
    roost ... alias add|list|delete ...
    roost ... team add|remove ADDRESS --member USER [--member USER...] | team list
    roost ... acl set OWNER MAILBOX USER RIGHTS | acl delete OWNER MAILBOX USER | acl list OWNER
    roost ... queue list|flush|delete [ID...]
    roost ... devices list [--user ADDRESS] | wipe|delete --user ADDRESS DEVICE_ID
    roost ... check [--repair]
    roost ... status | kick ADDRESS | dns DOMAIN
    roost ... import maildir|mbox PATH --user ADDRESS [--mailbox NAME]
    roost ... export --user ADDRESS maildir|mbox PATH [--mailbox NAME]
    roost ... backup DEST [--keep N] | backup --verify DEST
    roost ... restore SRC [--snapshot NAME] [--user ADDRESS [--mailbox NAME]
                          [--message-id ID] [--since DATE] [--before DATE]]
    roost ... migrate --from imaps://USER@HOST [--password-file FILE] [--user ADDRESS] [--sync S]
    roost --version

The configuration is the server's: --config FILE, else the file named by ROOST_CONFIG, else
/etc/roost/roost.toml if it exists, else the defaults (./roost-data) and ROOST_* variables.
A command that would open a store that does not exist yet refuses, saying where it looked,
unless told --init: run from the wrong directory, `roost user list` must not quietly
create (and list) an empty store. `serve` creates its store.

Each group lives in its own module (serve, users, domains, aliases, teams, queue, devices, check,
transfer, backup, migrate) and registers its subcommands on the parser. A subcommand is a function
`(Context, argparse.Namespace) -> int`; it gets every dependency from the Context, which
`main` builds once: the frozen Config, the standard streams, a way to open the store and a
way to run the server. This module and roost.app are the only places that name the
concrete store.

Expected failures (bad address, unknown user, a store refusal) are reported as one line on
stderr with exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

import roost
from roost.auth.accounts import normalise_address
from roost.config import Config, ConfigError, find_config_file, load_config
from roost.errors import MailError
from roost.store.api import Store

T = TypeVar("T")

StoreOpener = Callable[[Config], Awaitable[Store]]
# run_server(config, ready): serves until cancelled; calls ready() once it listens.
ServerRunner = Callable[[Config, Callable[[], None]], Coroutine[Any, Any, object]]


class CommandError(Exception):
    """A refusal reported on stderr as one line, with exit status 1."""


def address_argument(text: str) -> str:
    """A command-line address, normalised; CommandError if it is not one."""
    try:
        return normalise_address(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """Everything a subcommand may use; built once by `main`."""

    config: Config
    config_file: Path | None = None  # where the configuration came from (None: defaults)
    init: bool = False  # --init: creating a new store is intended
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    getpass: Callable[[str], str]
    open_store: StoreOpener
    run_server: ServerRunner

    def with_store(self, action: Callable[[Store], Awaitable[T]], *, create: bool = False) -> T:
        """Opens the store, runs `action` on it in a fresh event loop, closes the store.
        A store that does not exist yet is created only with `create` or --init."""
        if not (create or self.init):
            self.require_store()

        async def run() -> T:
            store = await self.open_store(self.config)
            try:
                return await action(store)
            finally:
                await store.close()

        return asyncio.run(run())

    def say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def require_store(self) -> None:
        """CommandError unless the configured store exists (a PostgreSQL one always
        counts: its database is made by its administrator, its tables by Roost)."""
        if self.config.database_url or store_exists(self.config):
            return
        origin = (
            f"configuration {self.config_file}"
            if self.config_file is not None
            else "no configuration file (not --config, ROOST_CONFIG nor /etc/roost/roost.toml)"
        )
        raise CommandError(
            f"no Roost store in {self.config.data_dir} ({origin}); point ROOST_CONFIG or "
            "--config at the server's configuration, or pass --init to create a new store there"
        )


def store_exists(config: Config) -> bool:
    from roost.store.engines.sqlite import DATABASE

    return (config.data_dir / DATABASE).is_file()


Command = Callable[[Context, argparse.Namespace], int]


PRIVATE_UMASK = 0o077


def main(argv: list[str] | None = None) -> int:
    """Runs one `roost` command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else 2
    config_file = find_config_file(args.config, os.environ)
    try:
        config = load_config(config_file, os.environ)
    except ConfigError as exc:
        print(f"roost: configuration: {exc}", file=sys.stderr)
        return 1
    context = Context(
        config=config,
        config_file=config_file,
        init=bool(args.init),
        stdin=sys.stdin,
        stdout=sys.stdout,
        stderr=sys.stderr,
        getpass=getpass.getpass,
        open_store=_open_store,
        run_server=_run_app,
    )
    command: Command = args.command
    # What any command creates (a store on a fresh data directory, a backup, the server's
    # files) is this user's only: mail and password hashes are nobody else's business.
    previous_umask = os.umask(PRIVATE_UMASK)
    try:
        return command(context, args)
    except (CommandError, MailError) as exc:
        print(f"roost: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130  # 128 + SIGINT, as shells report it
    finally:
        os.umask(previous_umask)


def build_parser() -> argparse.ArgumentParser:
    # The group modules import Context and CommandError from this module, so they are
    # imported once this module is complete.
    from roost.cli import (
        aliases,
        backup,
        check,
        devices,
        dns,
        domains,
        live,
        migrate,
        queue,
        serve,
        teams,
        transfer,
        users,
    )

    parser = argparse.ArgumentParser(prog="roost", description="Roost mail server.")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML configuration file (default: $ROOST_CONFIG, else /etc/roost/roost.toml "
        "if it exists, else built-in defaults and ROOST_* variables)",
    )
    parser.add_argument(
        "--init",
        action="store_true",
        help="create the store if it does not exist yet (otherwise a command refuses)",
    )
    parser.add_argument("--version", action="version", version=f"roost {roost.__version__}")
    groups = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    serve.register(groups)
    users.register(groups)
    domains.register(groups)
    aliases.register(groups)
    teams.register(groups)
    queue.register(groups)
    devices.register(groups)
    check.register(groups)
    live.register(groups)
    dns.register(groups)
    transfer.register(groups)
    backup.register(groups)
    migrate.register(groups)
    return parser


async def _open_store(config: Config) -> Store:
    # Imported on use: `roost user list` need not load an engine until it runs.
    from roost.backends import open_store

    return await open_store(config)


def _run_app(config: Config, ready: Callable[[], None]) -> Coroutine[Any, Any, object]:
    # Imported on use: the account commands never load the protocol servers.
    from roost.app import run

    return run(config, ready=ready)
