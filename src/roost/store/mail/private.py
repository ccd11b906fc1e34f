"""\\Seen per user (issue 15): in a team mailbox each member has their own read state, while
\\Answered, \\Flagged, \\Deleted, \\Draft and keywords are the team's.

Theory of operation
-------------------
A caller that reads or changes a mailbox for one user names them as the `viewer` (the IMAP
session does so in team mailboxes). For a viewer, a message's \\Seen is their row of
`private_seen` (migration 22: seen 1 or 0; no row: unread), never the shared bit, and its
MODSEQ is the greater of the message's and of their row's.

A private change takes the mailbox's next MODSEQ like any change (`advance`), so HIGHESTMODSEQ
still grows with every change and each user's MODSEQ stream, the mailbox's restricted to
what that user sees, is strictly increasing (DESIGN.md invariants). It leaves the message
row alone: other members' `changes_since` does not list it, so the hint it publishes wakes
them for nothing to report, and only the user who made it hears of it.

Search, sort and thread see the viewer's \\Seen through `seen_query`, which turns the \\Seen
key into SeenBy(viewer), a probe of their row; UNSEEN counts the messages without a read row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TypeVar

from roost.model import SEEN, AccountId, MailboxId, ModSeq, Uid
from roost.store.api import (
    And,
    Changes,
    FieldRow,
    FlagMode,
    FlagResult,
    HasFlag,
    MessageField,
    MessageFlags,
    MessageMeta,
    Not,
    Or,
    Query,
    SeenBy,
)
from roost.store.engines.api import Tx
from roost.store.mail.changes import advance
from roost.store.mail.changes import changes_since as shared_changes_since
from roost.store.mail.flags import FLAG_COLUMNS, Flags, message_flags
from roost.store.mail.lookup import get_mailbox
from roost.store.mail.messages import define_keywords
from roost.store.mail.query_sql import select_uids

__all__ = [
    "changes_since",
    "overlay",
    "overlay_fields",
    "seen_query",
    "store_flags",
    "unseen",
]

# What `overlay` takes and gives back: a message's flags and MODSEQ with its other fields.
Flagged = TypeVar("Flagged", MessageFlags, MessageMeta)

_BY_UID = "SELECT uid, seen, modseq FROM private_seen WHERE mailbox_id = ? AND account_id = ?"


def _rows(
    tx: Tx, mailbox: MailboxId, viewer: AccountId, uids: Sequence[Uid]
) -> dict[int, tuple[bool, int]]:
    """The viewer's rows among uids: uid -> (seen, modseq)."""
    if not uids:
        return {}
    low, high = min(uids), max(uids)
    rows = tx.all(_BY_UID + " AND uid BETWEEN ? AND ?", (mailbox, viewer, low, high))
    wanted = set(uids)
    return {row[0]: (bool(row[1]), row[2]) for row in rows if row[0] in wanted}


def _seen_as(
    flags: frozenset[str], modseq: int, row: tuple[bool, int] | None
) -> tuple[frozenset[str], int]:
    seen = row is not None and row[0]
    mine = (flags - {SEEN}) | ({SEEN} if seen else set())
    return frozenset(mine), max(modseq, row[1]) if row is not None else modseq


def overlay(
    tx: Tx, mailbox: MailboxId, viewer: AccountId, messages: Sequence[Flagged]
) -> list[Flagged]:
    """The messages (MessageFlags or MessageMeta) with flags and MODSEQ as the viewer sees
    them."""
    rows = _rows(tx, mailbox, viewer, [m.uid for m in messages])
    out = []
    for m in messages:
        flags, modseq = _seen_as(m.flags, m.modseq, rows.get(m.uid))
        out.append(replace(m, flags=flags, modseq=ModSeq(modseq)))
    return out


def overlay_fields(
    tx: Tx,
    mailbox: MailboxId,
    viewer: AccountId,
    fields: Sequence[MessageField],
    found: Sequence[FieldRow],
) -> list[FieldRow]:
    """fetch_fields rows with FLAGS and MODSEQ as the viewer sees them."""
    at_flags = fields.index(MessageField.FLAGS) + 1 if MessageField.FLAGS in fields else None
    at_modseq = fields.index(MessageField.MODSEQ) + 1 if MessageField.MODSEQ in fields else None
    if at_flags is None and at_modseq is None:
        return list(found)
    rows = _rows(tx, mailbox, viewer, [Uid(r[0]) for r in found])
    out = []
    for r in found:
        row = rows.get(r[0])
        if row is None and at_flags is None:
            out.append(r)
            continue
        values = list(r)
        flags = values[at_flags] if at_flags is not None else frozenset()
        modseq = values[at_modseq] if at_modseq is not None else 0
        flags, modseq = _seen_as(flags, modseq, row)
        if at_flags is not None:
            values[at_flags] = flags
        if at_modseq is not None:
            values[at_modseq] = modseq
        out.append(tuple(values))
    return out


def changes_since(tx: Tx, mailbox: MailboxId, modseq: ModSeq, viewer: AccountId) -> Changes:
    """The mailbox's changes after modseq as the viewer sees them: the shared ones, and the
    messages whose \\Seen the viewer changed since."""
    changes = shared_changes_since(tx, mailbox, modseq)
    # The messages whose \\Seen the viewer changed since, in one probe of their rows.
    mine = tx.all(
        "SELECT m.uid, m.modseq, m.system_flags, m.keywords FROM private_seen p "
        "JOIN messages m ON m.mailbox_id = p.mailbox_id AND m.uid = p.uid "
        "WHERE p.mailbox_id = ? AND p.account_id = ? AND p.modseq > ?",
        (mailbox, viewer, modseq),
    )
    known = {m.uid for m in changes.changed}
    extra = [message_flags(row) for row in mine if row[0] not in known]
    merged = sorted([*changes.changed, *extra], key=lambda m: m.uid)
    return replace(changes, changed=tuple(overlay(tx, mailbox, viewer, merged)))


def unseen(tx: Tx, mailbox: MailboxId, viewer: AccountId, messages: int) -> int:
    row = tx.one(
        "SELECT COUNT(*) FROM private_seen WHERE mailbox_id = ? AND account_id = ? AND seen = 1",
        (mailbox, viewer),
    )
    return messages - (row[0] if row is not None else 0)


def seen_query(query: Query, viewer: AccountId) -> Query:
    """query with each \\Seen key turned into the viewer's own (SeenBy)."""
    return _replace_seen(query, SeenBy(viewer)) if _mentions_seen(query) else query


def _mentions_seen(query: Query) -> bool:
    match query:
        case HasFlag(flag=flag):
            return flag.casefold() == SEEN.casefold()
        case Not(query=inner):
            return _mentions_seen(inner)
        case And(queries=queries) | Or(queries=queries):
            return any(_mentions_seen(q) for q in queries)
        case _:
            return False


def _replace_seen(query: Query, read: SeenBy) -> Query:
    match query:
        case HasFlag(flag=flag) if flag.casefold() == SEEN.casefold():
            return read
        case Not(query=inner):
            return Not(_replace_seen(inner, read))
        case And(queries=queries):
            return And(tuple(_replace_seen(q, read) for q in queries))
        case Or(queries=queries):
            return Or(tuple(_replace_seen(q, read) for q in queries))
        case _:
            return query


def store_flags(
    tx: Tx,
    mailbox: MailboxId,
    viewer: AccountId,
    uids: Sequence[Uid],
    mode: FlagMode,
    flags: frozenset[str],
    unchangedsince: ModSeq | None,
) -> FlagResult:
    """STORE for the viewer: \\Seen in their row, the other flags on the message, all
    under one new MODSEQ (none if nothing changes)."""
    get_mailbox(tx, mailbox)
    wanted = Flags.parse(flags - {SEEN})
    wants_seen = SEEN in flags
    messages = [message_flags(r) for r in select_uids(tx, FLAG_COLUMNS, mailbox, uids)]
    rows = _rows(tx, mailbox, viewer, [m.uid for m in messages])
    modified: list[Uid] = []
    shared: list[tuple[Uid, Flags]] = []
    private: list[tuple[Uid, bool]] = []
    previous: list[ModSeq] = []
    for m in messages:
        row = rows.get(m.uid)
        _, effective = _seen_as(m.flags, m.modseq, row)
        if unchangedsince is not None and effective > unchangedsince:
            modified.append(m.uid)  # RFC 7162 §3.1.3
            continue
        old = Flags.parse(m.flags)
        new = old.apply(mode, wanted) if mode is not FlagMode.REPLACE else _keep_bit(old, wanted)
        was = row is not None and row[0]
        now = {FlagMode.ADD: was or wants_seen, FlagMode.REMOVE: was and not wants_seen}.get(
            mode, wants_seen
        )
        changed = False
        if not new.same(old):
            shared.append((m.uid, new))
            changed = True
        if now != was:
            private.append((m.uid, now))
            changed = True
        if changed:
            previous.append(ModSeq(effective))
    if not (shared or private):
        return FlagResult(changed=(), modified=tuple(modified))
    modseq = advance(tx, mailbox, 0).modseq
    if mode is not FlagMode.REMOVE:
        define_keywords(tx, mailbox, wanted.keywords)
    tx.executemany(
        "UPDATE messages SET system_flags = ?, keywords = ?, modseq = ? "
        "WHERE mailbox_id = ? AND uid = ?",
        [(new.bits, new.dump(), modseq, mailbox, uid) for uid, new in shared],
    )
    tx.executemany(
        "INSERT INTO private_seen (mailbox_id, uid, account_id, seen, modseq) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (mailbox_id, uid, account_id) "
        "DO UPDATE SET seen = excluded.seen, modseq = excluded.modseq",
        [(mailbox, uid, viewer, int(seen), modseq) for uid, seen in private],
    )
    touched = sorted({uid for uid, _ in shared} | {uid for uid, _ in private})
    now_flags = [message_flags(r) for r in select_uids(tx, FLAG_COLUMNS, mailbox, touched)]
    return FlagResult(
        changed=tuple(overlay(tx, mailbox, viewer, now_flags)),
        modified=tuple(modified),
        previous=tuple(previous),
    )


def _keep_bit(old: Flags, wanted: Flags) -> Flags:
    """STORE FLAGS for a viewer replaces the shared flags but the shared \\Seen bit, which
    is no one's read state (it stays as the message arrived)."""
    seen_bit = Flags.parse({SEEN}).bits
    new = Flags(wanted.bits | (old.bits & seen_bit), wanted.keywords)
    return old if new.same(old) else new
