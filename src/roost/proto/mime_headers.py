"""Header field scanning over raw bytes (RFC 5322 §2.2, §3.6; RFC 6532).

A header is scanned in place: `field_spans` yields the offsets of each field (folding
kept), so FETCH BODY[HEADER.FIELDS] can copy fields byte for byte and the part-tree
parser can read the few fields it needs without building a message object. Like the
rest of MIME analysis it is forgiving: a bare LF is a line ending, a line that is not a
field is skipped, and a header without a blank line runs to the end of its part.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

__all__ = [
    "LF",
    "field_name",
    "field_spans",
    "field_value",
    "header_end",
    "header_fields",
    "header_values",
    "split_header",
]

LF = 0x0A  # b"\n" as data[i] returns it


def split_header(data: bytes) -> int:
    """Size of the header including its blank line; all of `data` if there is none."""
    return header_end(data, 0, len(data))


def header_end(data: bytes, start: int, stop: int) -> int:
    """Offset just after the first empty line in data[start:stop] (LF or CRLF ended)."""
    if start >= stop:
        return stop
    if data[start] == LF:
        return start + 1
    if data.startswith(b"\r\n", start, stop):
        return start + 2
    lf_lf = data.find(b"\n\n", start, stop)
    # Only a CRLF blank line that comes before the first LF LF can win.
    crlf = data.find(b"\n\r\n", start, lf_lf + 2 if lf_lf >= 0 else stop)
    if crlf >= 0:
        return crlf + 3
    return lf_lf + 2 if lf_lf >= 0 else stop


_FIELD_NAME = re.compile(rb"[!-9;-~]+")  # RFC 5322 §3.6.8: printable ASCII except ":"


def field_spans(data: bytes, start: int, stop: int) -> Iterator[tuple[int, int, int]]:
    """Yield (start, colon, end) for each field of the header in data[start:stop].

    `end` is after the field's last continuation line (RFC 5322 §2.2.3 folding); `colon`
    is -1 for a line that is not a field (no name, or a continuation of nothing).
    Iteration stops at the blank line that ends the header.
    """
    field, colon, pos = -1, -1, start
    while pos < stop:
        newline = data.find(b"\n", pos, stop)
        line_end = stop if newline < 0 else newline + 1
        if data[pos] == LF or data.startswith(b"\r\n", pos, line_end):
            break
        if data[pos] in b" \t" and field >= 0:
            pos = line_end
            continue
        if field >= 0:
            yield field, colon, pos
        field, colon, pos = pos, _field_colon(data, pos, line_end), line_end
    if field >= 0:
        yield field, colon, pos


def _field_colon(data: bytes, start: int, line_end: int) -> int:
    colon = data.find(b":", start, line_end)
    if colon < 0:
        return -1
    name_end = colon
    while name_end > start and data[name_end - 1] in b" \t":  # obs-optional (RFC 5322 §4.5)
        name_end -= 1
    return colon if _FIELD_NAME.fullmatch(data, start, name_end) else -1


def field_name(data: bytes, start: int, colon: int) -> str:
    return data[start:colon].rstrip(b" \t").decode("ascii").lower()


_FOLD = re.compile(rb"\r?\n(?=[ \t])")


def _text(raw: bytes) -> str:
    """Header bytes as text: UTF-8 (RFC 6532) when valid, else Latin-1 (never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def field_value(data: bytes, colon: int, end: int) -> str:
    return _text(_FOLD.sub(b"", data[colon + 1 : end]).strip(b" \t\r\n"))


_WANTED = frozenset(
    {
        "content-type",
        "content-transfer-encoding",
        "content-id",
        "content-description",
        "content-md5",
        "content-disposition",
        "content-language",
        "content-location",
        "date",
        "subject",
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "in-reply-to",
        "message-id",
        "references",  # RFC 5256 §3 REFERENCES threading
    }
)


def header_values(data: bytes, start: int, stop: int) -> dict[str, str]:
    """The unfolded value of the first occurrence of each field this module reads."""
    values: dict[str, str] = {}
    for field, colon, end in field_spans(data, start, stop):
        if colon < 0:
            continue
        name = field_name(data, field, colon)
        if name in _WANTED and name not in values:
            values[name] = field_value(data, colon, end)
    return values


def header_fields(header: bytes, names: Collection[str], *, exclude: bool) -> bytes:
    """BODY[HEADER.FIELDS (...)] or, with exclude, BODY[HEADER.FIELDS.NOT (...)].

    RFC 9051 §6.4.5: the matching fields as they are (folding kept), in their original
    order, then the blank line. `names` are lower-case.
    """
    out: list[bytes] = []
    for field, colon, end in field_spans(header, 0, len(header)):
        if colon < 0 or (field_name(header, field, colon) in names) == exclude:
            continue
        out.append(header[field:end])
        if header[end - 1] != LF:
            out.append(b"\r\n")
    out.append(b"\r\n")
    return b"".join(out)
