"""`roost user add|list|passwd|delete|quota`: accounts, over the store interface.

A new password comes from stdin when stdin is not a terminal (its first line, so scripts can
`echo secret | roost user add alice@example.org`), else from two hidden prompts that must
agree. An empty password is refused.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from roost.auth.passwords import hash_password
from roost.cli import CommandError, address_argument, quota
from roost.store.api import Account, Store

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("user", help="manage accounts")
    commands = parser.add_subparsers(title="user commands", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="create an account (password from stdin or prompt)")
    add.add_argument("address", metavar="ADDRESS")
    add.set_defaults(command=add_user)

    listing = commands.add_parser("list", help="list the accounts")
    listing.set_defaults(command=list_users)

    passwd = commands.add_parser("passwd", help="set an account's password")
    passwd.add_argument("address", metavar="ADDRESS")
    passwd.set_defaults(command=set_password)

    delete = commands.add_parser("delete", help="delete an account and all its mail")
    delete.add_argument("address", metavar="ADDRESS")
    delete.set_defaults(command=delete_user)

    quota.register(commands)  # `roost user quota` (roost.cli.quota)


def add_user(ctx: Context, args: argparse.Namespace) -> int:
    address = _address(args)

    async def absent(store: Store) -> bool:
        return await store.find_account(address) is None

    # Checked before asking for the password, so nobody types one for nothing.
    if not ctx.with_store(absent):
        raise CommandError(f"{address} already exists")
    password_hash = hash_password(read_new_password(ctx))

    async def create(store: Store) -> Account:
        return await store.create_account(address, password_hash)

    ctx.with_store(create)
    ctx.say(f"created {address}")
    return 0


def list_users(ctx: Context, args: argparse.Namespace) -> int:
    async def addresses(store: Store) -> list[str]:
        return sorted(account.address for account in await store.list_accounts())

    for address in ctx.with_store(addresses):
        ctx.say(address)
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

    async def delete(store: Store) -> None:
        await _require_account(store, address)
        await store.delete_account(address)

    ctx.with_store(delete)
    ctx.say(f"deleted {address}")
    return 0


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


async def _require_account(store: Store, address: str) -> None:
    if await store.find_account(address) is None:
        raise CommandError(f"no account {address}")
