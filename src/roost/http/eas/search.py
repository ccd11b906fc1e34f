"""Search ([MS-ASCMD] §2.2.1.16) of the Mailbox store: free text through the store's
full-text index (the same one IMAP SEARCH TEXT uses), and received-date bounds, in the
folders named (with their subfolders under DeepTraversal) or the whole mailbox.

Results come newest first, the Range the device asked for (at most 1,000 at a time), with
the Total and each item's email fields (body as the device prefers it); the LongId of a
result is its ServerId, which ItemOperations Fetch takes too. The work follows the number
of matches, not the size of the mailbox: only the matches' dates are read to order them.
"""

from __future__ import annotations

from datetime import timedelta

from roost.http.eas.context import Command
from roost.http.eas.messages import load, server_id
from roost.http.eas.sync import find_mailbox
from roost.model import MailboxId, Uid
from roost.proto.eas.email import application_data
from roost.proto.eas.requests import SearchRequest, parse_search
from roost.proto.eas.wbxml import Element
from roost.store.api import (
    All,
    And,
    ArrivedAfter,
    Mailbox,
    MessageField,
    Not,
    Query,
    TextContains,
)

__all__ = ["Hit", "matches", "protocol_error", "run"]

S = "Search"
AS = "AirSync"
# §2.2.3.177.13 statuses (of Search, and of its Store)
SUCCESS, INVALID, NOT_FOUND, FOLDER_SYNC_REQUIRED = "1", "2", "6", "11"
MAX_MATCHES = 10_000  # newest first: the oldest beyond this are not offered


def _s(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(S, tag, children, value)


def protocol_error() -> Element:
    return _s("Search", None, _s("Status", INVALID))


def _store_status(status: str) -> Element:
    return _s(
        "Search",
        None,
        _s("Status", SUCCESS),
        _s("Response", None, _s("Store", None, _s("Status", status))),
    )


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return protocol_error()
    request = parse_search(document)
    if request.store.lower() != "mailbox":
        return _store_status(INVALID)  # GAL and document libraries are not served
    hits = await matches(command, request)
    if hits is None:
        return _store_status(FOLDER_SYNC_REQUIRED)
    chosen = hits[request.first : request.last + 1]
    results = [await _result(command, request, mailbox, uid) for _, mailbox, uid in chosen]
    store = [_s("Status", SUCCESS), *[r for r in results if r is not None]]
    if chosen:
        store.append(_s("Range", f"{request.first}-{request.first + len(chosen) - 1}"))
    store.append(_s("Total", str(len(hits))))
    return _s(
        "Search", None, _s("Status", SUCCESS), _s("Response", None, _s("Store", None, *store))
    )


Hit = tuple[float, MailboxId, Uid]  # (INTERNALDATE as a timestamp, mailbox, uid)


async def matches(command: Command, request: SearchRequest) -> list[Hit] | None:
    """The messages matching request, newest first; None if it names a folder that is not
    (or no longer) the account's. Search and Find both ask here."""
    mailboxes = await _scope(command, request)
    if mailboxes is None:
        return None
    query = _query(request)
    hits: list[Hit] = []
    for mailbox in mailboxes:
        uids = (await command.store.search(mailbox.id, query))[-MAX_MATCHES:]
        if uids:
            rows = await command.store.fetch_fields(mailbox.id, uids, [MessageField.INTERNALDATE])
            hits += [(row[1].timestamp(), mailbox.id, row[0]) for row in rows]
    hits.sort(key=lambda hit: (-hit[0], -hit[1], -hit[2]))
    return hits


async def _scope(command: Command, request: SearchRequest) -> list[Mailbox] | None:
    everything = await command.store.list_mailboxes(command.account.id)
    if not request.collection_ids:
        return everything
    chosen: dict[MailboxId, Mailbox] = {}
    for collection in request.collection_ids:
        mailbox = await find_mailbox(command, collection)
        if mailbox is None:
            return None
        chosen[mailbox.id] = mailbox
        if request.deep_traversal:
            for inner in everything:
                if inner.name.startswith(mailbox.name + "/"):
                    chosen[inner.id] = inner
    return list(chosen.values())


def _query(request: SearchRequest) -> Query:
    parts: list[Query] = []
    if request.free_text:
        parts += [TextContains(word) for word in request.free_text.split()]
    if request.received_after is not None:
        parts.append(ArrivedAfter(request.received_after))
    if request.received_before is not None:
        # received before T: not received at T or later
        parts.append(Not(ArrivedAfter(request.received_before - timedelta(microseconds=1))))
    return And(tuple(parts)) if parts else All()


async def _result(
    command: Command, request: SearchRequest, mailbox: MailboxId, uid: Uid
) -> Element | None:
    sources = await load(command.store, mailbox, [uid])
    if not sources:
        return None  # expunged meanwhile
    data = application_data(sources[0], request.body_preferences)
    return _s(
        "Result",
        None,
        Element(AS, "Class", value="Email"),
        _s("LongId", server_id(mailbox, uid)),
        Element(AS, "CollectionId", value=str(mailbox)),
        _s("Properties", None, *data),
    )
