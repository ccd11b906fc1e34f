"""`roost user quota ADDRESS [--storage SIZE] [--messages N]`: show or set an account's limits.

Without options it shows usage and limits. SIZE is octets, or a number with a binary
suffix K, M, G or T (500M is 500 * 1024 * 1024; a trailing "B" or "iB" is allowed). The
word `none` (or `unlimited`) removes a limit; 0 is refused rather than guessed at, since
some servers read it as "unlimited" and others as "nothing". An option left out keeps its
limit. Mail already stored is never removed: an account over a lowered limit can only
shrink until it fits (roost.store.mail.quota).
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from roost.cli import CommandError, address_argument
from roost.store.api import Quota, Store

if TYPE_CHECKING:
    from roost.cli import Context

__all__ = ["format_size", "parse_count", "parse_size", "register"]

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"(\d{1,15})\s*([KMGT]?)(?:I?B)?", re.IGNORECASE)
_CLEAR = frozenset({"none", "unlimited"})


def parse_size(text: str) -> int | None:
    """Octets from "1048576", "500M", "2G", ...; None for "none" (no limit)."""
    if text.strip().lower() in _CLEAR:
        return None
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 500M, 2G or none)")
    return _positive(int(match[1]) * _UNITS[match[2].upper()])


def parse_count(text: str) -> int | None:
    if text.strip().lower() in _CLEAR:
        return None
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"not a number of messages: {text!r}")
    return _positive(int(text))


def _positive(value: int) -> int:
    if value == 0:
        raise argparse.ArgumentTypeError("a limit of 0 is ambiguous; use none for no limit")
    return value


def format_size(octets: int) -> str:
    """The largest unit that divides octets exactly, so "500M" reads back as it was set."""
    for suffix in ("T", "G", "M", "K"):
        if octets >= _UNITS[suffix] and octets % _UNITS[suffix] == 0:
            return f"{octets // _UNITS[suffix]}{suffix}"
    return str(octets)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    quota = commands.add_parser(
        "quota", help="show an account's usage and limits, or set them (none: no limit)"
    )
    quota.add_argument("address", metavar="ADDRESS")
    quota.add_argument(
        "--storage", type=parse_size, default=argparse.SUPPRESS, metavar="SIZE",
        help="storage limit: octets or 500M, 2G, ...; none removes it",
    )  # fmt: skip
    quota.add_argument(
        "--messages", type=parse_count, default=argparse.SUPPRESS, metavar="N",
        help="message count limit; none removes it",
    )  # fmt: skip
    quota.set_defaults(command=user_quota)


def user_quota(ctx: Context, args: argparse.Namespace) -> int:
    address = address_argument(args.address)
    changes = {name: getattr(args, name) for name in ("storage", "messages") if name in args}

    async def apply(store: Store) -> Quota:
        account = await store.find_account(address)
        if account is None:
            raise CommandError(f"no account {address}")
        if changes:
            current = await store.get_quota(account.id)
            await store.set_quota(
                account.id,
                changes.get("storage", current.storage_limit),
                changes.get("messages", current.message_limit),
            )
        return await store.get_quota(account.id)

    quota = ctx.with_store(apply)
    ctx.say(address)
    for line in describe(quota):
        ctx.say(f"  {line}")
    return 0


def describe(quota: Quota) -> list[str]:
    storage = f"storage: {quota.storage_used} bytes used"
    if quota.storage_limit is None:
        storage += ", no limit"
    else:
        storage += f" of {format_size(quota.storage_limit)} ({quota.storage_limit} bytes)"
    messages = f"messages: {quota.messages_used} used"
    messages += ", no limit" if quota.message_limit is None else f" of {quota.message_limit}"
    return [storage, messages]
