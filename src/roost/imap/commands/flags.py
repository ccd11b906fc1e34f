"""STORE and UID STORE (RFC 9051 §6.4.6), and the flag rules shared with APPEND."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from roost.errors import ProtocolError
from roost.imap.access import require
from roost.imap.reply import Reply, bad, no, ok
from roost.model import SYSTEM_FLAGS, ModSeq
from roost.proto.imap import commands as c
from roost.proto.imap.seqset import compress
from roost.store.api import FlagMode

if TYPE_CHECKING:
    from roost.imap.session import Session

_SYSTEM = {flag.lower(): flag for flag in SYSTEM_FLAGS}
_MODES = {"+": FlagMode.ADD, "-": FlagMode.REMOVE, "": FlagMode.REPLACE}


def normalise_flags(flags: Iterable[str]) -> frozenset[str]:
    """System flags in their canonical spelling; \\Recent is the server's to set and is
    ignored (RFC 3501 §2.3.2); any other backslash flag is an error."""
    out = set()
    for flag in flags:
        if flag.startswith("\\"):
            if flag.lower() == "\\recent":
                continue
            canonical = _SYSTEM.get(flag.lower())
            if canonical is None:
                raise ProtocolError(f"unknown system flag {flag}")
            out.add(canonical)
        else:
            out.add(flag)
    return frozenset(out)


def flag_rights(flags: Iterable[str], *, replace: bool = False) -> str:
    r"""RFC 4314 §4 STORE: the rights that changing flags needs: "s" for \Seen, "t" for
    \Deleted, "w" for any other. Replacing them all (STORE FLAGS) may change every kind,
    so it needs all three."""
    if replace:
        return "stw"
    kinds = {"\\Seen": "s", "\\Deleted": "t"}
    return "".join(sorted({kinds.get(flag, "w") for flag in flags}))


async def store(s: Session, cmd: c.Store) -> Reply:
    view = s.selected
    assert view is not None
    if view.readonly:
        return no("Mailbox is read-only", "READ-ONLY")
    if not cmd.uid and view.exists and not view.valid_msns(cmd.seqset):
        return bad("Message sequence number out of range")
    uids = view.resolve(cmd.seqset, uid=cmd.uid)
    flags = normalise_flags(cmd.flags)
    assert s.access is not None
    require(s.access, flag_rights(flags, replace=not cmd.mode))
    if cmd.unchangedsince is not None:
        await s.enable_condstore()
    result = await s.store.store_flags(
        view.mailbox_id,
        uids,
        _MODES[cmd.mode],
        flags,
        None if cmd.unchangedsince is None else ModSeq(cmd.unchangedsince),
        viewer=view.viewer,
    )
    for changed, previous in zip(result.changed, result.previous, strict=True):
        # Not heard again at the next sync: the flags this STORE answers with, or with
        # .SILENT the flags the client computed itself — but only from a state it knew. A
        # change another device made that this client has not heard of yet must still be
        # reported, or the client would never learn it (found by tests/imap/
        # test_sync_property.py).
        if not cmd.silent or previous <= view.modseq:
            view.note_reported(changed.uid, changed.modseq)
    if not cmd.silent:
        report = s.reporting()
        current = await s.store.fetch_flags(view.mailbox_id, uids, viewer=view.viewer)
        await s.send(b"".join(view.flag_fetch(m, report) for m in current))
    verb = f"{'UID ' if cmd.uid else ''}STORE"
    if result.modified:
        # RFC 7162 §3.1.3: the messages UNCHANGEDSINCE protected, by UID for UID STORE.
        numbers = (
            list(result.modified) if cmd.uid else sorted(view.msn(u) or 0 for u in result.modified)
        )
        return ok(f"Conditional {verb} failed", f"MODIFIED {compress(numbers).decode()}")
    return ok(f"{verb} completed")
