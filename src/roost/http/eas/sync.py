"""Sync ([MS-ASCMD] §2.2.1.21) for the Email class, both ways.

Theory of operation
-------------------
For each collection (a mailbox, by its MAILBOXID) of the request:

1. The key. SyncKey 0 starts over: the answer is a key that holds nothing and no items.
   Any other key must be one of ours for this mailbox's UIDVALIDITY, not ahead of the
   mailbox (roost.http.eas.state); otherwise Status 3 and the device starts over.
2. The client's commands, applied first: Change (Read sets or clears \\Seen, Flag sets or
   clears \\Flagged), Delete (moved to the Trash mailbox when DeletesAsMoves, which is the
   default, else expunged), Fetch (the whole item, in Responses). Items the client changed
   are not echoed back to it in the same answer.
3. The server's changes, from the store's change log only: changes_since(the key's MODSEQ)
   gives Change (flags) and Delete (tombstones) for the uids the device holds (a range,
   low to high); then new mail above the range and older mail below it, newest first and
   no older than the device's FilterType, is sent as Add, widening the range (a phone
   shows today's mail first). At most WindowSize items go per answer (default 100); when
   there are more, MoreAvailable, and the new key says where to go on from. So a Sync
   after N changes costs N, and a flag set or a message expunged over IMAP is in the next
   Sync of every device, and the other way round: the store publishes after each commit,
   whoever wrote.
4. A Sync with Wait or HeartbeatInterval that has nothing to send waits, as Ping does
   (roost.http.eas.ping.watch), until one of its collections changes or the time is up.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from roost.delivery import deliver
from roost.errors import MailError
from roost.http.eas import ping
from roost.http.eas.context import Command
from roost.http.eas.messages import load, parse_server_id, server_id
from roost.http.eas.state import SyncState, parse_sync_key, sync_key
from roost.model import DRAFT, FLAGGED, SEEN, MailboxId, ModSeq, Uid
from roost.proto.eas.email import application_data, flag_element
from roost.proto.eas.requests import (
    ClientAdd,
    ClientChange,
    ClientDelete,
    ClientFetch,
    SyncCollection,
    SyncRequest,
    parse_sync,
)
from roost.proto.eas.wbxml import Element
from roost.store.api import (
    And,
    ArrivedAfter,
    FlagMode,
    Mailbox,
    MessageFlags,
    Not,
    UidIn,
)

__all__ = ["count_outgoing", "find_mailbox", "protocol_error", "run"]

AS = "AirSync"
DEFAULT_WINDOW = 100  # §2.2.3.199.2: 100 when the client does not say
# §2.2.3.177.17 Sync statuses
SUCCESS, INVALID_KEY, PROTOCOL_ERROR, NOT_FOUND, HIERARCHY_CHANGED, RESEND_FULL = (
    "1",
    "3",
    "4",
    "8",
    "12",
    "13",
)
BAD_WAIT = "14"
CONVERSION_ERROR = "6"  # the item cannot be taken as sent


def _a(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(AS, tag, children, value)


def protocol_error() -> Element:
    return _a("Sync", None, _a("Status", PROTOCOL_ERROR))


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return _a("Sync", None, _a("Status", RESEND_FULL))  # no cached request to repeat
    request = parse_sync(document)
    if not request.collections:
        return _a("Sync", None, _a("Status", RESEND_FULL))
    interval = _interval(request)
    if isinstance(interval, Element):
        return interval
    answers = [
        await _collection(command, collection, request.window_size)
        for collection in request.collections
    ]
    if interval and not any(c.commands or c.sync_key == "0" for c in request.collections):
        baseline = _quiet(request.collections, answers)
        # §2.2.3.191: nothing to send: the answer waits for a change (a long poll, as Ping)
        if baseline and await ping.watch(command, baseline, interval):
            answers = [
                await _collection(command, collection, request.window_size)
                for collection in request.collections
            ]
    return _a("Sync", None, _a("Collections", None, *answers))


def _interval(request: SyncRequest) -> int | Element | None:
    """How long a quiet Sync may wait, in seconds; or the answer to bounds not kept
    (§2.2.3.177.17 Status 14, with the Limit that would have been)."""
    if request.heartbeat_interval is not None:
        seconds, low, high = request.heartbeat_interval, ping.MIN_HEARTBEAT, ping.MAX_HEARTBEAT
    elif request.wait is not None:
        seconds, low, high = request.wait * 60, 60, 59 * 60
    else:
        return None
    if low <= seconds <= high:
        return seconds
    limit = low if seconds < low else high
    if request.heartbeat_interval is None:
        limit //= 60  # Wait is in minutes
    return _a("Sync", None, _a("Status", BAD_WAIT), _a("Limit", str(limit)))


def _quiet(
    collections: tuple[SyncCollection, ...], answers: list[Element]
) -> dict[MailboxId, ModSeq]:
    """If no answer carries anything, the state each one's new key stands for; else {}."""
    baseline: dict[MailboxId, ModSeq] = {}
    for collection, answer in zip(collections, answers, strict=True):
        state = parse_sync_key(answer.child_text(AS, "SyncKey") or "")
        if (
            state is None
            or answer.child_text(AS, "Status") != SUCCESS
            or any(c.tag in ("Commands", "Responses", "MoreAvailable") for c in answer.children)
        ):
            return {}
        baseline[MailboxId(int(collection.collection_id))] = state.modseq
    return baseline


class _InvalidKey(Exception):
    """The key cannot be answered (or the log no longer reaches back to it)."""


async def _collection(command: Command, col: SyncCollection, window: int | None) -> Element:
    mailbox = await _mailbox(command, col.collection_id)
    if mailbox is None:
        return _status(col, HIERARCHY_CHANGED)
    if col.sync_key == "0":
        top = mailbox.uidnext
        start = SyncState(mailbox.uidvalidity, mailbox.highestmodseq, top, top)
        await command.remember_sync(mailbox.id, ModSeq(0))
        return _a(
            "Collection",
            None,
            _a("SyncKey", sync_key(start)),
            _a("CollectionId", col.collection_id),
            _a("Status", SUCCESS),
        )
    state = parse_sync_key(col.sync_key)
    if (
        state is None
        or state.uidvalidity != mailbox.uidvalidity
        or state.modseq > mailbox.highestmodseq
    ):
        return _status(col, INVALID_KEY)
    responses, mine = await _apply(command, mailbox, col, state)
    size = max(1, min(col.window_size or window or DEFAULT_WINDOW, 512))
    try:
        outgoing = await _outgoing(command, mailbox, state, col, mine, size)
    except _InvalidKey:
        return _status(col, INVALID_KEY)
    await command.remember_sync(mailbox.id, ModSeq(0) if outgoing.more else outgoing.state.modseq)
    children = [
        _a("SyncKey", sync_key(outgoing.state)),
        _a("CollectionId", col.collection_id),
        _a("Status", SUCCESS),
    ]
    if outgoing.more:
        children.append(_a("MoreAvailable"))
    if outgoing.items:
        children.append(_a("Commands", None, *outgoing.items))
    if responses:
        children.append(_a("Responses", None, *responses))
    return _a("Collection", None, *children)


def _status(col: SyncCollection, status: str) -> Element:
    return _a(
        "Collection",
        None,
        _a("SyncKey", col.sync_key if status != INVALID_KEY else "0"),
        _a("CollectionId", col.collection_id),
        _a("Status", status),
    )


async def find_mailbox(command: Command, collection_id: str) -> Mailbox | None:
    """The account's mailbox that a CollectionId names, or None."""
    return await _mailbox(command, collection_id)


async def count_outgoing(command: Command, mailbox: Mailbox, key: str) -> int | None:
    """How many items the next Sync from this key would send at most (GetItemEstimate);
    None if the key cannot be answered."""
    state = parse_sync_key(key)
    if (
        state is None
        or state.uidvalidity != mailbox.uidvalidity
        or state.modseq > mailbox.highestmodseq
    ):
        return None
    count = 0
    if state.holds_any:
        changes = await command.store.changes_since(mailbox.id, state.modseq)
        if not changes.complete_since(state.modseq):
            return None
        count = len(_held_changes(changes.changed, changes.expunged, state, set()))
    uids, _ = await command.store.uids(mailbox.id)
    above = len(uids) - bisect.bisect_left(uids, state.high)
    return count + above + bisect.bisect_left(uids, state.low)


async def _mailbox(command: Command, collection_id: str) -> Mailbox | None:
    if not (collection_id.isascii() and collection_id.isdigit()) or len(collection_id) > 19:
        return None
    try:
        mailbox = await command.store.get_mailbox(MailboxId(int(collection_id)))
    except MailError:
        return None
    return mailbox if mailbox.account_id == command.account.id else None


# --- the client's commands
async def _apply(
    command: Command, mailbox: Mailbox, col: SyncCollection, state: SyncState
) -> tuple[list[Element], set[Uid]]:
    """Applies Change and Delete, answers Fetch; returns the Responses and the uids the
    client changed (not to be echoed back).

    §2.2.3.34 Conflict: when a message the client changes was changed on the server since
    the client's key, the server's version wins unless the client asked otherwise
    (Conflict 0): the client's change is dropped and the server's sent back instead."""
    store = command.store
    targets: dict[str, Uid | None] = {}
    for item in col.commands:
        if isinstance(item, ClientAdd):
            continue
        found = parse_server_id(item.server_id)
        targets[item.server_id] = found[1] if found and found[0] == mailbox.id else None
    known = [u for u in targets.values() if u is not None]
    existing = (
        {f.uid: f.modseq for f in await store.fetch_flags(mailbox.id, known)} if known else {}
    )
    responses: list[Element] = []
    mine: set[Uid] = set()
    deleted: list[Uid] = []
    for item in col.commands:
        if isinstance(item, ClientAdd):
            answer, added = await _add(command, mailbox, item)
            responses.append(answer)
            if added is not None:
                mine.add(added)
            continue
        uid = targets[item.server_id]
        if isinstance(item, ClientDelete):
            if uid is not None and uid in existing:
                deleted.append(uid)
                mine.add(uid)
            continue  # deleting what is gone already is done (a retried request)
        if uid is None or uid not in existing:
            tag = "Change" if isinstance(item, ClientChange) else "Fetch"
            responses.append(_a(tag, None, _a("ServerId", item.server_id), _a("Status", NOT_FOUND)))
            continue
        if isinstance(item, ClientChange):
            if col.server_wins and existing[uid] > state.modseq:
                continue  # changed on the server meanwhile: its version goes back
            await _change(command, mailbox.id, uid, item)
            mine.add(uid)
        elif isinstance(item, ClientFetch):
            responses.append(await _fetch(command, mailbox.id, uid, col))
    if deleted:
        await _delete(command, mailbox, deleted, col.deletes_as_moves)
    return responses, mine


async def _add(command: Command, mailbox: Mailbox, add: ClientAdd) -> tuple[Element, Uid | None]:
    """A draft from the client ([MS-ASCMD] §2.2.3.7.2, 16.x): only into the Drafts mailbox
    and only as a whole MIME message; else Status 6, as Exchange answers."""
    if mailbox.special_use != "\\Drafts" or add.mime is None:
        answer = _a("Add", None, _a("ClientId", add.client_id), _a("Status", CONVERSION_ERROR))
        return answer, None
    flags = (
        {DRAFT} | ({SEEN} if add.read else set()) | ({FLAGGED} if add.flag_status == 2 else set())
    )
    result = await deliver(command.store, mailbox.id, add.mime, frozenset(flags))
    uid = result.uids[0]
    answer = _a(
        "Add",
        None,
        _a("ClientId", add.client_id),
        _a("ServerId", server_id(mailbox.id, uid)),
        _a("Status", SUCCESS),
    )
    return answer, uid


async def _change(command: Command, mailbox: MailboxId, uid: Uid, change: ClientChange) -> None:
    store = command.store
    if change.read is not None:
        mode = FlagMode.ADD if change.read else FlagMode.REMOVE
        await store.store_flags(mailbox, [uid], mode, frozenset({SEEN}))
    if change.flag_status is not None:
        # [MS-ASEMAIL] §2.2.2.27: 2 active; 1 complete and 0 cleared both end \Flagged
        mode = FlagMode.ADD if change.flag_status == 2 else FlagMode.REMOVE
        await store.store_flags(mailbox, [uid], mode, frozenset({FLAGGED}))


async def _delete(command: Command, mailbox: Mailbox, uids: list[Uid], as_moves: bool) -> None:
    store = command.store
    if as_moves and mailbox.special_use != "\\Trash":
        trash = next(
            (
                m
                for m in await store.list_mailboxes(command.account.id)
                if m.special_use == "\\Trash"
            ),
            None,
        )
        if trash is not None:
            await store.copy(mailbox.id, sorted(uids), trash.id, move=True)
            return
    await store.expunge_uids(mailbox.id, sorted(uids))


async def _fetch(command: Command, mailbox: MailboxId, uid: Uid, col: SyncCollection) -> Element:
    (source,) = await load(command.store, mailbox, [uid])
    data = application_data(source, col.body_preferences, col.mime_support)
    return _a(
        "Fetch",
        None,
        _a("ServerId", server_id(mailbox, uid)),
        _a("Status", SUCCESS),
        _a("ApplicationData", None, *data),
    )


# --- the server's changes
@dataclass(frozen=True, slots=True)
class _Outgoing:
    items: list[Element]
    state: SyncState
    more: bool


async def _outgoing(
    command: Command,
    mailbox: Mailbox,
    state: SyncState,
    col: SyncCollection,
    mine: set[Uid],
    window: int,
) -> _Outgoing:
    items: list[Element] = []
    modseq = mailbox.highestmodseq
    if state.holds_any:  # what changed among the messages the device holds
        changes = await command.store.changes_since(mailbox.id, state.modseq)
        if not changes.complete_since(state.modseq):
            raise _InvalidKey
        pass_start = state.pass_start if state.resume else changes.highestmodseq
        pending = _held_changes(changes.changed, changes.expunged, state, mine)
        if not col.get_changes:
            # Nothing is sent; but if the only changes are the client's own, its key
            # moves past them, so that they are not echoed back later.
            if pending or state.resume:
                return _Outgoing([], state, False)
            moved = SyncState(state.uidvalidity, pass_start, state.low, state.high)
            return _Outgoing([], moved, False)
        if len(pending) > window:
            sent = pending[:window]
            resume = Uid(sent[-1][0] + 1)
            items = [_render_change(mailbox.id, entry) for entry in sent]
            held = SyncState(
                state.uidvalidity, state.modseq, state.low, state.high, resume, pass_start
            )
            return _Outgoing(items, held, True)
        items = [_render_change(mailbox.id, entry) for entry in pending]
        modseq = pass_start
    elif not col.get_changes:
        return _Outgoing([], state, False)
    room = window - len(items)
    uids, _ = await command.store.uids(mailbox.id)
    # new mail, from high up (so the range stays whole)
    top = bisect.bisect_left(uids, state.high)
    new = [u for u in uids[top : top + room + len(mine)] if u not in mine][:room]
    more = len(uids) - top - len(mine & set(uids[top:])) > len(new)
    if more:
        high = Uid(new[-1] + 1) if new else state.high
    else:
        high = Uid(max(state.high, uids[-1] + 1 if uids else 1))
    # older mail, from low down, newest first, as far as FilterType reaches
    bottom = bisect.bisect_left(uids, state.low)
    floor = await _floor(command, mailbox, uids, state.low, col.filter_type)
    room -= len(new)
    older = list(uids[max(floor, bottom - room) : bottom]) if room > 0 else []
    more = more or bottom - floor > len(older)
    low = Uid(older[0]) if older else state.low
    for source in reversed(await load(command.store, mailbox.id, [*older, *new])):
        items.append(
            _a(
                "Add",
                None,
                _a("ServerId", source.file_reference),
                _a(
                    "ApplicationData",
                    None,
                    *application_data(source, col.body_preferences, col.mime_support),
                ),
            )
        )
    return _Outgoing(items, SyncState(state.uidvalidity, modseq, low, high), more)


# [MS-ASCMD] §2.2.3.68.2 FilterType for email: how far back, in days
FILTER_DAYS = {1: 1, 2: 3, 3: 7, 4: 14, 5: 31, 6: 92, 7: 183}


async def _floor(
    command: Command,
    mailbox: Mailbox,
    uids: Sequence[Uid],
    low: Uid,
    filter_type: int | None,
) -> int:
    """The index in uids below which no older mail is sent: just above the newest message
    below low that is older than the FilterType allows (0: no limit)."""
    days = FILTER_DAYS.get(filter_type or 0)
    if days is None or low <= 1:
        return 0
    cutoff = datetime.now(UTC) - timedelta(days=days)
    too_old = await command.store.search(
        mailbox.id, And((UidIn(((1, low - 1),)), Not(ArrivedAfter(cutoff))))
    )
    return bisect.bisect_right(uids, too_old[-1]) if too_old else 0


_Entry = tuple[Uid, MessageFlags | None]  # (uid, its flags) or (uid, None): expunged


def _held_changes(
    changed: Sequence[MessageFlags], expunged: Sequence[Uid], state: SyncState, mine: set[Uid]
) -> list[_Entry]:
    """Changes and deletes of the messages the device holds, in uid order, from where a
    pass left off; not those the client made itself in this request."""

    def wanted(uid: Uid) -> bool:
        return state.holds(uid) and uid >= state.resume and uid not in mine

    entries: list[_Entry] = [(f.uid, f) for f in changed if wanted(f.uid)]
    entries += [(u, None) for u in expunged if wanted(u)]
    entries.sort(key=lambda entry: entry[0])
    return entries


def _render_change(mailbox: MailboxId, entry: _Entry) -> Element:
    uid, flags = entry
    if flags is None:
        return _a("Delete", None, _a("ServerId", server_id(mailbox, uid)))
    return _a(
        "Change",
        None,
        _a("ServerId", server_id(mailbox, uid)),
        _a(
            "ApplicationData",
            None,
            Element("Email", "Read", value="1" if SEEN in flags.flags else "0"),
            flag_element(flags.flags),
        ),
    )
