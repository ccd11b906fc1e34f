"""`roost team add|list` and `roost acl set|delete|list`: team mailboxes and rights (issue 15).

A team (support@, sales@) is an account nobody logs in to: its address receives mail over
SMTP and LMTP into its INBOX, its members see its mailboxes under "Shared/<team>/" with
their own rights, and may send as its address. `roost acl` grants and takes rights on any
account's mailbox (RFC 4314 letters lrswipkxtea; "+r" adds, "-r" takes away); a person's
mailbox shared this way appears to the grantee under "Other Users/<owner>/".
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from roost.cli import CommandError, address_argument
from roost.store.api import MEMBER_RIGHTS, AclEntry, Mailbox, Store, changed_rights

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    team = groups.add_parser("team", help="manage team mailboxes (support@, sales@)")
    commands = team.add_subparsers(title="team commands", metavar="ACTION", required=True)
    add = commands.add_parser(
        "add", help="make a team mailbox at ADDRESS for its members, or add members to one"
    )
    add.add_argument("address", metavar="ADDRESS")
    add.add_argument(
        "--member", action="append", default=[], metavar="USER", help="a member (repeatable)"
    )
    add.set_defaults(command=add_team)
    remove = commands.add_parser("remove", help="take members out of the team at ADDRESS")
    remove.add_argument("address", metavar="ADDRESS")
    remove.add_argument(
        "--member", action="append", default=[], metavar="USER", help="a member (repeatable)"
    )
    remove.set_defaults(command=remove_members)
    listing = commands.add_parser("list", help="list the teams and their members")
    listing.set_defaults(command=list_teams)

    acl = groups.add_parser("acl", help="manage rights on mailboxes (RFC 4314)")
    commands = acl.add_subparsers(title="acl commands", metavar="ACTION", required=True)
    grant = commands.add_parser("set", help="set what USER may do with OWNER's MAILBOX")
    grant.add_argument("owner", metavar="OWNER")
    grant.add_argument("mailbox", metavar="MAILBOX")
    grant.add_argument("user", metavar="USER")
    grant.add_argument(
        "rights", metavar="RIGHTS", help='letters of lrswipkxtea; "+r" adds, "-- -r" takes away'
    )
    grant.set_defaults(command=set_acl)
    delete = commands.add_parser("delete", help="take every right of USER on MAILBOX away")
    delete.add_argument("owner", metavar="OWNER")
    delete.add_argument("mailbox", metavar="MAILBOX")
    delete.add_argument("user", metavar="USER")
    delete.set_defaults(command=delete_acl)
    show = commands.add_parser("list", help="list the rights on OWNER's mailboxes")
    show.add_argument("owner", metavar="OWNER")
    show.add_argument("mailbox", metavar="MAILBOX", nargs="?")
    show.set_defaults(command=list_acl)


def add_team(ctx: Context, args: argparse.Namespace) -> int:
    address = address_argument(args.address)
    members = [address_argument(m) for m in args.member]
    if not members:
        raise CommandError("a team needs at least one --member")

    async def add(store: Store) -> None:
        team = await store.find_account(address)
        if team is None:
            await store.create_team(address, members)
            return
        if not team.is_team:
            raise CommandError(f"{address} is a user, not a team")
        # More members: each gets the members' rights on every team mailbox.
        for mailbox in await store.list_mailboxes(team.id):
            for member in members:
                await store.set_rights(mailbox.id, member, MEMBER_RIGHTS)

    ctx.with_store(add)
    ctx.say(f"team {address}: {', '.join(members)}")
    return 0


def remove_members(ctx: Context, args: argparse.Namespace) -> int:
    address = address_argument(args.address)
    members = [address_argument(m) for m in args.member]

    async def remove(store: Store) -> None:
        team = await store.find_account(address)
        if team is None or not team.is_team:
            raise CommandError(f"no such team: {address}")
        for mailbox in await store.list_mailboxes(team.id):
            for member in members:
                await store.delete_rights(mailbox.id, member)

    ctx.with_store(remove)
    ctx.say(f"team {address}: removed {', '.join(members)}")
    return 0


def list_teams(ctx: Context, args: argparse.Namespace) -> int:
    async def teams(store: Store) -> list[tuple[str, list[AclEntry]]]:
        found = []
        for account in await store.list_accounts():
            if account.is_team:
                inbox = await store.find_mailbox(account.id, "INBOX")
                found.append((account.address, await store.get_acl(inbox.id)))
        return found

    for address, entries in ctx.with_store(teams):
        ctx.say(f"{address}: {', '.join(f'{e.address} {e.rights}' for e in entries)}")
    return 0


async def _mailbox(store: Store, owner: str, name: str) -> Mailbox:
    account = await store.find_account(owner)
    if account is None:
        raise CommandError(f"no such account: {owner}")
    return await store.find_mailbox(account.id, name)


def set_acl(ctx: Context, args: argparse.Namespace) -> int:
    owner, user = address_argument(args.owner), address_argument(args.user)

    async def grant(store: Store) -> str:
        mailbox = await _mailbox(store, owner, args.mailbox)
        current = next((e.rights for e in await store.get_acl(mailbox.id) if e.address == user), "")
        return await store.set_rights(mailbox.id, user, changed_rights(current, args.rights))

    rights = ctx.with_store(grant)
    ctx.say(f"{owner} {args.mailbox}: {user} {rights or '(none)'}")
    return 0


def delete_acl(ctx: Context, args: argparse.Namespace) -> int:
    owner, user = address_argument(args.owner), address_argument(args.user)

    async def delete(store: Store) -> None:
        await store.delete_rights((await _mailbox(store, owner, args.mailbox)).id, user)

    ctx.with_store(delete)
    ctx.say(f"{owner} {args.mailbox}: {user} (none)")
    return 0


def list_acl(ctx: Context, args: argparse.Namespace) -> int:
    owner = address_argument(args.owner)

    async def listing(store: Store) -> list[tuple[str, list[AclEntry]]]:
        account = await store.find_account(owner)
        if account is None:
            raise CommandError(f"no such account: {owner}")
        mailboxes = await store.list_mailboxes(account.id)
        if args.mailbox is not None:
            mailboxes = [await store.find_mailbox(account.id, args.mailbox)]
        return [(m.name, await store.get_acl(m.id)) for m in mailboxes]

    for name, entries in ctx.with_store(listing):
        for entry in entries:
            ctx.say(f"{name}\t{entry.address}\t{entry.rights}")
    return 0
