"""`roost alias add|list|delete`: more addresses of an account.

Mail for an alias lands in its account's INBOX, and the account may send as the alias
(envelope sender and From:). An alias never logs in. Adding one makes its domain local.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from roost.cli import address_argument
from roost.store.api import Alias, Store

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("alias", help="manage aliases (more addresses of an account)")
    commands = parser.add_subparsers(title="alias commands", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="make ALIAS deliver to and send as ADDRESS")
    add.add_argument("alias", metavar="ALIAS")
    add.add_argument("address", metavar="ADDRESS")
    add.set_defaults(command=add_alias)

    listing = commands.add_parser("list", help="list the aliases and their accounts")
    listing.set_defaults(command=list_aliases)

    delete = commands.add_parser("delete", help="remove an alias")
    delete.add_argument("alias", metavar="ALIAS")
    delete.set_defaults(command=delete_alias)


def add_alias(ctx: Context, args: argparse.Namespace) -> int:
    alias, address = address_argument(args.alias), address_argument(args.address)

    async def add(store: Store) -> Alias:
        return await store.add_alias(alias, address)

    added = ctx.with_store(add)
    ctx.say(f"{added.address} -> {added.account}")
    return 0


def list_aliases(ctx: Context, args: argparse.Namespace) -> int:
    async def aliases(store: Store) -> list[Alias]:
        return await store.list_aliases()

    for alias in ctx.with_store(aliases):
        ctx.say(f"{alias.address} -> {alias.account}")
    return 0


def delete_alias(ctx: Context, args: argparse.Namespace) -> int:
    alias = address_argument(args.alias)

    async def delete(store: Store) -> None:
        await store.delete_alias(alias)

    ctx.with_store(delete)
    ctx.say(f"deleted {alias}")
    return 0
