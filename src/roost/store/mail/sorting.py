"""SORT and THREAD reads: one SELECT over the matching messages, keys from delivery.

The sort keys were computed and folded at delivery (roost.model.SortFields, migration
0003), so ordering is an ORDER BY on stored columns; the uid breaks every tie, which is
the mailbox order RFC 5256 §3 asks for. Threading reads the same stored fields and does
its work in roost.proto.imap.threading.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.model import MailboxId, Uid
from roost.store.api import Query, SortField, SortKey, ThreadInfo
from roost.store.engines.api import Tx
from roost.store.mail.instants import from_micros
from roost.store.mail.lookup import get_mailbox
from roost.store.mail.query_sql import compile_query

__all__ = ["sort", "thread_info"]

# RFC 5256 §2.2: a message without a readable Date: field was sent when it arrived.
_SENT = "COALESCE(sent_date, internaldate)"
_COLUMNS = {
    SortField.ARRIVAL: "internaldate",
    SortField.CC: "sort_cc",
    SortField.DATE: _SENT,
    SortField.FROM: "sort_from",
    SortField.SIZE: "size",
    SortField.SUBJECT: "sort_subject",
    SortField.TO: "sort_to",
    SortField.DISPLAYFROM: "sort_display_from",
    SortField.DISPLAYTO: "sort_display_to",
}


def sort(tx: Tx, mailbox: MailboxId, query: Query, keys: Sequence[SortKey]) -> list[Uid]:
    get_mailbox(tx, mailbox)
    where, params = compile_query(query)
    order = [f"{_COLUMNS[k.field]}{' DESC' if k.reverse else ''}" for k in keys]
    rows = tx.all(
        f"SELECT uid FROM messages WHERE mailbox_id = ? AND ({where}) "
        f"ORDER BY {', '.join([*order, 'uid'])}",
        (mailbox, *params),
    )
    return [Uid(row[0]) for row in rows]


def thread_info(tx: Tx, mailbox: MailboxId, query: Query) -> list[ThreadInfo]:
    get_mailbox(tx, mailbox)
    where, params = compile_query(query)
    rows = tx.all(
        f"SELECT uid, {_SENT}, sort_subject, subject_reply, message_id, thread_refs "
        f"FROM messages WHERE mailbox_id = ? AND ({where}) ORDER BY uid",
        (mailbox, *params),
    )
    return [
        ThreadInfo(
            uid=Uid(row[0]),
            sent=from_micros(row[1]),
            subject=row[2],
            reply=bool(row[3]),
            message_id=_bare_id(row[4]),
            references=tuple(row[5].split()),
        )
        for row in rows
    ]


def _bare_id(stored: str | None) -> str | None:
    # The stored Message-ID is the field as written: "<id@host>", maybe with comments.
    if not stored:
        return None
    start, end = stored.find("<"), stored.find(">")
    inner = stored[start + 1 : end].strip() if 0 <= start < end else stored.strip()
    return inner or None
