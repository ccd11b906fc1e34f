"""Search: the Query tree of api.py as one SQL statement, and UID ranges as SQL.

Theory of operation
-------------------
The Query tree compiles to one WHERE clause, in the SQL every engine speaks. The exact test
of a text predicate (case-insensitive substring, RFC 9051 §6.4.4) is a LIKE over the texts
folded at delivery (roost.store.mail.texts: no Python runs inside SQL, and both engines answer
alike); run on every row it would scan the mailbox's texts, so the engine's TextIndex
(roost.store.engines.api) narrows first and the exact test only confirms the candidates:

* when the index can name a superset of the matching blobs (a text key; an AND with one
  among its conjuncts, the one with the longest needle; an OR of such, as a UNION), the
  statement starts from those candidates joined to messages (`driven_by`) and the exact
  predicates decide among them, so `SEARCH TEXT x UNSEEN` costs what x matches, not what
  the mailbox holds;
* otherwise (NOT TEXT x, OR TEXT x UNSEEN) the mailbox is scanned in SQL, and each text
  predicate becomes `CASE WHEN blob_id IN (candidates) THEN exact ELSE false END`: the
  candidates are computed once per statement, the exact test runs on them only.

A needle the index cannot narrow (shorter than a trigram) keeps the plain scan, so the
result is always what the exact predicates say.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    PlainQuery,
    Query,
    SeenBy,
    SizeLarger,
    SizeSmaller,
    TextContains,
    TextQuery,
    ThreadIs,
    UidIn,
)
from roost.store.engines.api import Row, TextColumn, TextIndex, Tx
from roost.store.mail import texts
from roost.store.mail.flags import Flags
from roost.store.mail.instants import to_micros
from roost.store.mail.texts import LIKE_ESCAPE, like_pattern

__all__ = [
    "compile_query",
    "compile_search",
    "has_keyword",
    "select_uids",
    "uid_ranges",
]

# Uid ranges per statement: keeps the number of SQL parameters well under engine limits.
_RANGES_PER_QUERY = 200


def has_keyword(keywords: str | None, keyword: str) -> bool:
    """The meaning of `_keyword_sql`, in Python. Keywords are atoms, ASCII (RFC 9051 §9
    flag-keyword): they compare ignoring ASCII case, as SQL's lower() does on both engines."""
    if keywords is None or any(c.isspace() for c in keyword):
        return False
    return keyword.translate(_ASCII_LOWER) in keywords.translate(_ASCII_LOWER).split(" ")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _keyword_sql(keyword: str) -> tuple[str, list[object]]:
    if not keyword or any(c.isspace() for c in keyword):
        return "1 = 0", []  # stored keywords are space-separated atoms
    pattern = like_pattern(f" {keyword.translate(_ASCII_LOWER)} ")
    return f"(' ' || lower(keywords) || ' ') LIKE ? ESCAPE '{LIKE_ESCAPE}'", [pattern]


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


# A team mailbox's message as one member has read it (roost.store.mail.private), probed
# through the primary key of private_seen.
_SEEN_BY = (
    "EXISTS (SELECT 1 FROM private_seen p WHERE p.mailbox_id = messages.mailbox_id "
    "AND p.uid = messages.uid AND p.account_id = ? AND p.seen = 1)"
)

# A blob's folded texts (roost.store.mail.texts), read only for the rows a text key tests.
_TEXTS = "SELECT 1 FROM blob_texts t WHERE t.blob_id = messages.blob_id"


def compile_search(
    query: Query, mailbox: MailboxId, index: TextIndex | None, limit: int | None = None
) -> tuple[str, list[object]]:
    """The SELECT of the uids (ascending) of mailbox's messages that match query; only the
    first `limit` if given."""
    driver = _candidates(query, index) if index is not None else None
    # LIMIT -1 is SQLite's "no limit", an error on PostgreSQL: no limit is no LIMIT.
    tail, tail_params = ("", []) if limit is None else (" LIMIT ?", [limit])
    if driver is None or index is None:
        where, params = compile_query(query, index)
        sql = f"SELECT uid FROM messages WHERE mailbox_id = ? AND ({where}) ORDER BY uid{tail}"
        return sql, [mailbox, *params, *tail_params]
    # The rows come from the candidates, a superset of the matches: the exact predicates
    # alone decide among them.
    candidates, candidate_params, _ = driver
    where, params = compile_query(query)
    sql = (
        f"SELECT uid FROM {index.driven_by(candidates)} "
        f"WHERE mailbox_id = ? AND ({where}) ORDER BY uid{tail}"
    )
    return sql, [*candidate_params, mailbox, *params, *tail_params]


def compile_query(query: Query, index: TextIndex | None = None) -> tuple[str, list[object]]:
    """A WHERE clause (never NULL-valued) and its parameters; text predicates scan, or
    probe the candidates of index first if given."""
    match query:
        case HeaderContains() | BodyContains() | TextContains():
            return _text(query, index)
        case Not(query=inner):
            sql, params = compile_query(inner, index)
            return f"NOT ({sql})", params
        case And(queries=queries):
            return _join(queries, " AND ", "1 = 1", index)
        case Or(queries=queries):
            return _join(queries, " OR ", "1 = 0", index)
        case _:
            return _plain(query)


def _plain(query: PlainQuery) -> tuple[str, list[object]]:
    match query:
        case All():
            return "1 = 1", []
        case UidIn(uids=ranges):
            return _uid_ranges_sql(ranges)
        case HasFlag(flag=flag):
            parsed = Flags.parse({flag})
            if parsed.bits:
                return "(system_flags & ?) != 0", [parsed.bits]
            return _keyword_sql(flag)
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
        case SeenBy(account=account):
            return _SEEN_BY, [account]


def _exact(query: TextQuery) -> tuple[str, list[object]]:
    """The exact test of a text key: plain SQL over the folded texts (roost.store.mail.texts),
    the same on every engine."""
    match query:
        case HeaderContains(name=name, text=text):
            return texts.header_sql("messages.blob_id", name, text)
        case BodyContains(text=text):
            body, params = texts.contains_sql("t.body_text", texts.fold(text))
            return f"EXISTS ({_TEXTS} AND {body})", params
        case TextContains(text=text):
            headers, params = texts.contains_sql("t.headers_text", texts.fold(text))
            body, more = texts.contains_sql("t.body_text", texts.fold(text))
            return f"EXISTS ({_TEXTS} AND ({headers} OR {body}))", [*params, *more]


def _text(query: TextQuery, index: TextIndex | None) -> tuple[str, list[object]]:
    exact, params = _exact(query)
    narrowed = None if index is None else _candidates(query, index)
    if narrowed is None:
        return exact, params
    candidates, candidate_params, _ = narrowed
    # CASE, not AND: SQL does not promise to evaluate AND left to right, and the exact
    # function must run on candidates only.
    sql = f"CASE WHEN blob_id IN ({candidates}) THEN {exact} ELSE 1 = 0 END"
    return sql, [*candidate_params, *params]


# (a SELECT of blob ids, its parameters, the length of its shortest needle: the longer,
# the fewer candidates, as a rule)
_Candidates = tuple[str, list[object], int]


def _candidates(query: Query, index: TextIndex) -> _Candidates | None:
    """A superset of the blobs of the messages that match query, if the index can tell."""
    match query:
        case TextContains(text=text):
            return _weighed(index.candidates(text, None), text)
        case BodyContains(text=text):
            return _weighed(index.candidates(text, TextColumn.BODY), text)
        case HeaderContains(name=name, text=text):
            # HEADER name "" matches every message with the field: its name is in the
            # header text ("name: value" lines), so it narrows too.
            return _weighed(index.candidates(text or name, TextColumn.HEADERS), text or name)
        case And(queries=queries):
            # Any conjunct's candidates hold the conjunction's; take the narrowest.
            found = [c for c in (_candidates(q, index) for q in queries) if c is not None]
            return max(found, key=lambda c: c[2], default=None)
        case Or(queries=queries) if queries:
            union = [_candidates(q, index) for q in queries]
            if any(c is None for c in union):
                return None  # a disjunct the index cannot narrow: the union is everything
            parts = [c for c in union if c is not None]
            if len(parts) > _MAX_UNION:
                return None  # SQLite refuses a compound SELECT of more than 500 terms
            params = [p for c in parts for p in c[1]]
            sql = " UNION ".join(c[0] for c in parts)
            return sql, params, min(c[2] for c in parts)
        case _:
            return None  # NOT, flags, dates, sizes: the index knows nothing of them


def _weighed(found: tuple[str, list[object]] | None, needle: str) -> _Candidates | None:
    return None if found is None else (*found, len(needle))


def _join(
    queries: tuple[Query, ...], op: str, empty: str, index: TextIndex | None
) -> tuple[str, list[object]]:
    if not queries:
        return empty, []
    parts, params = [], []
    # A key given twice is tested once (x AND x is x, x OR x is x).
    for query in dict.fromkeys(queries):
        sql, more = compile_query(query, index)
        parts.append(f"({sql})")
        params.extend(more)
    return balanced(parts, op), params


# Disjuncts narrowed through the index as one UNION; past it, the text keys scan.
_MAX_UNION = 64
# Terms joined flat under one pair of parentheses by `balanced`.
_FANOUT = 16


def balanced(terms: list[str], op: str) -> str:
    """terms joined by op (AND, OR) in nested groups of at most _FANOUT, so the expression's
    depth grows with the logarithm of their number: SQLite refuses an expression deeper
    than 1,000 ("Expression tree is too large"), and "a AND b AND c ..." is as deep as it
    is long."""
    while len(terms) > _FANOUT:
        terms = ["(" + op.join(terms[i : i + _FANOUT]) + ")" for i in range(0, len(terms), _FANOUT)]
    return op.join(terms)


def _uid_ranges_sql(ranges: Sequence[tuple[int, int]]) -> tuple[str, list[object]]:
    if not ranges:
        return "1 = 0", []
    # The bounds are written into the SQL (integers, so nothing to escape), not bound as
    # parameters: a set of 20,000 ranges would pass SQLite's 32,766 parameters. Single
    # UIDs go in one IN list, which SQLite parses and probes in linear time; an OR of
    # thousands of BETWEENs takes it quadratic time.
    single = [f"{a:d}" for a, b in ranges if a == b]
    terms = [f"uid BETWEEN {min(a, b):d} AND {max(a, b):d}" for a, b in ranges if a != b]
    if single:
        terms.append(f"uid IN ({', '.join(single)})")
    return balanced(terms, " OR "), []


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
