"""`roost domain add|list|set|delete`: the domains this server receives mail for.

Creating an account makes its domain local too; `domain add` is for a domain before its
first account (or one that only has aliases, later). `domain set DOMAIN --catch-all
ADDRESS...` sends mail for the domain's addresses that no account or alias has to those
accounts instead of refusing it (`--catch-all none` refuses it again); postmaster@ still
goes to the configured `postmaster`. `domain delete` removes a domain with no account or
alias left in it (it names those that remain), so no mail goes with it; its catch-all goes
along.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from roost.auth.accounts import normalise_domain
from roost.cli import CommandError, address_argument
from roost.store.api import Store

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("domain", help="manage local domains")
    commands = parser.add_subparsers(title="domain commands", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="add a local domain")
    add.add_argument("domain", metavar="DOMAIN")
    add.set_defaults(command=add_domain)

    listing = commands.add_parser("list", help="list the local domains (and catch-alls)")
    listing.set_defaults(command=list_domains)

    settings = commands.add_parser("set", help="change a local domain's settings")
    settings.add_argument("domain", metavar="DOMAIN")
    settings.add_argument(
        "--catch-all",
        metavar="ADDRESS",
        nargs="+",
        required=True,
        help="accounts that get mail for unknown addresses of DOMAIN ('none': refuse it)",
    )
    settings.set_defaults(command=set_domain)

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
    async def domains(store: Store) -> list[tuple[str, list[str]]]:
        found = []
        for domain in sorted(await store.list_domains()):
            found.append((domain, [a.address for a in await store.catch_all(domain)]))
        return found

    for domain, catch_all in ctx.with_store(domains):
        ctx.say(f"{domain}  catch-all -> {', '.join(catch_all)}" if catch_all else domain)
    return 0


def set_domain(ctx: Context, args: argparse.Namespace) -> int:
    domain = _domain(args)
    given: list[str] = args.catch_all
    none = [text.lower() for text in given] == ["none"]
    targets = [] if none else [address_argument(text) for text in given]

    async def catch_all(store: Store) -> list[str]:
        await store.set_catch_all(domain, targets)
        return [a.address for a in await store.catch_all(domain)]

    now = ctx.with_store(catch_all)
    if now:
        ctx.say(f"{domain}: mail for unknown addresses goes to {', '.join(now)}")
    else:
        ctx.say(f"{domain}: mail for unknown addresses is refused")
    return 0


def delete_domain(ctx: Context, args: argparse.Namespace) -> int:
    domain = _domain(args)

    async def delete(store: Store) -> None:
        await store.delete_domain(domain)

    ctx.with_store(delete)
    ctx.say(f"deleted {domain}: mail for it is refused from now on")
    return 0
