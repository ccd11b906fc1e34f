"""Messages in a mailbox: append, fetch, flags, expunge, copy/move and search.

Every function here is one unit of work over a Tx. A mutating one takes its modseq (and
UIDs) from `changes.advance` only once it knows something changes, so a call that changes
nothing leaves HIGHESTMODSEQ where it was.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import cast

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, BlobId, MailboxId, ModSeq, SortFields, Uid
from roost.store.api import (
    AppendResult,
    CopyResult,
    FieldRow,
    FlagMode,
    FlagResult,
    Mailbox,
    MessageField,
    MessageFlags,
    MessageMeta,
    NewMessage,
    Query,
    ReplaceResult,
)
from roost.store.engines.api import Row, TextIndex, Tx
from roost.store.mail import texts
from roost.store.mail.changes import advance, remove_messages
from roost.store.mail.flags import BIT_DELETED, FLAG_COLUMNS, Flags, message_flags, stored_flags
from roost.store.mail.instants import from_micros, now_utc, to_micros, utc_offset
from roost.store.mail.lookup import get_mailbox
from roost.store.mail.query_sql import compile_search, select_uids
from roost.store.mail.quota import charge
from roost.store.mail.threads import thread_for

__all__ = [
    "append",
    "claim_recent",
    "copy",
    "email_id",
    "expunge",
    "expunge_uids",
    "fetch_fields",
    "fetch_flags",
    "fetch_meta",
    "field_columns",
    "forget_texts",
    "list_uids",
    "replace",
    "search",
    "store_flags",
]

# The columns a message carries from one mailbox to another (COPY/MOVE), after mailbox_id
# and uid/modseq/savedate/email_id/thread_id, which the destination decides.
_CARRIED = (
    "system_flags, keywords, internaldate, internaldate_tz, size, blob_id, header_size, "
    "envelope, bodystructure, body, parts, preview, sent_date, sent_date_tz, message_id, "
    "sort_subject, subject_reply, sort_from, sort_to, sort_cc, sort_display_from, "
    "sort_display_to, thread_refs, envelope_fields"
)
_KEYWORDS = 3  # the keywords column in a (uid, thread_id, *_CARRIED) row
_SIZE = 6  # the size column in a (uid, thread_id, *_CARRIED) row
_MESSAGE_ID = 14  # in *_CARRIED: the message_id and thread_refs columns
_THREAD_REFS = 22
_INSERT_MESSAGE = (
    "INSERT INTO messages (mailbox_id, uid, modseq, savedate, email_id, thread_id, "
    f"{_CARRIED}) VALUES ({', '.join(['?'] * 30)})"
)
# The columns of each MessageField and what makes its value of them (None: as stored).
_FIELDS: dict[MessageField, tuple[str, Callable[..., object] | None]] = {
    MessageField.MODSEQ: ("modseq", None),
    MessageField.FLAGS: ("system_flags, keywords", stored_flags),
    MessageField.INTERNALDATE: ("internaldate, internaldate_tz", from_micros),
    MessageField.SAVEDATE: ("savedate", from_micros),
    MessageField.SIZE: ("size", None),
    MessageField.BLOB_ID: ("blob_id", None),
    MessageField.EMAIL_ID: ("email_id", None),
    MessageField.THREAD_ID: ("thread_id", None),
    MessageField.HEADER_SIZE: ("header_size", None),
    MessageField.ENVELOPE: ("envelope", None),
    MessageField.BODYSTRUCTURE: ("bodystructure", None),
    MessageField.BODY: ("body", None),
    MessageField.PARTS: ("parts", None),
    MessageField.PREVIEW: ("preview", None),
    MessageField.ENVELOPE_FIELDS: ("envelope_fields", None),
}
_CHANGING = frozenset({MessageField.MODSEQ, MessageField.FLAGS})
_ALL_FIELDS = tuple(MessageField)


def email_id(account: AccountId, blob: BlobId) -> str:
    """RFC 8474 EMAILID: the same blob in one account is the same email, wherever it is."""
    return "M" + hashlib.sha256(f"{account}:{blob}".encode()).hexdigest()[:24]


# ----- adding -------------------------------------------------------------------------


def append(
    tx: Tx,
    mailbox_id: MailboxId,
    messages: Sequence[NewMessage],
    blobs: Sequence[BlobId],
    index: TextIndex,
) -> AppendResult:
    if not messages:
        mailbox = get_mailbox(tx, mailbox_id)
        return AppendResult(uidvalidity=mailbox.uidvalidity, uids=(), modseq=mailbox.highestmodseq)
    # The mailbox row first, then the account's (as an expunge's triggers take them), so
    # that concurrent writers of one account do not deadlock on PostgreSQL. RFC 3502:
    # MULTIAPPEND is charged as a whole, so it fits entirely or stores nothing; the charge
    # is checked in the UPDATE that takes the account's MODSEQ.
    octets = sum(len(m.data) for m in messages)
    span, given = len(messages), None
    if any(m.uid is not None for m in messages):  # a migration keeping its source's UIDs
        mailbox = get_mailbox(tx, mailbox_id)
        given = _given_uids(mailbox, messages)
        span = given[-1] - mailbox.uidnext + 1
    taken = advance(tx, mailbox_id, span, charge=(octets, len(messages)))
    first, modseq = taken.first, taken.modseq
    uids = tuple(Uid(first + i) for i in range(len(messages))) if given is None else given
    when = now_utc()
    rows = [
        _new_row(tx, mailbox_id, taken.account, uid, modseq, when, message, blob)
        for uid, message, blob in zip(uids, messages, blobs, strict=True)
    ]
    tx.executemany(_INSERT_MESSAGE, rows)
    define_keywords(tx, mailbox_id, (k for m in messages for k in Flags.parse(m.flags).keywords))
    search_texts = [
        (blob, texts.fold(message.parsed.headers_text), texts.fold(message.parsed.body_text))
        for message, blob in zip(messages, blobs, strict=True)
    ]
    texts.store(tx, search_texts)
    for blob in blobs:
        index.add(tx, blob)
    return AppendResult(uidvalidity=taken.uidvalidity, uids=uids, modseq=modseq)


def _given_uids(mailbox: Mailbox, messages: Sequence[NewMessage]) -> tuple[Uid, ...]:
    """The UIDs a migration gives its messages: all given, ascending, from UIDNEXT on, or
    CANNOT (RFC 9051 §2.3.1.1: UIDs strictly ascend)."""
    given = [m.uid for m in messages]
    uids = tuple(uid for uid in given if uid is not None)
    ascending = all(a < b for a, b in itertools.pairwise(uids))
    if len(uids) != len(given) or not ascending or uids[0] < mailbox.uidnext:
        raise MailError(MailErrorKind.CANNOT, "given UIDs must ascend from UIDNEXT")
    return uids


def _new_row(
    tx: Tx,
    mailbox: MailboxId,
    account: AccountId,
    uid: Uid,
    modseq: ModSeq,
    when: datetime,
    message: NewMessage,
    blob: BlobId,
) -> tuple[object, ...]:
    """The _INSERT_MESSAGE row of a message appended at `when` (threads it, too)."""
    flags = Flags.parse(message.flags)
    internaldate = message.internaldate or when
    email = email_id(account, blob)
    parsed = message.parsed
    thread = thread_for(tx, account, email, parsed.message_id, parsed.sort.references)
    # RFC822.SIZE is the length of what BODY[] returns: the blob itself.
    return (
        mailbox, uid, modseq, to_micros(when), email, thread,
        flags.bits, flags.dump(), to_micros(internaldate), utc_offset(internaldate),
        len(message.data), blob, parsed.header_size, parsed.envelope,
        parsed.bodystructure, parsed.body, parsed.parts, parsed.preview,
        None if parsed.sent_date is None else to_micros(parsed.sent_date),
        0 if parsed.sent_date is None else utc_offset(parsed.sent_date),
        parsed.message_id, *_sort_columns(parsed.sort), parsed.envelope_fields,
    )  # fmt: skip


def _sort_columns(sort: SortFields) -> tuple[object, ...]:
    return (
        sort.subject, int(sort.reply), sort.from_, sort.to, sort.cc, sort.display_from,
        sort.display_to, " ".join(sort.references),
    )  # fmt: skip


def replace(
    tx: Tx,
    source: MailboxId,
    uid: Uid,
    dest: MailboxId,
    message: NewMessage,
    blob: BlobId,
    index: TextIndex,
) -> ReplaceResult:
    """Appends `message` to dest and expunges `uid` from source in one transaction
    (RFC 8508 §3.4: the old message goes only if the new one is in)."""
    get_mailbox(tx, source)
    if not select_uids(tx, "uid", source, [uid]):
        raise MailError(MailErrorKind.NONEXISTENT, "the message to replace is gone")
    added = append(tx, dest, [message], [blob], index)
    # One modseq per mailbox per call, also when replacing within one mailbox.
    source_modseq = added.modseq if source == dest else advance(tx, source, 0).modseq
    remove_messages(tx, source, [uid], source_modseq)
    return ReplaceResult(appended=added, source_modseq=source_modseq)


# ----- reading ------------------------------------------------------------------------


def list_uids(tx: Tx, mailbox: MailboxId) -> list[Uid]:
    rows = tx.all("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", (mailbox,))
    return _uid_column(rows)


def claim_recent(tx: Tx, mailbox: MailboxId) -> tuple[Uid, Uid]:
    row = tx.one("SELECT first_recent_uid, uidnext FROM mailboxes WHERE id = ?", (mailbox,))
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    tx.execute(
        "UPDATE mailboxes SET first_recent_uid = uidnext "
        "WHERE id = ? AND first_recent_uid <> uidnext",
        (mailbox,),
    )
    return Uid(row[0]), Uid(row[1])


def fetch_flags(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid]) -> list[MessageFlags]:
    get_mailbox(tx, mailbox)
    return [message_flags(row) for row in select_uids(tx, FLAG_COLUMNS, mailbox, uids)]


def keywords(tx: Tx, mailbox: MailboxId) -> list[str]:
    row = tx.one("SELECT keywords FROM mailboxes WHERE id = ?", (mailbox,))
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    return _keyword_list(row[0])


def _keyword_list(text: str) -> list[str]:
    found: dict[str, str] = {}
    for keyword in text.split():
        found.setdefault(keyword.casefold(), keyword)
    return [found[k] for k in sorted(found)]


def define_keywords(tx: Tx, mailbox: MailboxId, keywords: Iterable[str]) -> None:
    """Adds keywords to the mailbox's defined keywords (migration 16), which only grow."""
    wanted: dict[str, str] = {}
    for keyword in keywords:
        wanted.setdefault(keyword.casefold(), keyword)  # the first spelling wins
    if not wanted:
        return
    row = tx.one("SELECT keywords FROM mailboxes WHERE id = ?", (mailbox,))
    assert row is not None  # the callers found the mailbox in this transaction
    known = {k.casefold() for k in row[0].split()}
    new = [k for folded, k in wanted.items() if folded not in known]
    if new:
        text = " ".join([*row[0].split(), *new])
        tx.execute("UPDATE mailboxes SET keywords = ? WHERE id = ?", (text, mailbox))


def fetch_meta(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid]) -> list[MessageMeta]:
    # Every field: the MessageField values are MessageMeta's attribute names.
    rows = fetch_fields(tx, mailbox, uids, _ALL_FIELDS)
    names = [field.value for field in _ALL_FIELDS]
    return [MessageMeta(uid=row[0], **dict(zip(names, row[1:], strict=True))) for row in rows]


def field_columns(fields: Sequence[MessageField]) -> str:
    """The columns fetch_fields selects for fields, uid first."""
    return ", ".join(["uid", *(_FIELDS[f][0] for f in fields)])


def fetch_fields(
    tx: Tx, mailbox: MailboxId, uids: Sequence[Uid], fields: Sequence[MessageField]
) -> list[FieldRow]:
    get_mailbox(tx, mailbox)
    changing = [f for f in fields if f in _CHANGING]
    fixed = [f for f in fields if f not in _CHANGING]
    if not (changing and fixed):
        rows = select_uids(tx, field_columns(fields), mailbox, uids)
        if all(_FIELDS[f][1] is None for f in fields):
            return rows  # every value is a column as stored: no Python per row
        groups = [(fields, rows)]
    else:
        # The columns a flag change rewrites and those fixed at delivery are read apart, each
        # from its own covering index (migration 9), so STORE never rewrites the wide one.
        # One read transaction: both statements see the same messages.
        groups = [(g, select_uids(tx, field_columns(g), mailbox, uids)) for g in (changing, fixed)]
    if not groups[0][1]:
        return []
    values: dict[MessageField | None, Sequence[object]] = {}
    for group, rows in groups:
        values.update(_decoded(group, rows))
    return list(zip(values[None], *(values[f] for f in fields), strict=True))


def _decoded(
    fields: Sequence[MessageField], rows: Sequence[Row]
) -> dict[MessageField | None, Sequence[object]]:
    """The uids (under None) and the values of each field in rows of field_columns(fields),
    a column at a time (zip and map run in C; the decoders are cached): after the uid, a
    field's value is one column, or two for FLAGS and INTERNALDATE."""
    columns = list(zip(*rows, strict=True))
    values: dict[MessageField | None, Sequence[object]] = {None: columns[0]}
    position = 1
    for field in fields:
        names, decode = _FIELDS[field]
        width = names.count(",") + 1
        args = columns[position : position + width]
        values[field] = args[0] if decode is None else list(map(decode, *args))
        position += width
    return values


def search(
    tx: Tx, mailbox: MailboxId, query: Query, index: TextIndex | None, limit: int | None = None
) -> list[Uid]:
    """index None: every text predicate scans (the reference the index must agree with)."""
    get_mailbox(tx, mailbox)
    sql, params = compile_search(query, mailbox, index, limit)
    return _uid_column(tx.all(sql, params))


def _uid_column(rows: list[Row]) -> list[Uid]:
    # Uid is a NewType: skipping its call per row matters for 100,000-row mailboxes.
    return cast(list[Uid], [row[0] for row in rows])


def forget_texts(tx: Tx) -> int:
    """Deletes the search text of blobs no message references; returns how many."""
    return texts.forget(tx)


# ----- flags and expunge --------------------------------------------------------------


def store_flags(
    tx: Tx,
    mailbox: MailboxId,
    uids: Sequence[Uid],
    mode: FlagMode,
    flags: frozenset[str],
    unchangedsince: ModSeq | None,
) -> FlagResult:
    get_mailbox(tx, mailbox)
    rows = select_uids(tx, FLAG_COLUMNS, mailbox, uids)
    updates, modified = _flag_updates(rows, mode, Flags.parse(flags), unchangedsince)
    if not updates:
        return FlagResult(changed=(), modified=modified)
    modseq = advance(tx, mailbox, 0).modseq
    if mode is not FlagMode.REMOVE:
        define_keywords(tx, mailbox, Flags.parse(flags).keywords)
    tx.executemany(
        "UPDATE messages SET system_flags = ?, keywords = ?, modseq = ? "
        "WHERE mailbox_id = ? AND uid = ?",
        [(new.bits, new.dump(), modseq, mailbox, uid) for uid, new, _ in updates],
    )
    changed = tuple(
        MessageFlags(uid=uid, modseq=modseq, flags=new.as_set()) for uid, new, _ in updates
    )
    previous = tuple(old for _, _, old in updates)
    return FlagResult(changed=changed, modified=modified, previous=previous)


def _flag_updates(
    rows: Iterable[Row], mode: FlagMode, wanted: Flags, unchangedsince: ModSeq | None
) -> tuple[list[tuple[Uid, Flags, ModSeq]], tuple[Uid, ...]]:
    """(uid, new flags, old modseq) of each message the call changes, and the uids
    UNCHANGEDSINCE excludes."""
    modified: list[Uid] = []
    updates: list[tuple[Uid, Flags, ModSeq]] = []
    for uid, modseq, bits, keywords in rows:
        if unchangedsince is not None and modseq > unchangedsince:
            # RFC 7162 §3.1.3: changed since the client looked; report, do not touch.
            modified.append(Uid(uid))
            continue
        old = Flags.load(bits, keywords)
        new = old.apply(mode, wanted)
        if not new.same(old):
            updates.append((Uid(uid), new, ModSeq(modseq)))
    return updates, tuple(modified)


def expunge(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid] | None) -> list[Uid]:
    get_mailbox(tx, mailbox)
    deleted = f"system_flags & {BIT_DELETED} != 0"
    if uids is None:
        rows = tx.all(
            f"SELECT uid FROM messages WHERE mailbox_id = ? AND {deleted} ORDER BY uid",
            (mailbox,),
        )
    else:
        rows = select_uids(tx, "uid", mailbox, uids, deleted)
    return _remove(tx, mailbox, [Uid(row[0]) for row in rows])


def expunge_uids(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid]) -> list[Uid]:
    """POP3's QUIT: the messages among uids that still exist go, whatever their flags."""
    get_mailbox(tx, mailbox)
    return _remove(tx, mailbox, [Uid(row[0]) for row in select_uids(tx, "uid", mailbox, uids)])


def _remove(tx: Tx, mailbox: MailboxId, gone: list[Uid]) -> list[Uid]:
    if gone:
        modseq = advance(tx, mailbox, 0).modseq
        remove_messages(tx, mailbox, gone, modseq)
    return gone


# ----- copy and move ------------------------------------------------------------------


def copy(
    tx: Tx, source: MailboxId, uids: Sequence[Uid], dest: MailboxId, *, move: bool, now: datetime
) -> CopyResult:
    origin = get_mailbox(tx, source)
    target = get_mailbox(tx, dest)
    rows = select_uids(tx, f"uid, thread_id, {_CARRIED}", source, uids)
    if not rows:
        return CopyResult(
            uidvalidity=target.uidvalidity,
            source_uids=(),
            dest_uids=(),
            dest_modseq=target.highestmodseq,
            source_modseq=None,
        )
    if not (move and origin.account_id == target.account_id):
        # A MOVE within one account changes its usage by nothing, so it is never refused.
        charge(tx, target.account_id, sum(row[_SIZE] for row in rows), len(rows))
    first, dest_modseq = _insert_copies(tx, origin, target, rows, now)
    source_uids = tuple(Uid(row[0]) for row in rows)
    source_modseq: ModSeq | None = None
    if move:
        # One modseq per mailbox per call, also when moving within one mailbox.
        source_modseq = dest_modseq if source == dest else advance(tx, source, 0).modseq
        remove_messages(tx, source, source_uids, source_modseq)
    return CopyResult(
        uidvalidity=target.uidvalidity,
        source_uids=source_uids,
        dest_uids=tuple(Uid(first + i) for i in range(len(rows))),
        dest_modseq=dest_modseq,
        source_modseq=source_modseq,
    )


def _insert_copies(
    tx: Tx, origin: Mailbox, target: Mailbox, rows: Sequence[Row], now: datetime
) -> tuple[Uid, ModSeq]:
    """Inserts (uid, thread_id, *_CARRIED) rows of origin into target; returns (first new
    uid, its modseq)."""
    first, modseq, _, _ = advance(tx, target.id, len(rows))
    inserts = []
    for offset, (_uid, thread, *carried) in enumerate(rows):
        # EMAILID follows the blob within an account (RFC 8474), so recomputing it keeps
        # it across copies and gives a copy into another account that account's id; the
        # THREADID is kept within the account and found anew in another.
        email = email_id(target.account_id, BlobId(carried[5]))
        if target.account_id != origin.account_id:
            refs = tuple(carried[_THREAD_REFS].split())
            thread = thread_for(tx, target.account_id, email, carried[_MESSAGE_ID], refs)
        head = (target.id, first + offset, modseq, to_micros(now), email, thread)
        inserts.append((*head, *carried))
    tx.executemany(_INSERT_MESSAGE, inserts)
    define_keywords(tx, target.id, (k for row in rows for k in row[_KEYWORDS].split()))
    return first, modseq
