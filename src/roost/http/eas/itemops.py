"""ItemOperations Fetch ([MS-ASCMD] §2.2.1.10): a whole item, or one attachment.

Fetch by CollectionId and ServerId returns the email's properties with its body as the
client prefers it (the whole body unless it asks for a TruncationSize): what a phone
fetches when the user opens a message it holds as a preview. Fetch by FileReference
("<mailbox>:<uid>:<section>", as Sync lists attachments) returns that part's decoded
content, base64 in Data. Fetching never marks the message read.
"""

from __future__ import annotations

import base64

from roost.errors import MailError
from roost.http.eas.context import Command
from roost.http.eas.messages import load, parse_server_id
from roost.model import MailboxId, Uid
from roost.proto.eas.email import application_data
from roost.proto.eas.requests import FetchItem, parse_item_operations
from roost.proto.eas.wbxml import Element
from roost.proto.mime import decode_body, find_section

__all__ = ["protocol_error", "run"]

IO = "ItemOperations"
AS = "AirSync"
# §2.2.3.177.8 ItemOperations statuses
SUCCESS, PROTOCOL_ERROR, NOT_FOUND, UNKNOWN_STORE, BAD_ATTACHMENT = "1", "2", "6", "9", "15"


def _i(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(IO, tag, children, value)


def protocol_error() -> Element:
    return _i("ItemOperations", None, _i("Status", PROTOCOL_ERROR))


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return protocol_error()
    request = parse_item_operations(document)
    answers = [await _fetch(command, item) for item in request.fetches]
    return _i("ItemOperations", None, _i("Status", SUCCESS), _i("Response", None, *answers))


async def _fetch(command: Command, item: FetchItem) -> Element:
    if item.store.lower() != "mailbox":
        return _i("Fetch", None, _i("Status", UNKNOWN_STORE))
    if item.file_reference is not None:
        return await _attachment(command, item.file_reference)
    where = parse_server_id(item.server_id or "")
    if where is None or not await _owns(command, where[0]):
        return _not_found(item)
    sources = await load(command.store, where[0], [where[1]])
    if not sources:
        return _not_found(item)
    data = application_data(sources[0], item.body_preferences, item.mime_support)
    return _i(
        "Fetch",
        None,
        _i("Status", SUCCESS),
        Element(AS, "CollectionId", value=item.collection_id or str(where[0])),
        Element(AS, "ServerId", value=item.server_id),
        Element(AS, "Class", value="Email"),
        _i("Properties", None, *data),
    )


def _not_found(item: FetchItem) -> Element:
    children = [_i("Status", NOT_FOUND)]
    if item.server_id is not None:
        children.append(Element(AS, "ServerId", value=item.server_id))
    return _i("Fetch", None, *children)


async def _owns(command: Command, mailbox: MailboxId) -> bool:
    try:
        found = await command.store.get_mailbox(mailbox)
    except MailError:
        return False
    return found.account_id == command.account.id


async def _attachment(command: Command, reference: str) -> Element:
    def refused() -> Element:
        return _i(
            "Fetch",
            None,
            _i("Status", BAD_ATTACHMENT),
            Element("AirSyncBase", "FileReference", value=reference),
        )

    item, _, section = reference.rpartition(":")
    where = parse_server_id(item)
    path = tuple(int(n) for n in section.split(".") if n.isascii() and n.isdigit() and len(n) < 6)
    if where is None or not path or len(path) != section.count(".") + 1:
        return refused()
    if not await _owns(command, where[0]):
        return refused()
    sources = await load(command.store, where[0], [Uid(where[1])])
    part = find_section(sources[0].root, path) if sources else None
    if part is None or part.is_multipart:
        return refused()
    raw = sources[0].data[part.body_start : part.end]
    content = decode_body(raw, part.encoding)
    content = raw if content is None else content
    return _i(
        "Fetch",
        None,
        _i("Status", SUCCESS),
        Element("AirSyncBase", "FileReference", value=reference),
        _i(
            "Properties",
            None,
            Element("AirSyncBase", "ContentType", value=f"{part.type}/{part.subtype}"),
            _i("Data", base64.b64encode(content).decode("ascii")),
        ),
    )
