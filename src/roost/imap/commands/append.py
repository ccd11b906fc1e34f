"""APPEND with MULTIAPPEND and APPENDUID (RFC 9051 §6.3.12, RFC 3502, RFC 4315)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from roost.delivery import analyse
from roost.errors import MailError, MailErrorKind
from roost.imap.commands.flags import normalise_flags
from roost.imap.reply import Reply, no, ok
from roost.model import ParsedMessage
from roost.proto.imap import commands as c
from roost.proto.imap.seqset import compress
from roost.store.api import NewMessage

if TYPE_CHECKING:
    from roost.imap.session import Session

# Parsing a big message takes long enough to stall other connections: do it off the loop.
_PARSE_INLINE_LIMIT = 256 * 1024


async def append(s: Session, cmd: c.Append) -> Reply:
    assert s.account is not None
    try:
        mailbox = await s.store.find_mailbox(s.account.id, s.decode_mailbox(cmd.mailbox))
    except MailError as exc:
        if exc.kind is MailErrorKind.NONEXISTENT:
            return no("No such mailbox", "TRYCREATE")
        raise
    messages = []
    for message in cmd.messages:
        messages.append(
            NewMessage(
                data=message.data,
                parsed=await _analyse(message.data),
                flags=normalise_flags(message.flags),
                internaldate=message.internaldate,
            )
        )
    result = await s.store.append(mailbox.id, messages)
    s.publish(mailbox.id, result.modseq)
    return ok(
        "APPEND completed", f"APPENDUID {result.uidvalidity} {compress(result.uids).decode()}"
    )


async def _analyse(data: bytes) -> ParsedMessage:
    if len(data) <= _PARSE_INLINE_LIMIT:
        return analyse(data)
    return await asyncio.to_thread(analyse, data)
