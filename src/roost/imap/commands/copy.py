"""COPY, MOVE and their UID forms, with COPYUID (RFC 9051 §6.4.7-8, RFC 6851, RFC 4315)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.imap.access import destination, require
from roost.imap.reply import Reply, bad, no, ok
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged_status
from roost.proto.imap.seqset import compress

if TYPE_CHECKING:
    from roost.imap.session import Session


async def copy(s: Session, cmd: c.Copy) -> Reply:
    view = s.selected
    assert view is not None and s.account is not None
    verb = ("UID " if cmd.uid else "") + ("MOVE" if cmd.move else "COPY")
    if cmd.move and view.readonly:
        return no("Mailbox is read-only", "READ-ONLY")
    if not cmd.uid and view.exists and not view.valid_msns(cmd.seqset):
        return bad("Message sequence number out of range")
    if cmd.move:
        assert s.access is not None
        require(s.access, "te")  # RFC 6851 §3.3: MOVE removes as STORE \Deleted + EXPUNGE
    dest = await destination(s, s.decode_mailbox(cmd.mailbox))
    if dest is None:
        return no("No such mailbox", "TRYCREATE")
    uids = view.resolve(cmd.seqset, uid=cmd.uid)
    if not uids:
        return ok(f"{verb} completed (no messages)")
    result = await s.store.copy(view.mailbox_id, uids, dest.mailbox.id, move=cmd.move)
    if not result.dest_uids:
        return ok(f"{verb} completed (no messages)")
    code = (
        f"COPYUID {result.uidvalidity} {compress(result.source_uids).decode()} "
        f"{compress(result.dest_uids).decode()}"
    )
    if not cmd.move:
        return ok(f"{verb} completed", code)
    # RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
    await s.send(untagged_status("OK", "Moved", code))
    return ok(f"{verb} completed")
