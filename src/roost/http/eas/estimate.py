"""GetItemEstimate ([MS-ASCMD] §2.2.1.9): how many items the next Sync of each collection
would bring, counted from the same change log as Sync (roost.http.eas.sync), so a device
can show progress or skip a quiet folder."""

from __future__ import annotations

from roost.http.eas.context import Command
from roost.http.eas.sync import count_outgoing, find_mailbox
from roost.proto.eas.requests import EstimateCollection, parse_get_item_estimate
from roost.proto.eas.wbxml import Element

__all__ = ["protocol_error", "run"]

G = "GetItemEstimate"
# §2.2.3.177.7 statuses
SUCCESS, BAD_COLLECTION, NOT_PRIMED, BAD_KEY = "1", "2", "3", "4"


def _g(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(G, tag, children, value)


def protocol_error() -> Element:
    return _g(G, None, _g("Status", BAD_COLLECTION))


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return protocol_error()
    answers = [await _estimate(command, c) for c in parse_get_item_estimate(document)]
    return _g(G, None, *answers)


async def _estimate(command: Command, collection: EstimateCollection) -> Element:
    def status(value: str) -> Element:
        return _g("Response", None, _g("Status", value), _g("Collection", None, *ident))

    ident = (_g("CollectionId", collection.collection_id),)
    mailbox = await find_mailbox(command, collection.collection_id)
    if mailbox is None:
        return status(BAD_COLLECTION)
    if collection.sync_key == "0":
        return status(NOT_PRIMED)
    count = await count_outgoing(command, mailbox, collection.sync_key)
    if count is None:
        return status(BAD_KEY)
    return _g(
        "Response",
        None,
        _g("Status", SUCCESS),
        _g("Collection", None, *ident, _g("Estimate", str(count))),
    )
