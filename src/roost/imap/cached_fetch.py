"""FETCH of stored items only (RFC 9051 §7.5.2): the many-message path of an initial sync.

Theory of operation
-------------------
A device that syncs a mailbox asks for the same few items of every message (UID FLAGS
ENVELOPE BODYSTRUCTURE, RFC822.SIZE, INTERNALDATE, MODSEQ...). Everything such a FETCH
returns was stored when the message arrived, so a response line is one bytes format per
command filled from one row of the store's `fetch_fields`:

* the plan, built once per item list, names the fields the store reads (only the columns
  those items need) and, per item, its text in the line format and how a stored value
  becomes that text; most values are the stored bytes or integers themselves;
* FLAGS are rendered once per distinct flag set (and \\Recent) of a chunk, not per message.

Items that read the message bytes (body sections, RFC822, RFC822.HEADER, RFC822.TEXT) or
set \\Seen keep fetch.py's general path. Both paths render the same bytes for the same
items (tests/imap/test_cached_fetch.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from roost.proto.imap import commands as c
from roost.proto.imap.responses import internaldate
from roost.proto.imap.strings import render_nstring
from roost.store.api import FieldRow, MessageField, MessageMeta

if TYPE_CHECKING:
    from roost.imap.selected import SelectedMailbox

__all__ = ["Plan", "plan", "render", "stored_item"]

F = MessageField
# item -> (its text in the line format, the field it shows: None for the UID, which
# every row starts with)
_ITEMS: dict[str, tuple[bytes, MessageField | None]] = {
    "UID": (b"UID %d", None),
    "FLAGS": (b"FLAGS %s", F.FLAGS),
    "MODSEQ": (b"MODSEQ (%d)", F.MODSEQ),  # RFC 7162 §3.1.4
    "INTERNALDATE": (b"INTERNALDATE %s", F.INTERNALDATE),
    "RFC822.SIZE": (b"RFC822.SIZE %d", F.SIZE),
    "ENVELOPE": (b"ENVELOPE %s", F.ENVELOPE),
    "BODYSTRUCTURE": (b"BODYSTRUCTURE %s", F.BODYSTRUCTURE),
    "BODY": (b"BODY %s", F.BODY),
    "PREVIEW": (b"PREVIEW %s", F.PREVIEW),  # RFC 8970
    "SAVEDATE": (b"SAVEDATE %s", F.SAVEDATE),  # RFC 8514
    "EMAILID": (b"EMAILID (%s)", F.EMAIL_ID),  # RFC 8474
    "THREADID": (b"THREADID (%s)", F.THREAD_ID),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    fields: tuple[MessageField, ...]  # what fetch_fields reads, after the uid
    line: bytes  # "* %d FETCH (UID %d FLAGS %s ...)\r\n"
    columns: tuple[int, ...]  # per item, its value's position in a FieldRow
    shown: tuple[MessageField | None, ...]  # per item, the field it shows


@lru_cache(maxsize=128)
def plan(items: tuple[c.FetchItem, ...], *, uidonly: bool) -> Plan | None:
    """The plan of a FETCH of these items, or None if one of them is not stored."""
    if not all(isinstance(i, str) and i in _ITEMS for i in items):
        return None
    texts = [_ITEMS[str(i)] for i in items]
    fields = tuple(dict.fromkeys(field for _, field in texts if field is not None))
    head = b"* %d UIDFETCH (" if uidonly else b"* %d FETCH ("
    return Plan(
        fields=fields,
        line=head + b" ".join(text for text, _ in texts) + b")\r\n",
        columns=tuple(0 if f is None else 1 + fields.index(f) for _, f in texts),
        shown=tuple(field for _, field in texts),
    )


def render(plan: Plan, view: SelectedMailbox, rows: list[FieldRow], *, utf8: bool) -> bytes:
    """The FETCH responses of rows (as fetch_fields read them for plan.fields)."""
    if not rows:
        return b""
    # A column at a time: only the values that are not shown as stored cost a call each.
    columns = list(zip(*rows, strict=True))
    uids: tuple[int, ...] = columns[0]
    shown = [
        _show(field, columns[i], uids, view, utf8)
        for i, field in zip(plan.columns, plan.shown, strict=True)
    ]
    line = plan.line
    return b"".join([line % values for values in zip(_names(view, uids), *shown, strict=True)])


def stored_item(
    item: str, meta: MessageMeta, flags: frozenset[str], view: SelectedMailbox, *, utf8: bool
) -> bytes:
    """One stored item of one message (FLAGS showing `flags`), as `render` writes it: the
    general path of fetch.py renders the stored items of its lines with this."""
    text, field = _ITEMS[item]
    if field is None:
        value: object = meta.uid
    elif field is F.FLAGS:
        value = flags
    else:
        value = getattr(meta, field.value)
    return text % _show(field, (value,), (meta.uid,), view, utf8)[0]


def _names(view: SelectedMailbox, uids: tuple[int, ...]) -> Sequence[int]:
    """What each response line starts with: the sequence number, or (RFC 9586 §3.3: after
    ENABLE UIDONLY) the UID standing in for it."""
    if view.uidonly:
        return uids
    first = view.msn(uids[0])
    if first is not None and tuple(view.uids[first - 1 : first - 1 + len(uids)]) == uids:
        return range(first, first + len(uids))  # consecutive in the view: FETCH 1:*
    return [view.msn(uid) or 0 for uid in uids]


def _show(
    field: MessageField | None,
    values: tuple[Any, ...],
    uids: tuple[int, ...],
    view: SelectedMailbox,
    utf8: bool,
) -> Sequence[object]:
    """What the line format takes for each of a column's values."""
    if field is F.FLAGS:
        return list(map(_flag_texts(view), values, uids))
    if field is F.INTERNALDATE or field is F.SAVEDATE:
        return list(map(internaldate, values))
    if field is F.PREVIEW:
        return [render_nstring(value or None, utf8=utf8) for value in values]
    if field is F.EMAIL_ID or field is F.THREAD_ID:
        return [value.encode() for value in values]
    return values


def _flag_texts(view: SelectedMailbox) -> Callable[[frozenset[str], int], bytes]:
    """FLAGS text of a flag set: one rendering per distinct set, and \\Recent or not
    (IMAP4rev1), since that is all view.flags depends on."""
    recent: dict[frozenset[str], bytes] = {}
    plain: dict[frozenset[str], bytes] = {}

    def text(flags: frozenset[str], uid: int) -> bytes:
        texts = recent if view.is_recent(uid) else plain
        rendered = texts.get(flags)
        if rendered is None:
            rendered = texts[flags] = view.flags(flags, uid).encode()
        return rendered

    return text
