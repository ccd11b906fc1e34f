"""`roost queue list|flush|delete`: the outbound queue, over the store interface.

`list` prints one line per recipient still to be delivered: the entry id, when it was
queued, the sender, the recipient, the attempts so far, the next attempt and the last
error. `flush` makes every entry due now and tells the running server, through its control
socket (roost.http.control), to try them at once; with no server running they wait for its
start. `delete` removes entries without telling anyone.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from roost.cli import CommandError
from roost.store.api import QueueEntry, Store

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("queue", help="inspect the outbound mail queue")
    commands = parser.add_subparsers(title="queue commands", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="list the queued recipients")
    listing.set_defaults(command=list_queue)

    flush = commands.add_parser("flush", help="retry every queued recipient now")
    flush.set_defaults(command=flush_queue)

    delete = commands.add_parser("delete", help="remove entries from the queue")
    delete.add_argument("ids", metavar="ID", nargs="+", type=int)
    delete.set_defaults(command=delete_entries)


def list_queue(ctx: Context, args: argparse.Namespace) -> int:
    async def entries(store: Store) -> list[QueueEntry]:
        return await store.queue_entries()

    found = ctx.with_store(entries)
    for entry in found:
        ctx.say(describe(entry))
    if not found:
        ctx.say("the queue is empty")
    return 0


def describe(entry: QueueEntry) -> str:
    sender = entry.mail_from or "<>"
    line = (
        f"{entry.id}  {entry.created:%Y-%m-%d %H:%M:%S}  {sender} -> {entry.recipient}  "
        f"attempts {entry.attempts}, next {entry.next_attempt:%Y-%m-%d %H:%M:%S}"
    )
    return f"{line}  ({entry.last_error})" if entry.last_error else line


def flush_queue(ctx: Context, args: argparse.Namespace) -> int:
    from roost.http.control import ControlClient, NoServer

    try:
        due = ControlClient(ctx.config.data_dir).flush()
    except NoServer:
        pass
    else:
        ctx.say(f"{due} entries due now; the server is trying them")
        return 0

    async def flush(store: Store) -> int:
        return await store.queue_flush()

    due = ctx.with_store(flush)
    ctx.say(f"{due} entries due now; no server is running here: they go when it starts")
    return 0


def delete_entries(ctx: Context, args: argparse.Namespace) -> int:
    ids: list[int] = args.ids

    async def remove(store: Store) -> int:
        return await store.queue_remove(ids)

    removed = ctx.with_store(remove)
    if removed < len(set(ids)):
        raise CommandError(f"removed {removed} of {len(set(ids))}: no such entry for the others")
    ctx.say(f"removed {removed}")
    return 0
