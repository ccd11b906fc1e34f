"""IDLE (RFC 9051 §6.3.13): the server side of push. The waiting itself is the server's
(roost.imap.server): it reads DONE and listens for hints at the same time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.imap.reply import ANSWERED, Reply
from roost.proto.imap import commands as c
from roost.proto.imap.responses import continuation

if TYPE_CHECKING:
    from roost.imap.session import Session


async def idle(s: Session, cmd: c.Idle) -> Reply:
    s.idling = cmd.tag
    s.receiver.expect_raw_line()
    await s.send(continuation("idling"))
    # On its own: a client may stop reading its buffer at the continuation and wait on the
    # socket for what follows (imapclient's idle_check does).
    await s.flush()
    await s.sync(allow_expunge=True)  # whatever happened before IDLE, at once
    await s.report_notifications()
    return ANSWERED
