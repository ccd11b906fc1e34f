"""`roost domain add|list|delete`: the domains this server receives mail for.

Creating an account makes its domain local too; `domain add` is for a domain before its
first account (or one that only has aliases, later). `domain delete` removes a domain with
no account or alias left in it (it names those that remain), so no mail goes with it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from roost.auth.accounts import normalise_domain
from roost.cli import CommandError
from roost.store.api import Store

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("domain", help="manage local domains")
    commands = parser.add_subparsers(title="domain commands", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="add a local domain")
    add.add_argument("domain", metavar="DOMAIN")
    add.set_defaults(command=add_domain)

    listing = commands.add_parser("list", help="list the local domains")
    listing.set_defaults(command=list_domains)

    delete = commands.add_parser("delete", help="remove a local domain with no addresses left")
    delete.add_argument("domain", metavar="DOMAIN")
    delete.set_defaults(command=delete_domain)


def _domain(args: argparse.Namespace) -> str:
    text: str = args.domain
    try:
        return normalise_domain(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def add_domain(ctx: Context, args: argparse.Namespace) -> int:
    domain = _domain(args)

    async def add(store: Store) -> None:
        await store.add_domain(domain)

    ctx.with_store(add)
    ctx.say(f"added {domain}")
    return 0


def list_domains(ctx: Context, args: argparse.Namespace) -> int:
    async def domains(store: Store) -> list[str]:
        return sorted(await store.list_domains())

    for domain in ctx.with_store(domains):
        ctx.say(domain)
    return 0


def delete_domain(ctx: Context, args: argparse.Namespace) -> int:
    domain = _domain(args)

    async def delete(store: Store) -> None:
        await store.delete_domain(domain)

    ctx.with_store(delete)
    ctx.say(f"deleted {domain}: mail for it is refused from now on")
    return 0
