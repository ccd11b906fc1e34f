"""`roost alias add|list|delete`: more addresses that deliver to accounts.

An alias delivers to one or more accounts (its targets), each getting one copy, and each
target may send as it (envelope sender and From:): a shared address such as sales@,
answered by whoever is on duty. An alias never logs in. Adding one makes its domain local.
`alias add` on an existing alias adds targets; `alias delete ALIAS TARGET` removes one
(the alias goes with its last). A domain's catch-all is `roost domain set --catch-all`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from roost.cli import address_argument
from roost.store.api import Alias, Store

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("alias", help="manage aliases (addresses delivering to accounts)")
    commands = parser.add_subparsers(title="alias commands", metavar="ACTION", required=True)

    add = commands.add_parser(
        "add", help="make ALIAS deliver to each ADDRESS too (each may send as it)"
    )
    add.add_argument("alias", metavar="ALIAS")
    add.add_argument("targets", metavar="ADDRESS", nargs="+")
    add.set_defaults(command=add_alias)

    listing = commands.add_parser("list", help="list the aliases and their accounts")
    listing.set_defaults(command=list_aliases)

    delete = commands.add_parser(
        "delete", help="remove an alias, or only the ADDRESSes named from it"
    )
    delete.add_argument("alias", metavar="ALIAS")
    delete.add_argument("targets", metavar="ADDRESS", nargs="*")
    delete.set_defaults(command=delete_alias)


def shown(alias: Alias) -> str:
    return f"{alias.address} -> {', '.join(alias.accounts)}"


def add_alias(ctx: Context, args: argparse.Namespace) -> int:
    alias = address_argument(args.alias)
    targets = [address_argument(target) for target in args.targets]

    async def add(store: Store) -> Alias:
        return await store.add_alias(alias, targets)

    ctx.say(shown(ctx.with_store(add)))
    return 0


def list_aliases(ctx: Context, args: argparse.Namespace) -> int:
    async def aliases(store: Store) -> list[Alias]:
        return await store.list_aliases()

    for alias in ctx.with_store(aliases):
        ctx.say(shown(alias))
    return 0


def delete_alias(ctx: Context, args: argparse.Namespace) -> int:
    alias = address_argument(args.alias)
    targets = [address_argument(target) for target in args.targets]

    async def delete(store: Store) -> list[Alias]:
        await store.delete_alias(alias, targets)
        return [a for a in await store.list_aliases() if a.address.lower() == alias.lower()]

    left = ctx.with_store(delete)
    ctx.say(shown(left[0]) if left else f"deleted {alias}")
    return 0
