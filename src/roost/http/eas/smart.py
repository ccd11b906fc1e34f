"""SmartReply and SmartForward ([MS-ASCMD] §2.2.1.20, §2.2.1.19): a reply or forward the
device wrote without the original, completed from the store (roost.proto.eas.compose)
and sent as SendMail sends (roost.http.eas.sendmail.submit). The original is then marked,
for every device: \\Answered after a reply, $Forwarded after a forward (the keyword IMAP
clients use). With ReplaceMime the device sent the whole message, which goes as it is.
"""

from __future__ import annotations

from roost.http.eas.context import Command
from roost.http.eas.messages import load, parse_server_id
from roost.http.eas.sendmail import status, submit
from roost.http.eas.sync import find_mailbox
from roost.model import ANSWERED
from roost.proto.eas.compose import complete_forward, complete_reply
from roost.proto.eas.requests import parse_smart
from roost.proto.eas.wbxml import Element
from roost.store.api import FlagMode

__all__ = ["FORWARDED", "protocol_error", "run"]

FORWARDED = "$Forwarded"
INVALID_MIME, ITEM_NOT_FOUND = "107", "150"  # [MS-ASCMD] §2.2.2 common statuses


def protocol_error(command: str = "SmartReply") -> Element:
    return status(INVALID_MIME, command)


async def run(command: Command, document: Element | None) -> Element | None:
    name = command.line.command
    if document is None:
        return status(INVALID_MIME, name)
    request = parse_smart(document)
    where = parse_server_id(request.source_item)
    if where is None or (
        request.source_folder is not None and request.source_folder != str(where[0])
    ):
        return status(ITEM_NOT_FOUND, name)
    mailbox = await find_mailbox(command, str(where[0]))
    sources = [] if mailbox is None else await load(command.store, where[0], [where[1]])
    if not sources:
        return status(ITEM_NOT_FOUND, name)
    original = sources[0]
    data = request.mime
    if not request.replace_mime:
        complete = complete_forward if request.forward else complete_reply
        data = complete(data, original.data, original.root, original.envelope)
    refusal = await submit(command, request.client_id, data, request.save_in_sent)
    if refusal is not None:
        return Element(refusal.namespace, name, refusal.children)
    mark = FORWARDED if request.forward else ANSWERED
    await command.store.store_flags(where[0], [where[1]], FlagMode.ADD, frozenset({mark}))
    return None
