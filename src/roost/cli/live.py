"""`roost status` and `roost kick ADDRESS`: the running server's sessions, through its
control socket in the data directory (roost.http.control).

`status` prints one line per live session (id, protocol, account, peer, client, since,
commands) and the queue; `kick` ends every session of an account, each with its
protocol's goodbye. Both say so in one line when no server runs on this data directory.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from roost.cli import CommandError, address_argument

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = groups.add_parser("status", help="show the running server's sessions and queue")
    status.set_defaults(command=show_status)
    kick = groups.add_parser("kick", help="end every session of an account")
    kick.add_argument("address", metavar="ADDRESS")
    kick.set_defaults(command=kick_account)


def _client(ctx: Context) -> Any:
    from roost.http.control import ControlClient

    return ControlClient(ctx.config.data_dir)


def _call(ctx: Context, method: str, *args: str) -> Any:
    from roost.http.control import NoServer

    try:
        return getattr(_client(ctx), method)(*args)
    except NoServer as exc:
        raise CommandError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise CommandError(f"the server did not answer: {exc}") from None


def show_status(ctx: Context, args: argparse.Namespace) -> int:
    found: dict[str, Any] = _call(ctx, "status")
    sessions: list[dict[str, Any]] = found["sessions"]
    ctx.say(f"{len(sessions)} sessions")
    for s in sessions:
        ctx.say(
            f"  {s['id']}  {s['protocol']:<10} {s['account'] or '-':<30} {s['peer']:<15} "
            f"since {s['since']}  {s['commands']} commands"
            + (f"  client {s['client']}" if s["client"] else "")
        )
    queue = found["queue"]
    if queue["entries"]:
        ctx.say(f"queue: {queue['entries']} recipients waiting, the oldest since {queue['oldest']}")
    else:
        ctx.say("queue: empty")
    return 0


def kick_account(ctx: Context, args: argparse.Namespace) -> int:
    address = address_argument(args.address)
    ended: int = _call(ctx, "kick", address)
    ctx.say(f"ended {ended} sessions of {address}")
    return 0
