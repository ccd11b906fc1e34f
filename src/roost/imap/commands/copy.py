"""COPY, MOVE and their UID forms, with COPYUID (RFC 9051 §6.4.7-8, RFC 6851, RFC 4315)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from roost.imap.access import Visible, destination, require
from roost.imap.reply import Reply, bad, no, ok
from roost.model import SEEN, AccountId, MailboxId, Uid
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged_status
from roost.proto.imap.seqset import compress
from roost.store.api import CopyResult, FlagMode

if TYPE_CHECKING:
    from roost.imap.session import Session


async def _read_by_me(
    s: Session, mailbox: MailboxId, uids: Sequence[Uid], viewer: AccountId | None
) -> set[Uid]:
    flags = await s.store.fetch_flags(mailbox, uids, viewer=viewer)
    return {m.uid for m in flags if SEEN in m.flags}


async def _keep_read(s: Session, result: CopyResult, read: set[Uid], dest: Visible) -> None:
    """Issue 15: copied out of or into a team mailbox, a message keeps the user's own read
    state: their \\Seen there becomes the copy's \\Seen (theirs again in another team
    mailbox). A second write after the copy's: a crash between them leaves the copy unread."""
    assert s.account is not None
    copies = [d for src, d in zip(result.source_uids, result.dest_uids, strict=True) if src in read]
    if copies:
        viewer = s.account.id if dest.private_seen else None
        seen = frozenset({SEEN})
        await s.store.store_flags(dest.mailbox.id, copies, FlagMode.ADD, seen, viewer=viewer)


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
    private = view.viewer is not None or dest.private_seen
    read = await _read_by_me(s, view.mailbox_id, uids, view.viewer) if private else set()
    result = await s.store.copy(view.mailbox_id, uids, dest.mailbox.id, move=cmd.move)
    if not result.dest_uids:
        return ok(f"{verb} completed (no messages)")
    if private:
        await _keep_read(s, result, read, dest)
    code = (
        f"COPYUID {result.uidvalidity} {compress(result.source_uids).decode()} "
        f"{compress(result.dest_uids).decode()}"
    )
    if not cmd.move:
        return ok(f"{verb} completed", code)
    # RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
    await s.send(untagged_status("OK", "Moved", code))
    return ok(f"{verb} completed")
