"""FolderCreate, FolderUpdate and FolderDelete ([MS-ASCMD] §2.2.1.3, .6, .4): the device
changes the folder tree, with the store's own create, rename and delete, so IMAP devices
see the same change (and hear of it at once).

Each carries the device's FolderSync key. Roost answers only a device whose folder list is
current (no mailbox change after its key; else Status 9: it runs FolderSync, then tries
again), so the new key it returns can move past the device's own change without skipping
anyone else's: it is the account MODSEQ of the last change in the log that this command
made, before any other.
"""

from __future__ import annotations

import logging

from roost.errors import MailError, MailErrorKind
from roost.http.eas.context import Command
from roost.http.eas.state import folder_key, parse_folder_key
from roost.model import MailboxId, ModSeq
from roost.proto.eas.requests import FolderChangeRequest, parse_folder_change
from roost.proto.eas.wbxml import Element
from roost.store.api import Mailbox

__all__ = ["protocol_error", "run"]

log = logging.getLogger("roost.activesync")

FH = "FolderHierarchy"
# §2.2.3.177.3/.4/.6 statuses
SUCCESS, EXISTS, SPECIAL, MISSING, NO_PARENT, SERVER_ERROR, BAD_KEY, MALFORMED = (
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "9",
    "10",
)


def _f(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(FH, tag, children, value)


def protocol_error(command: str = "FolderCreate") -> Element:
    return _f(command, None, _f("Status", MALFORMED))


class _Refused(Exception):
    def __init__(self, status: str) -> None:
        self.status = status


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return protocol_error()
    request = parse_folder_change(document)
    if request.command != command.line.command:
        return _f(command.line.command, None, _f("Status", MALFORMED))
    try:
        since = await _current_key(command, request.sync_key)
        changed, extra = await _apply(command, request)
    except _Refused as refused:
        return _f(request.command, None, _f("Status", refused.status))
    key = await _key_after(command, since, changed)
    return _f(request.command, None, _f("Status", SUCCESS), _f("SyncKey", folder_key(key)), *extra)


async def _current_key(command: Command, key: str) -> ModSeq:
    since = parse_folder_key(key)
    if since is None:
        raise _Refused(BAD_KEY)
    current, log_ = await command.store.mailbox_changes_since(command.account.id, since)
    if log_ or current < since:
        raise _Refused(BAD_KEY)
    return since


async def _apply(
    command: Command, request: FolderChangeRequest
) -> tuple[MailboxId, tuple[Element, ...]]:
    store, account = command.store, command.account.id
    mailboxes = await store.list_mailboxes(account)
    by_id = {str(m.id): m for m in mailboxes}
    target = by_id.get(request.server_id or "")
    if request.command != "FolderCreate":
        if target is None:
            raise _Refused(MISSING)
        if target.name.upper() == "INBOX" or target.special_use:
            raise _Refused(SPECIAL)  # the device's default folders stay
    try:
        if request.command == "FolderDelete":
            assert target is not None
            await store.delete_mailbox(account, target.name)
            return target.id, ()
        name = _name(request, by_id)
        if request.command == "FolderUpdate":
            assert target is not None
            if name != target.name:
                await store.rename_mailbox(account, target.name, name)
            return target.id, ()
        created = await store.create_mailbox(account, name)
        return created.id, (_f("ServerId", str(created.id)),)
    except MailError as exc:
        if exc.kind is MailErrorKind.ALREADY_EXISTS:
            raise _Refused(EXISTS) from None
        log.info("activesync %s refused: %s", request.command, exc.text)
        raise _Refused(SERVER_ERROR) from None


def _name(request: FolderChangeRequest, by_id: dict[str, Mailbox]) -> str:
    leaf = request.display_name or ""
    if "/" in leaf or leaf.strip() != leaf or not leaf:
        raise _Refused(MALFORMED)
    if request.parent_id in (None, "0"):
        return leaf
    parent = by_id.get(request.parent_id or "")
    if parent is None:
        raise _Refused(NO_PARENT)
    return f"{parent.name}/{leaf}"


async def _key_after(command: Command, since: ModSeq, changed: MailboxId) -> ModSeq:
    """The MODSEQ of the last of this command's own changes, before any other's."""
    _, log_ = await command.store.mailbox_changes_since(command.account.id, since)
    key = since
    for change in log_:
        if change.mailbox_id != changed:
            break
        key = change.modseq
    return key
