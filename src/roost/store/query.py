"""Search: the Query tree of api.py as one SQL WHERE clause, and UID ranges as SQL.

The Query tree compiles to one WHERE clause. Text predicates call SQL functions that do
case-insensitive substring matching row by row: correct but a scan of the mailbox; the
FTS5 index that makes them cost what they match comes with the benchmark issue. Every
engine registers the functions of SQL_FUNCTIONS under their names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from roost.model import MailboxId, Uid
from roost.store.api import (
    All,
    And,
    ArrivedAfter,
    BodyContains,
    DateBefore,
    DateField,
    DateOnOrAfter,
    EmailIs,
    HasFlag,
    HeaderContains,
    ModSeqAtLeast,
    Not,
    Or,
    Query,
    SizeLarger,
    SizeSmaller,
    TextContains,
    ThreadIs,
    UidIn,
)
from roost.store.engine import Row, Tx
from roost.store.flags import Flags
from roost.store.instants import to_micros

__all__ = [
    "SQL_FUNCTIONS",
    "compile_query",
    "has_keyword",
    "header_contains",
    "select_uids",
    "text_contains",
    "uid_ranges",
]

# Uid ranges per statement: keeps the number of SQL parameters well under engine limits.
_RANGES_PER_QUERY = 200


def text_contains(haystack: str | None, needle: str) -> bool:
    return haystack is not None and needle.casefold() in haystack.casefold()


def header_contains(headers: str | None, name: str, needle: str) -> bool:
    """headers_text has one "name: value" line per field; "" matches a present field."""
    if headers is None:
        return False
    wanted, folded = name.casefold(), needle.casefold()
    for line in headers.splitlines():
        field, colon, value = line.partition(":")
        if colon and field.strip().casefold() == wanted and folded in value.casefold():
            return True
    return False


def has_keyword(keywords: str | None, keyword: str) -> bool:
    return keywords is not None and keyword.casefold() in keywords.casefold().split()


# name -> (number of arguments, implementation); every engine must provide these.
SQL_FUNCTIONS: dict[str, tuple[int, Callable[..., bool]]] = {
    "roost_contains": (2, text_contains),
    "roost_header_contains": (3, header_contains),
    "roost_has_keyword": (2, has_keyword),
}

# Dates compare as wall-clock time in each message's own zone (RFC 9051 §6.4.4: the date
# "disregarding time and timezone"): the UTC instant plus the stored offset.
_LOCAL_INTERNAL = "(internaldate + internaldate_tz * 1000000)"
_DATE_COLUMNS = {
    DateField.INTERNAL: _LOCAL_INTERNAL,
    # A message without a Date: field is treated as sent when it arrived, so that NOT
    # never meets an SQL NULL.
    DateField.SENT: f"COALESCE(sent_date + sent_date_tz * 1000000, {_LOCAL_INTERNAL})",
    DateField.SAVED: "savedate",
}


# A blob's text lives in blob_texts (migration 0004), read only for rows a text key tests.
_HEADERS_TEXT = "(SELECT headers_text FROM blob_texts t WHERE t.blob_id = messages.blob_id)"
_BODY_TEXT = "(SELECT body_text FROM blob_texts t WHERE t.blob_id = messages.blob_id)"


def compile_query(query: Query) -> tuple[str, list[object]]:
    """A WHERE clause (never NULL-valued) and its parameters."""
    match query:
        case All():
            return "1 = 1", []
        case UidIn(uids=ranges):
            return _uid_ranges_sql(ranges)
        case HasFlag(flag=flag):
            parsed = Flags.parse({flag})
            if parsed.bits:
                return "(system_flags & ?) != 0", [parsed.bits]
            return "roost_has_keyword(keywords, ?)", [flag]
        case HeaderContains(name=name, text=text):
            return f"roost_header_contains({_HEADERS_TEXT}, ?, ?)", [name, text]
        case BodyContains(text=text):
            return f"roost_contains({_BODY_TEXT}, ?)", [text]
        case TextContains(text=text):
            sql = f"(roost_contains({_HEADERS_TEXT}, ?) OR roost_contains({_BODY_TEXT}, ?))"
            return sql, [text, text]
        case DateBefore(field=field, when=when):
            return f"{_DATE_COLUMNS[field]} < ?", [to_micros(when)]
        case DateOnOrAfter(field=field, when=when):
            return f"{_DATE_COLUMNS[field]} >= ?", [to_micros(when)]
        case ArrivedAfter(when=when):
            return "internaldate > ?", [to_micros(when)]
        case SizeLarger(size=size):
            return "size > ?", [size]
        case SizeSmaller(size=size):
            return "size < ?", [size]
        case ModSeqAtLeast(modseq=modseq):
            return "modseq >= ?", [modseq]
        case EmailIs(email_id=email):
            return "email_id = ?", [email]
        case ThreadIs(thread_id=thread):
            return "thread_id = ?", [thread]
        case Not(query=inner):
            sql, params = compile_query(inner)
            return f"NOT ({sql})", params
        case And(queries=queries):
            return _join(queries, " AND ", "1 = 1")
        case Or(queries=queries):
            return _join(queries, " OR ", "1 = 0")


def _join(queries: tuple[Query, ...], op: str, empty: str) -> tuple[str, list[object]]:
    if not queries:
        return empty, []
    parts, params = [], []
    for query in queries:
        sql, more = compile_query(query)
        parts.append(f"({sql})")
        params.extend(more)
    return op.join(parts), params


def _uid_ranges_sql(ranges: Sequence[tuple[int, int]]) -> tuple[str, list[object]]:
    if not ranges:
        return "1 = 0", []
    params: list[object] = []
    for first, last in ranges:
        params.extend((min(first, last), max(first, last)))
    return " OR ".join(["uid BETWEEN ? AND ?"] * len(ranges)), params


def uid_ranges(uids: Sequence[Uid]) -> list[tuple[int, int]]:
    """Ascending, merged inclusive ranges: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    ranges: list[tuple[int, int]] = []
    for uid in sorted(set(uids)):
        if ranges and ranges[-1][1] == uid - 1:
            ranges[-1] = (ranges[-1][0], uid)
        else:
            ranges.append((uid, uid))
    return ranges


def select_uids(
    tx: Tx, columns: str, mailbox: MailboxId, uids: Sequence[Uid], where: str = "1 = 1"
) -> list[Row]:
    """Rows of the existing messages among uids, ascending by uid."""
    ranges = uid_ranges(uids)
    rows: list[Row] = []
    for start in range(0, len(ranges), _RANGES_PER_QUERY):
        chunk = ranges[start : start + _RANGES_PER_QUERY]
        uid_sql, params = _uid_ranges_sql(chunk)
        sql = (
            f"SELECT {columns} FROM messages WHERE mailbox_id = ? AND ({uid_sql}) "
            f"AND ({where}) ORDER BY uid"
        )
        rows.extend(tx.all(sql, (mailbox, *params)))
    return rows
