"""`roost user add|set|list|passwd|delete|quota`: accounts, over the store interface.

A new password comes from stdin when stdin is not a terminal (its first line, so scripts can
`echo secret | roost user add alice@example.org`), else from two hidden prompts that must
agree. An empty password is refused.

`--services imap,pop3,submission,activesync` (or `all`) limits what the account may log in
to (roost.auth.login); without it an account has every service.

`delete` never loses mail by accident: it asks (or wants --yes when no one can be asked),
and first copies the account's mail into a Maildir under <data_dir>/backups/
(roost.transfer.maildir) unless told --no-backup.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from roost.auth.login import SERVICES, parse_services
from roost.auth.passwords import hash_password
from roost.cli import CommandError, address_argument, quota
from roost.cli.quota import format_size
from roost.store.api import Account, Quota, Store
from roost.transfer.maildir import Exported, export_maildir
from roost.transfer.progress import Progress

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("user", help="manage accounts")
    commands = parser.add_subparsers(title="user commands", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="create an account (password from stdin or prompt)")
    add.add_argument("address", metavar="ADDRESS")
    _services_option(add)
    add.set_defaults(command=add_user)

    change = commands.add_parser("set", help="change an account's services")
    change.add_argument("address", metavar="ADDRESS")
    _services_option(change, required=True)
    change.set_defaults(command=set_user)

    listing = commands.add_parser("list", help="list the accounts (and limited services)")
    listing.set_defaults(command=list_users)

    passwd = commands.add_parser("passwd", help="set an account's password")
    passwd.add_argument("address", metavar="ADDRESS")
    passwd.set_defaults(command=set_password)

    delete = commands.add_parser(
        "delete", help="delete an account and all its mail (after a backup, unless told not to)"
    )
    delete.add_argument("address", metavar="ADDRESS")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument(
        "--no-backup", action="store_true", help="do not keep a copy of the account's mail"
    )
    delete.set_defaults(command=delete_user)

    quota.register(commands)  # `roost user quota` (roost.cli.quota)


def _services_option(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "--services",
        type=_services,
        required=required,
        metavar="LIST",
        help=f"comma-separated services the account may use: {','.join(SERVICES)} or all "
        "(default: all)",
    )


def _services(text: str) -> frozenset[str]:
    try:
        return parse_services(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _describe_services(services: frozenset[str] | None) -> str:
    if services is None or services >= frozenset(SERVICES):
        return "all services"
    return ",".join(s for s in SERVICES if s in services) or "no service (receives mail only)"


def add_user(ctx: Context, args: argparse.Namespace) -> int:
    address = _address(args)
    services: frozenset[str] | None = args.services

    async def absent(store: Store) -> bool:
        return await store.find_account(address) is None

    # Checked before asking for the password, so nobody types one for nothing.
    if not ctx.with_store(absent):
        raise CommandError(f"{address} already exists")
    password_hash = hash_password(read_new_password(ctx))

    async def create(store: Store) -> Account:
        account = await store.create_account(address, password_hash)
        if services is not None and services != frozenset(SERVICES):
            await store.set_account_services(account.id, services)
        return account

    ctx.with_store(create)
    suffix = "" if services is None else f" ({_describe_services(services)})"
    ctx.say(f"created {address}{suffix}")
    return 0


def set_user(ctx: Context, args: argparse.Namespace) -> int:
    address = _address(args)
    services: frozenset[str] = args.services
    # Every service is stored as "no limit", so services added later come with it.
    stored = None if services == frozenset(SERVICES) else services

    async def update(store: Store) -> None:
        account = await _require_account(store, address)
        await store.set_account_services(account.id, stored)

    ctx.with_store(update)
    ctx.say(f"{address}: {_describe_services(stored)}")
    return 0


def list_users(ctx: Context, args: argparse.Namespace) -> int:
    async def accounts(store: Store) -> list[tuple[str, frozenset[str] | None]]:
        found = sorted(await store.list_accounts(), key=lambda a: a.address)
        # A team (issue 15) is listed by `roost team list`, with its members.
        return [(a.address, await store.account_services(a.id)) for a in found if not a.is_team]

    for address, services in ctx.with_store(accounts):
        ctx.say(address if services is None else f"{address}  ({_describe_services(services)})")
    return 0


def set_password(ctx: Context, args: argparse.Namespace) -> int:
    address = _address(args)

    async def present(store: Store) -> None:
        await _require_account(store, address)

    ctx.with_store(present)
    password_hash = hash_password(read_new_password(ctx))

    async def update(store: Store) -> None:
        await store.set_password(address, password_hash)

    ctx.with_store(update)
    ctx.say(f"password changed for {address}")
    return 0


def delete_user(ctx: Context, args: argparse.Namespace) -> int:
    address = _address(args)

    async def usage(store: Store) -> Quota:
        account = await _require_account(store, address)
        return await store.get_quota(account.id)

    held = ctx.with_store(usage)
    what = f"{address} and its {held.messages_used} messages ({format_size(held.storage_used)}B)"
    if not args.yes:
        _confirm(ctx, what, backup=not args.no_backup)
    dest = None if args.no_backup else backup_path(ctx.config.data_dir, address)

    async def delete(store: Store) -> Exported | None:
        account = await _require_account(store, address)
        # The copy is complete before anything is removed; a failed copy removes nothing.
        progress = Progress(None, "backup")
        saved = None if dest is None else await export_maildir(store, account, dest, progress)
        await store.delete_account(address)
        return saved

    saved = ctx.with_store(delete)
    if saved is not None:
        ctx.say(f"saved {saved.messages} messages of {address} in {saved.path} (Maildir)")
    ctx.say(f"deleted {address}")
    return 0


def backup_path(data_dir: Path, address: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return data_dir / "backups" / f"{address}-{stamp}"


def _confirm(ctx: Context, what: str, *, backup: bool) -> None:
    if not ctx.stdin.isatty():
        raise CommandError(f"not deleting {what} without confirmation: add --yes")
    note = "a copy is kept in the data directory's backups/" if backup else "NO copy is kept"
    ctx.stdout.write(f"Delete {what}? ({note}) Type yes to confirm: ")
    ctx.stdout.flush()
    if ctx.stdin.readline().strip().lower() not in ("yes", "y"):
        raise CommandError("nothing deleted")


def read_new_password(ctx: Context) -> str:
    """The new password from stdin's first line, or from two matching prompts on a tty."""
    if ctx.stdin.isatty():
        password = ctx.getpass("New password: ")
        if ctx.getpass("Repeat password: ") != password:
            raise CommandError("the two passwords differ")
    else:
        password = ctx.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise CommandError("an empty password is not allowed")
    return password


def _address(args: argparse.Namespace) -> str:
    text: str = args.address
    return address_argument(text)


async def _require_account(store: Store, address: str) -> Account:
    account = await store.find_account(address)
    if account is None:
        raise CommandError(f"no account {address}")
    return account
