"""A blob's search texts, stored in the form the exact predicates of SEARCH read.

Theory of operation
-------------------
IMAP SEARCH text keys are case-insensitive substring tests (RFC 9051 §6.4.4), and
"case-insensitive" here means Python's str.casefold (ß is "ss", İ is "i̇"), which neither
SQLite's nor PostgreSQL's lower() is. So the texts are folded once, in Python, at delivery,
and stored folded; a needle is folded the same way, and what is left for the database is a
plain, case-sensitive substring test that both engines spell the same (LIKE with an escape
character), with no Python function inside SQL. Both engines then give the same answers by
construction, and the contract suite checks it against `contains` and `header_contains`,
the meaning written in Python.

Per blob (the texts belong to the blob, computed once at delivery; the first delivery's
stay):
* blob_texts (blob_id, headers_text, body_text): the folded header block ("name: value"
  lines) and body text, for TEXT and BODY;
* search_fields (blob_id, name, value): for HEADER, one row per field name, its values
  (what follows the first ":" of each of its lines) joined by a line break. A value holds
  no line break, so a needle without one can only match inside a single value.

`fold` also maps NUL to U+FFFD: PostgreSQL's text cannot hold NUL, and SQLite's string
functions stop at one; stored texts and needles are mapped alike, so nothing else changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.store.engines.api import Tx

__all__ = [
    "LIKE_ESCAPE",
    "contains",
    "contains_sql",
    "fold",
    "folded_fields",
    "forget",
    "header_contains",
    "header_fields",
    "like_pattern",
    "store",
]

# What str.splitlines splits on: header lines (and so field values) never hold one.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
LIKE_ESCAPE = "\\"
# SQLite refuses LIKE patterns over 50,000 bytes; a longer needle is tested without LIKE.
_MAX_PATTERN_BYTES = 40_000


def fold(text: str) -> str:
    """The search form of a text or a needle."""
    return text.casefold().replace("\x00", "\ufffd")


def header_fields(headers_text: str) -> dict[str, str]:
    """Folded field name -> its folded values joined by "\\n", from a header block of
    "name: value" lines (roost.model.ParsedMessage.headers_text)."""
    return folded_fields(fold(headers_text))


def folded_fields(folded_headers: str) -> dict[str, str]:
    """header_fields of a header block folded already. Folding works character by
    character and never makes or removes a line break, a ":" or white space, so folding
    the block once gives what folding each name and value would."""
    fields: dict[str, list[str]] = {}
    for line in folded_headers.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            fields.setdefault(name.strip(), []).append(value)
    return {name: "\n".join(values) for name, values in fields.items()}


# ----- the meaning, in Python (the reference the SQL must agree with) -------------------


def contains(text: str | None, needle: str) -> bool:
    return text is not None and fold(needle) in fold(text)


def header_contains(headers_text: str | None, name: str, needle: str) -> bool:
    """Some line of the field `name` has needle in its value; "" matches a present field."""
    if headers_text is None:
        return False
    values = header_fields(headers_text).get(fold(name))
    if values is None or _LINE_BREAKS.intersection(needle):
        return False
    return any(fold(needle) in value for value in values.split("\n"))


# ----- the SQL ----------------------------------------------------------------------------


def like_pattern(folded: str) -> str:
    """A LIKE pattern (escape LIKE_ESCAPE) for the texts that contain folded."""
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains_sql(column: str, folded: str) -> tuple[str, list[object]]:
    """An SQL condition: column (a folded text, not NULL) contains folded."""
    if not folded:
        return "1 = 1", []
    pattern = like_pattern(folded)
    if len(pattern.encode()) <= _MAX_PATTERN_BYTES:
        return f"{column} LIKE ? ESCAPE '{LIKE_ESCAPE}'", [pattern]
    # Removing every occurrence shortens the text if and only if there was one.
    return f"length(replace({column}, ?, '')) < length({column})", [folded]


def header_sql(blob: str, name: str, needle: str) -> tuple[str, list[object]]:
    """An SQL condition: the blob (an SQL expression) has field name with needle in a value."""
    wanted = fold(name)
    if ":" in wanted or _LINE_BREAKS.intersection(wanted) or _LINE_BREAKS.intersection(needle):
        return "1 = 0", []  # no stored field name or value can hold these
    value, params = contains_sql("f.value", fold(needle))
    fields = f"SELECT 1 FROM search_fields f WHERE f.blob_id = {blob} AND f.name = ?"
    sql = f"EXISTS ({fields} AND {value})"
    return sql, [wanted, *params]


# ----- units of work --------------------------------------------------------------------

_INSERT_TEXT = (
    "INSERT INTO blob_texts (blob_id, headers_text, body_text) VALUES (?, ?, ?) "
    "ON CONFLICT (blob_id) DO NOTHING RETURNING blob_id"
)
_INSERT_FIELD = "INSERT INTO search_fields (blob_id, name, value) VALUES (?, ?, ?)"


def store(tx: Tx, texts: Sequence[tuple[str, str, str]]) -> None:
    """Stores the search texts of each (blob, headers_text, body_text), folded already,
    whose blob has none yet (copies share their blob's texts: the first message of a blob
    writes them)."""
    for blob, headers, body in texts:
        if tx.one(_INSERT_TEXT, (blob, headers, body)) is None:
            continue
        fields = folded_fields(headers)
        tx.executemany(_INSERT_FIELD, [(blob, name, value) for name, value in fields.items()])


def forget(tx: Tx) -> int:
    """Deletes the search texts of blobs no message references; returns how many."""
    unreferenced = "NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = {}.blob_id)"
    tx.execute(f"DELETE FROM search_fields WHERE {unreferenced.format('search_fields')}")
    return tx.execute(f"DELETE FROM blob_texts WHERE {unreferenced.format('blob_texts')}")
