"""MoveItems ([MS-ASCMD] §2.2.1.12): messages moved between the account's mailboxes with
the store's MOVE (copy and expunge in one transaction, flags kept), so IMAP devices see an
expunge in one mailbox and a new message in the other, as for their own MOVE."""

from __future__ import annotations

from roost.http.eas.context import Command
from roost.http.eas.messages import parse_server_id, server_id
from roost.http.eas.sync import find_mailbox
from roost.proto.eas.requests import MoveRequest, parse_move_items
from roost.proto.eas.wbxml import Element

__all__ = ["protocol_error", "run"]

M = "Move"
# §2.2.3.177.10 statuses
BAD_SOURCE, BAD_DESTINATION, SUCCESS, SAME_FOLDER = "1", "2", "3", "4"


def _m(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(M, tag, children, value)


def protocol_error() -> Element:
    return _m("MoveItems", None, _m("Response", None, _m("Status", BAD_SOURCE)))


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return protocol_error()
    answers = [await _move(command, move) for move in parse_move_items(document)]
    return _m("MoveItems", None, *answers)


async def _move(command: Command, move: MoveRequest) -> Element:
    def answer(status: str, *more: Element) -> Element:
        return _m("Response", None, _m("SrcMsgId", move.source_item), _m("Status", status), *more)

    source = await find_mailbox(command, move.source_folder)
    item = parse_server_id(move.source_item)
    if source is None or item is None or item[0] != source.id:
        return answer(BAD_SOURCE)
    destination = await find_mailbox(command, move.destination_folder)
    if destination is None:
        return answer(BAD_DESTINATION)
    if destination.id == source.id:
        return answer(SAME_FOLDER)
    result = await command.store.copy(source.id, [item[1]], destination.id, move=True)
    if not result.dest_uids:
        return answer(BAD_SOURCE)  # gone meanwhile
    return answer(SUCCESS, _m("DstMsgId", server_id(destination.id, result.dest_uids[0])))
