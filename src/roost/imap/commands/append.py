"""APPEND with MULTIAPPEND, APPENDUID and CATENATE (RFC 9051 §6.3.12, RFC 3502, RFC 4315,
RFC 4469), and REPLACE (RFC 8508), which is an APPEND plus the expunge of the message it
replaces."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from roost.delivery import analyse, find_copy
from roost.imap.access import Visible, destination, require
from roost.imap.commands.catenate import BadUrl, assemble
from roost.imap.commands.flags import normalise_flags
from roost.imap.reply import Reply, bad, no, ok
from roost.model import SEEN, ParsedMessage, Uid
from roost.proto.imap import commands as c
from roost.proto.imap.binary_parts import without_nul
from roost.proto.imap.cursor import SpooledLiteral
from roost.proto.imap.responses import untagged_status
from roost.proto.imap.seqset import compress
from roost.spool import read_back
from roost.store.api import FlagMode, Mailbox, NewMessage

if TYPE_CHECKING:
    from roost.imap.selected import SelectedMailbox
    from roost.imap.session import Session

# Parsing a big message takes long enough to stall other connections: do it off the loop.
_PARSE_INLINE_LIMIT = 256 * 1024


async def append(s: Session, cmd: c.Append) -> Reply:
    target = await destination(s, s.decode_mailbox(cmd.mailbox))
    if target is None:
        return no("No such mailbox", "TRYCREATE")
    # Issue 9: spooled messages come back into memory only now, under the server's budget.
    async with s.inflight.hold(spooled_size(cmd.messages)):
        return await _append(s, cmd, target)


async def _append(s: Session, cmd: c.Append, target: Visible) -> Reply:
    mailbox = target.mailbox
    try:
        messages = [await _new_message(s, message) for message in cmd.messages]
    except BadUrl as exc:
        return no("CATENATE names no message part you may read", exc.code)
    if len(messages) == 1 and mailbox.special_use == "\\Sent":
        filed = await _filed_already(s, mailbox, messages[0])
        if filed is not None:
            return ok("APPEND completed", f"APPENDUID {mailbox.uidvalidity} {filed}")
    result = await s.store.append(mailbox.id, messages)
    if target.private_seen and s.account is not None:
        # Issue 15: \Seen given with a message is the appender's own read state.
        seen = [uid for uid, m in zip(result.uids, messages, strict=True) if SEEN in m.flags]
        if seen:
            await s.store.store_flags(
                mailbox.id, seen, FlagMode.ADD, frozenset({SEEN}), viewer=s.account.id
            )
    return ok(
        "APPEND completed", f"APPENDUID {result.uidvalidity} {compress(result.uids).decode()}"
    )


async def _filed_already(s: Session, sent: Mailbox, message: NewMessage) -> Uid | None:
    """A client that saves to Sent after submitting (mutt, neomutt, Thunderbird) APPENDs the
    message the server already filed there (roost.smtp.sent): it gets that copy's UID, with
    the flags it asked for, and every device sees one copy (RFC 4315 APPENDUID)."""
    window = s.config.sent_dedup_window
    uid = await find_copy(s.store, sent.id, message.data, message.parsed, window)
    if uid is not None and message.flags:
        await s.store.store_flags(sent.id, [uid], FlagMode.ADD, message.flags)
    return uid


async def replace(s: Session, cmd: c.Replace) -> Reply:
    view = s.selected
    assert view is not None
    verb = "UID REPLACE" if cmd.uid else "REPLACE"
    if view.readonly:
        return no("Mailbox is read-only", "READ-ONLY")
    assert s.access is not None
    require(s.access, "te")  # the old message goes, as by STORE \Deleted and EXPUNGE
    old = _target(view, cmd)
    if old is None:
        if not cmd.uid:
            return bad("Message sequence number out of range")
        return no("No message with that UID", "NONEXISTENT")
    mailbox = await _destination(s, cmd.mailbox)
    if mailbox is None:
        # RFC 8508 §3.4: the append failed, so the old message stays as it was.
        return no("No such mailbox", "TRYCREATE")
    async with s.inflight.hold(spooled_size([cmd.message])):
        try:
            new = await _new_message(s, cmd.message)
        except BadUrl as exc:
            return no("CATENATE names no message part you may read", exc.code)
        result = await s.store.replace(view.mailbox_id, old, mailbox.id, new)
    appended = result.appended
    # RFC 8508 §3.4 (example): APPENDUID in an untagged OK, then EXISTS/EXPUNGE (from the
    # sync before the tagged reply), then the tagged OK.
    code = f"APPENDUID {appended.uidvalidity} {compress(appended.uids).decode()}"
    await s.send(untagged_status("OK", "Replacement message ready", code))
    return ok(f"{verb} completed")


def _target(view: SelectedMailbox, cmd: c.Replace) -> Uid | None:
    """The UID of the message REPLACE names, if it is in the view."""
    if not view.exists:
        return None
    if cmd.number is None:  # "*": the last message
        return view.uid(view.exists)
    if cmd.uid:
        return Uid(cmd.number) if view.msn(cmd.number) is not None else None
    return view.uid(cmd.number) if cmd.number <= view.exists else None


async def _destination(s: Session, name: str) -> Mailbox | None:
    """The mailbox to add to; None (TRYCREATE) if there is none the user may add to and
    may look up (roost.imap.access.destination)."""
    target = await destination(s, s.decode_mailbox(name))
    return None if target is None else target.mailbox


def spooled_size(messages: Sequence[c.AppendMessage]) -> int:
    """The octets of these messages that wait in spool files (roost.spool)."""
    total = 0
    for message in messages:
        if isinstance(message.data, SpooledLiteral):
            total += message.data.size
        elif isinstance(message.data, c.Catenate):
            parts = message.data.parts
            total += sum(
                p.data.size
                for p in parts
                if isinstance(p, c.CatenateText) and isinstance(p.data, SpooledLiteral)
            )
    return total


async def _new_message(s: Session, message: c.AppendMessage) -> NewMessage:
    data: bytes | SpooledLiteral | c.Catenate = message.data
    if isinstance(data, SpooledLiteral):
        data = await read_back(data.spool)
    elif isinstance(data, c.Catenate):
        data = await assemble(s, data)  # RFC 4469
    # A literal8 may carry NUL octets, which no ordinary literal may (RFC 9051 §4.3): such
    # parts are stored in base64, so BODY[n] can send them and BINARY[n] decodes them.
    data = without_nul(data)
    return NewMessage(
        data=data,
        parsed=await _analyse(data),
        flags=normalise_flags(message.flags),
        internaldate=message.internaldate,
    )


async def _analyse(data: bytes) -> ParsedMessage:
    if len(data) <= _PARSE_INLINE_LIMIT:
        return analyse(data)
    return await asyncio.to_thread(analyse, data)
