"""Ping ([MS-ASCMD] §2.2.1.13): push, as one long HTTP request.

The device names the folders to watch and how long to wait (HeartbeatInterval, seconds).
The answer is Status 2 with the folders that changed, as soon as one does, or Status 1
when the interval passes quietly. "Changed" means changed since the device last synced
that folder (the store keeps that position per device, so whichever worker serves the
Ping, and after a restart, the answer is the same), else since the Ping began. Waiting
uses the same path as IMAP IDLE: a hint from the notifier (the store publishes after
every commit, whoever wrote), then a read of the folders' HIGHESTMODSEQ from the store,
which decides; a hint alone never does.
"""

from __future__ import annotations

import asyncio
import contextlib

from roost.errors import MailError
from roost.http.eas.context import Command
from roost.model import MailboxId, ModSeq
from roost.notify.api import Listener
from roost.proto.eas.requests import parse_ping
from roost.proto.eas.wbxml import Element

__all__ = ["MAX_HEARTBEAT", "MIN_HEARTBEAT", "protocol_error", "run", "watch"]

PING = "Ping"
MIN_HEARTBEAT = 60  # §2.2.3.79.2: the server chooses the bounds; these are Exchange's
MAX_HEARTBEAT = 3540
MAX_FOLDERS = 300
# §2.2.3.177.11 Ping statuses
QUIET, CHANGED, MISSING, FORMAT, BAD_INTERVAL, TOO_MANY, HIERARCHY = (
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
)


def _p(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(PING, tag, children, value)


def protocol_error() -> Element:
    return _p("Ping", None, _p("Status", FORMAT))


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return _p("Ping", None, _p("Status", MISSING))  # no earlier Ping kept to repeat
    request = parse_ping(document)
    if request.heartbeat_interval is None or not request.folders:
        return _p("Ping", None, _p("Status", MISSING))
    if not MIN_HEARTBEAT <= request.heartbeat_interval <= MAX_HEARTBEAT:
        bound = MIN_HEARTBEAT if request.heartbeat_interval < MIN_HEARTBEAT else MAX_HEARTBEAT
        return _p("Ping", None, _p("Status", BAD_INTERVAL), _p("HeartbeatInterval", str(bound)))
    if len(request.folders) > MAX_FOLDERS:
        return _p("Ping", None, _p("Status", TOO_MANY), _p("MaxFolders", str(MAX_FOLDERS)))
    ids = [f.id for f in request.folders]
    if not all(i.isascii() and i.isdigit() and len(i) < 19 for i in ids):  # not "²"
        return _p("Ping", None, _p("Status", HIERARCHY))
    watched = [MailboxId(int(i)) for i in ids]
    listener = command.service.notifier.listen(command.account.id)
    try:
        baseline = await _levels(command, watched)
        if baseline is None:
            return _p("Ping", None, _p("Status", HIERARCHY))
        synced = await command.last_syncs()
        for mailbox in watched:
            if mailbox in synced:
                baseline[mailbox] = min(baseline[mailbox], synced[mailbox])
        changed = await _wait(command, watched, baseline, request.heartbeat_interval, listener)
    finally:
        listener.close()
    if changed is None:
        return _p("Ping", None, _p("Status", HIERARCHY))
    if not changed:
        return _p("Ping", None, _p("Status", QUIET))
    folders = [_p("Folder", str(m)) for m in changed]
    return _p("Ping", None, _p("Status", CHANGED), _p("Folders", None, *folders))


async def watch(
    command: Command, baseline: dict[MailboxId, ModSeq], seconds: float
) -> list[MailboxId] | None:
    """The mailboxes of baseline whose HIGHESTMODSEQ rose above it, as soon as there are
    any (or [] after `seconds`, or when the server stops; None if one was deleted): the
    wait of Ping, and of a Sync with Wait or HeartbeatInterval."""
    listener = command.service.notifier.listen(command.account.id)
    try:
        return await _wait(command, list(baseline), baseline, seconds, listener)
    finally:
        listener.close()


async def _levels(command: Command, watched: list[MailboxId]) -> dict[MailboxId, ModSeq] | None:
    """Each watched mailbox's HIGHESTMODSEQ; None if one is gone or not the account's."""
    levels: dict[MailboxId, ModSeq] = {}
    for mailbox_id in watched:
        try:
            mailbox = await command.store.get_mailbox(mailbox_id)
        except MailError:
            return None
        if mailbox.account_id != command.account.id:
            return None
        levels[mailbox_id] = mailbox.highestmodseq
    return levels


async def _wait(
    command: Command,
    watched: list[MailboxId],
    baseline: dict[MailboxId, ModSeq],
    heartbeat: float,
    listener: Listener,
) -> list[MailboxId] | None:
    """The watched mailboxes above their baseline, once there are any (or [] when the
    heartbeat passes, or the server stops); None if one was deleted."""
    stopping = command.service.stopping
    loop = asyncio.get_running_loop()
    deadline = loop.time() + heartbeat
    hinted: set[MailboxId | None] = set(watched)  # look once before the first wait
    while True:
        if None in hinted or hinted & set(watched):
            levels = await _levels(command, watched)
            if levels is None:
                return None
            changed = [m for m in watched if levels[m] > baseline[m]]
            if changed:
                return changed
        remaining = deadline - loop.time()
        if remaining <= 0 or stopping.is_set():
            return []
        # Both waits are owned here and cancelled before returning.
        waiter = asyncio.ensure_future(listener.wait())
        stop = asyncio.ensure_future(stopping.wait())
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, stop):
                task.cancel()
        hinted = listener.drain()
