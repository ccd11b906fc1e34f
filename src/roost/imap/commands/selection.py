"""SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE (RFC 9051 §6.3.2, §6.4; RFC 3691,
RFC 4315)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from roost.errors import MailError, MailErrorKind
from roost.imap.access import find, require
from roost.imap.commands.mailboxes import mailbox_id
from roost.imap.reply import Reply, bad, no, ok
from roost.imap.selected import SelectedMailbox
from roost.model import SEEN, AccountId, MailboxId, ModSeq, Uid
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged
from roost.proto.imap.seqset import absent, clip, compress, render_runs
from roost.store.api import HasFlag, Not

if TYPE_CHECKING:
    from roost.imap.session import Session

NOT_RECENT = (Uid(0), Uid(0))
# RFC 4314 §4 SELECT: with none of these the mailbox is READ-ONLY.
WRITE_RIGHTS = "swite"


async def select(s: Session, cmd: c.Select) -> Reply:
    assert s.account is not None
    if cmd.qresync is not None and not s.qresync:
        return bad("ENABLE QRESYNC first (RFC 7162 §3.2.5)")
    if cmd.condstore:
        s.condstore = True
    if s.selected is not None:
        s.deselect()
        # RFC 9051 §6.3.2: tell the client where the old mailbox's responses end.
        await s.send(untagged("OK [CLOSED] Previous mailbox closed"))
    access = await find(s, s.decode_mailbox(cmd.mailbox))
    require(access, "r")
    mailbox = access.mailbox
    # RFC 4314 §4: read-only unless the user may change something in it.
    readonly = cmd.readonly or not any(right in access.rights for right in WRITE_RIGHTS)
    viewer = s.account.id if access.private_seen else None
    # Independent reads (and the \Recent claim), asked of the store at once.
    (uids, modseq), recent, unseen, keywords = await asyncio.gather(
        s.store.uids(mailbox.id),
        _claim_recent(s, mailbox.id, readonly),
        _first_unseen(s, mailbox.id, viewer),
        s.store.keywords(mailbox.id),
    )
    if readonly and not s.rev2:
        recent = await _examined_recent(s, mailbox.id, uids)
    view = SelectedMailbox(
        mailbox_id=mailbox.id,
        uidvalidity=mailbox.uidvalidity,
        uids=uids,
        modseq=modseq,
        readonly=readonly,
        recent=recent,
        keywords=keywords,
        viewer=viewer,
        writable="".join(right for right in "stw" if right in access.rights),
    )
    lines = [view.flags_responses(), untagged(f"{view.exists} EXISTS")]
    if not s.rev2:
        lines.append(untagged(f"{view.recent_count()} RECENT"))
        if unseen and not s.uidonly:  # RFC 9586 §3.4: UNSEEN carries a sequence number
            msn = view.msn(unseen[0])
            lines.append(untagged(f"OK [UNSEEN {msn}] First unseen"))
    lines.append(untagged(f"OK [UIDVALIDITY {mailbox.uidvalidity}] UIDs valid"))
    uidnext = max(mailbox.uidnext, uids[-1] + 1 if uids else 1)
    lines.append(untagged(f"OK [UIDNEXT {uidnext}] Predicted next UID"))
    # Every mailbox keeps modseqs, so HIGHESTMODSEQ is always known (never NOMODSEQ).
    lines.append(untagged(f"OK [HIGHESTMODSEQ {modseq}] Highest"))
    lines.append(untagged(f"OK [MAILBOXID ({mailbox_id(mailbox)})] Ok"))
    if s.rev2:
        name = s.render_mailbox(access.name)
        lines.append(untagged(b'LIST () "/" ' + name))
    await s.send(b"".join(lines))
    s.select(view, access)
    if cmd.qresync is not None and cmd.qresync.uidvalidity == mailbox.uidvalidity:
        await _resync(s, view, cmd.qresync)
    return ok(
        f"{'EXAMINE' if cmd.readonly else 'SELECT'} completed",
        "READ-ONLY" if readonly else "READ-WRITE",
    )


async def _claim_recent(s: Session, mailbox: MailboxId, readonly: bool) -> tuple[Uid, Uid]:
    if s.rev2 or readonly:
        return NOT_RECENT
    try:
        return await s.store.claim_recent(mailbox)
    except MailError as exc:
        if exc.kind is not MailErrorKind.UNAVAILABLE:
            raise
        # The storage cannot be written (a full disk): the mailbox can still be read, so
        # SELECT goes on, and this session claims no message as \Recent (issue 9).
        return NOT_RECENT


async def _examined_recent(s: Session, mailbox: MailboxId, uids: Sequence[Uid]) -> tuple[Uid, Uid]:
    """EXAMINE changes no state (RFC 3501 §6.3.2), so it claims nothing, but it still
    reports RECENT: the recent messages are the newest ones, as many as the store counts."""
    count = (await s.store.status(mailbox)).recent
    return (uids[-count], Uid(uids[-1] + 1)) if 0 < count <= len(uids) else NOT_RECENT


async def _first_unseen(s: Session, mailbox: MailboxId, viewer: AccountId | None) -> list[Uid]:
    """IMAP4rev1's OK [UNSEEN n]: the first message without \\Seen (rev2 dropped it)."""
    if s.rev2:
        return []
    return await s.store.search(mailbox, Not(HasFlag(SEEN)), limit=1, viewer=viewer)


async def _resync(s: Session, view: SelectedMailbox, since: c.QResync) -> None:
    """RFC 7162 §3.2.5.1: what changed after the client's modseq, from the change log and
    the tombstones; the cost follows the number of changes, not the mailbox size."""
    changes = await s.store.changes_since(view.mailbox_id, ModSeq(since.modseq), viewer=view.viewer)
    known = since.known_uids
    largest = max(view.uids[-1] if view.uids else 0, max(changes.expunged, default=0))
    if changes.complete_since(since.modseq):
        vanished = compress(
            u for u in changes.expunged if known is None or known.contains(u, largest)
        )
    else:
        # The tombstones after the client's modseq were folded (roost.store.mail.retention):
        # RFC 7162 §3.2.5.2 lets the server name every UID the client may know that is
        # gone, here those of its known-uids (or of 1:UIDNEXT-1) that are not present.
        top = changes.uidnext - 1
        within = known.resolve(top) if known is not None else [(1, top)]
        vanished = render_runs(absent(view.uids, clip(within, top)))
    out = []
    if vanished:
        out.append(untagged(b"VANISHED (EARLIER) " + vanished))
    report = s.reporting()
    out += [view.flag_fetch(m, report) for m in changes.changed if m.modseq <= view.modseq]
    await s.send(b"".join(out))


async def close(s: Session, cmd: c.Close) -> Reply:
    view = s.selected
    assert view is not None and s.access is not None
    if not view.readonly and s.access.may("e"):  # RFC 4314 §4: CLOSE expunges only with "e"
        # RFC 9051 §6.4.1: expunge silently, no EXPUNGE responses.
        await s.store.expunge(view.mailbox_id)
    s.deselect()
    return ok("CLOSE completed")


async def unselect(s: Session, cmd: c.Unselect) -> Reply:
    s.deselect()
    return ok("UNSELECT completed")


async def expunge(s: Session, cmd: c.Expunge) -> Reply:
    view = s.selected
    assert view is not None
    if view.readonly:
        return no("Mailbox is read-only", "READ-ONLY")
    assert s.access is not None
    require(s.access, "e")
    uids = view.resolve(cmd.uids, uid=True) if cmd.uids is not None else None
    if uids == []:
        return ok("EXPUNGE completed")
    await s.store.expunge(view.mailbox_id, uids)
    return ok("EXPUNGE completed")
