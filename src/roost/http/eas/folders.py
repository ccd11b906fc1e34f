"""FolderSync ([MS-ASCMD] §2.2.1.5): the account's mailboxes as ActiveSync folders.

A folder's ServerId is its MAILBOXID (stable across renames, never reused), its ParentId
the id of the mailbox one level up ("0" at the top), its DisplayName the last component of
the name, its Type from the special use (§2.2.3.186.3: 2 Inbox, 3 Drafts, 4 Deleted Items,
5 Sent Items, 12 any other mail folder).

SyncKey 0 lists every folder. A later key ("F<account modseq>", roost.http.eas.state)
replays the account's mailbox log after that MODSEQ, netted per mailbox: created and still
there is an Add, renamed is an Update, deleted (and known to the device) is a Delete, and
created then deleted is nothing. The work follows the number of mailbox changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.http.eas.context import Command
from roost.http.eas.state import folder_key, parse_folder_key
from roost.model import MailboxId, ModSeq
from roost.proto.eas.requests import parse_folder_sync
from roost.proto.eas.wbxml import Element
from roost.store.api import Mailbox, MailboxChange, MailboxChangeKind

__all__ = ["folder_type", "protocol_error", "run"]

FH = "FolderHierarchy"
INBOX_TYPE = 2
MAIL_TYPE = 12
SPECIAL_TYPES = {"\\Drafts": 3, "\\Trash": 4, "\\Sent": 5}
_FAR_FUTURE = ModSeq(2**62)  # "changes after this" is none: asks only the current modseq


def _f(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(FH, tag, children, value)


def protocol_error() -> Element:
    return _f("FolderSync", None, _f("Status", "10"))  # §2.2.3.177.5: incorrect request


def folder_type(mailbox: Mailbox) -> int:
    if mailbox.name.upper() == "INBOX":
        return INBOX_TYPE
    return SPECIAL_TYPES.get(mailbox.special_use or "", MAIL_TYPE)


def _folder(tag: str, mailbox: Mailbox, by_name: dict[str, Mailbox]) -> Element:
    parent_name, _, leaf = mailbox.name.rpartition("/")
    parent = by_name.get(parent_name) if parent_name else None
    return _f(
        tag,
        None,
        _f("ServerId", str(mailbox.id)),
        _f("ParentId", str(parent.id) if parent else "0"),
        _f("DisplayName", leaf),
        _f("Type", str(folder_type(mailbox))),
    )


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return protocol_error()
    request = parse_folder_sync(document)
    store, account = command.store, command.account.id
    if request.sync_key == "0":
        current, _ = await store.mailbox_changes_since(account, _FAR_FUTURE)
        mailboxes = await store.list_mailboxes(account)
        by_name = {m.name: m for m in mailboxes}
        # Parents before children, so a device can file each folder as it reads it.
        ordered = sorted(mailboxes, key=lambda m: (m.name.count("/"), m.name))
        changes = [_folder("Add", m, by_name) for m in ordered]
        return _response(current, changes)
    since = parse_folder_key(request.sync_key)
    if since is None:
        return _f("FolderSync", None, _f("Status", "9"))  # §2.2.3.177.5: invalid key
    current, log = await store.mailbox_changes_since(account, since)
    if current < since:
        return _f("FolderSync", None, _f("Status", "9"))
    if not log:
        return _response(current, [])
    mailboxes = await store.list_mailboxes(account)
    return _response(current, _netted(log, mailboxes))


def _netted(log: Sequence[MailboxChange], mailboxes: Sequence[Mailbox]) -> list[Element]:
    by_id = {m.id: m for m in mailboxes}
    by_name = {m.name: m for m in mailboxes}
    created: set[MailboxId] = set()
    touched: dict[MailboxId, None] = {}  # in order of first change
    for change in log:
        if change.mailbox_id is None or change.kind in (
            MailboxChangeKind.SUBSCRIBED,
            MailboxChangeKind.UNSUBSCRIBED,
        ):
            continue
        if change.kind is MailboxChangeKind.CREATED:
            created.add(change.mailbox_id)
        touched.setdefault(change.mailbox_id, None)
    elements: list[Element] = []
    for mailbox_id in touched:
        mailbox = by_id.get(mailbox_id)
        if mailbox is None:
            if mailbox_id not in created:
                elements.append(_f("Delete", None, _f("ServerId", str(mailbox_id))))
        elif mailbox_id in created:
            elements.append(_folder("Add", mailbox, by_name))
        else:
            elements.append(_folder("Update", mailbox, by_name))
    return elements


def _response(current: ModSeq, changes: list[Element]) -> Element:
    return _f(
        "FolderSync",
        None,
        _f("Status", "1"),
        _f("SyncKey", folder_key(current)),
        _f("Changes", None, _f("Count", str(len(changes))), *changes),
    )
