"""Find ([MS-ASCMD] §2.2.1.2, protocol 16.1): free-text search of the mailbox, the way 16.1
devices search. The same matching as Search (roost.http.eas.search: the store's full-text
index, newest first); each result is a short summary (subject, date, people, preview),
and its ServerId fetches the whole message. A GAL search is not served (Status 2)."""

from __future__ import annotations

from roost.http.eas.context import Command
from roost.http.eas.messages import load, server_id
from roost.http.eas.search import matches
from roost.model import MailboxId, Uid
from roost.proto.eas.email import find_properties
from roost.proto.eas.requests import SearchRequest, parse_find
from roost.proto.eas.wbxml import Element

__all__ = ["protocol_error", "run"]

F = "Find"
AS = "AirSync"
IO = "ItemOperations"  # the Response names its store as itemoperations:Store
# §2.2.3.177.2 statuses
SUCCESS, INVALID, FOLDER_SYNC_REQUIRED = "1", "2", "3"


def _f(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(F, tag, children, value)


def protocol_error() -> Element:
    return _f("Find", None, _f("Status", INVALID))


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return protocol_error()
    request = parse_find(document)
    if request.free_text is None:
        return protocol_error()  # GAL
    search = SearchRequest(
        store="Mailbox",
        free_text=request.free_text,
        collection_ids=() if request.collection_id is None else (request.collection_id,),
        first=request.first,
        last=request.last,
        deep_traversal=request.deep_traversal,
    )
    hits = await matches(command, search)
    if hits is None:
        return _f("Find", None, _f("Status", FOLDER_SYNC_REQUIRED))
    chosen = hits[request.first : request.last + 1]
    results = [await _result(command, mailbox, uid) for _, mailbox, uid in chosen]
    response: list[Element] = [
        Element(IO, "Store", value="Mailbox"),
        _f("Status", SUCCESS),
        *[r for r in results if r is not None],
    ]
    if chosen:
        response.append(_f("Range", f"{request.first}-{request.first + len(chosen) - 1}"))
    response.append(_f("Total", str(len(hits))))
    return _f("Find", None, _f("Status", SUCCESS), _f("Response", None, *response))


async def _result(command: Command, mailbox: MailboxId, uid: Uid) -> Element | None:
    sources = await load(command.store, mailbox, [uid])
    if not sources:
        return None
    return _f(
        "Result",
        None,
        Element(AS, "Class", value="Email"),
        Element(AS, "ServerId", value=server_id(mailbox, uid)),
        Element(AS, "CollectionId", value=str(mailbox)),
        _f("Properties", None, *find_properties(sources[0])),
    )
