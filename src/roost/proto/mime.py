"""MIME analysis with byte offsets: parse a message once, locate its sections forever after.

Theory of operation
-------------------
The stdlib ``email`` package builds objects but forgets where they came from, and IMAP
FETCH needs exactly that: ``BODY[2.1.MIME]`` is a byte range of the stored message. So
this module scans the raw bytes itself and records, for every MIME part, three offsets
into the *whole* message: ``start`` (its header), ``body_start`` (after the blank line)
and ``end``. A part embedded in a message/rfc822 keeps absolute offsets too, so a
section is always one slice of the blob.

The scanner is forgiving, like a real server's (RFC 9051 §7.5.2 has to describe
*something* for every stored message): bare LF is a line ending, a header without a
blank line runs to the end of its part, a multipart without its closing delimiter ends
where its data ends, a multipart without a boundary is read as text/plain, and nesting
deeper than MAX_DEPTH (or more than MAX_PARTS parts) is left unsplit as an opaque
application/octet-stream part. Every search is a ``bytes.find`` bounded by the part,
so the work is linear in the message size times the (bounded) depth.

``parse_message`` runs once at delivery; ``serialize_parts`` stores its result and
``deserialize_parts`` brings it back for ``find_section`` / ``section_range``.
"""

from __future__ import annotations

import binascii
import html
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 50  # nesting of multiparts and embedded messages (recursion bomb guard)
MAX_PARTS = 10_000  # parts per message (memory bomb guard)

_LF = 0x0A
_DEFAULT_CHARSET = ("charset", "us-ascii")  # RFC 2045 §5.2

Params = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Address:
    """One IMAP ENVELOPE address (RFC 9051 §7.5.2).

    A group is a start marker (mailbox = group name, host None) followed by its members
    and an end marker (all four None), as RFC 3501 §7.4.2 draws it.
    """

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """The ENVELOPE fields as raw header text (encoded-words are left encoded).

    Sender and Reply-To already default to From (RFC 9051 §7.5.2).
    """

    date: str | None = None
    subject: str | None = None
    from_: tuple[Address, ...] = ()
    sender: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    in_reply_to: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """One MIME part: where it lies in the message and what BODYSTRUCTURE says of it."""

    start: int  # offset of this part's header in the whole message
    body_start: int  # offset just after the blank line ending the header
    end: int  # offset just after the body
    type: str = "text"  # lower-case
    subtype: str = "plain"  # lower-case
    params: Params = ()  # names lower-case, values as written
    id: str | None = None
    description: str | None = None
    encoding: str = "7BIT"  # upper-case
    md5: str | None = None
    disposition: tuple[str, Params] | None = None  # type lower-case
    language: tuple[str, ...] = ()
    location: str | None = None
    lines: int | None = None  # text/* and message/rfc822 only
    children: tuple[Part, ...] = ()  # multipart only
    message: Part | None = None  # message/rfc822 and message/global: the embedded root
    envelope: Envelope | None = None  # envelope of the embedded message

    @property
    def size(self) -> int:
        """Octets of the (still transfer-encoded) body: body-fld-octets."""
        return self.end - self.body_start

    @property
    def is_multipart(self) -> bool:
        return self.type == "multipart"

    def param(self, name: str) -> str | None:
        """The first Content-Type parameter called `name` (lower-case), if any."""
        return next((v for n, v in self.params if n == name), None)


# ---------------------------------------------------------------------------------------
# Headers


def split_header(data: bytes) -> int:
    """Size of the header including its blank line; all of `data` if there is none."""
    return _header_end(data, 0, len(data))


def _header_end(data: bytes, start: int, stop: int) -> int:
    """Offset just after the first empty line in data[start:stop] (LF or CRLF ended)."""
    if start >= stop:
        return stop
    if data[start] == _LF:
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


def _field_spans(data: bytes, start: int, stop: int) -> Iterator[tuple[int, int, int]]:
    """Yield (start, colon, end) for each field of the header in data[start:stop].

    `end` is after the field's last continuation line (RFC 5322 §2.2.3 folding); `colon`
    is -1 for a line that is not a field (no name, or a continuation of nothing).
    Iteration stops at the blank line that ends the header.
    """
    field, colon, pos = -1, -1, start
    while pos < stop:
        newline = data.find(b"\n", pos, stop)
        line_end = stop if newline < 0 else newline + 1
        if data[pos] == _LF or data.startswith(b"\r\n", pos, line_end):
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


def _field_name(data: bytes, start: int, colon: int) -> str:
    return data[start:colon].rstrip(b" \t").decode("ascii").lower()


_FOLD = re.compile(rb"\r?\n(?=[ \t])")


def _text(raw: bytes) -> str:
    """Header bytes as text: UTF-8 (RFC 6532) when valid, else Latin-1 (never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _field_value(data: bytes, colon: int, end: int) -> str:
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
    }
)


def _header_values(data: bytes, start: int, stop: int) -> dict[str, str]:
    """The unfolded value of the first occurrence of each field this module reads."""
    values: dict[str, str] = {}
    for field, colon, end in _field_spans(data, start, stop):
        if colon < 0:
            continue
        name = _field_name(data, field, colon)
        if name in _WANTED and name not in values:
            values[name] = _field_value(data, colon, end)
    return values


def header_fields(header: bytes, names: Collection[str], *, exclude: bool) -> bytes:
    """BODY[HEADER.FIELDS (...)] or, with exclude, BODY[HEADER.FIELDS.NOT (...)].

    RFC 9051 §6.4.5: the matching fields as they are (folding kept), in their original
    order, then the blank line. `names` are lower-case.
    """
    out: list[bytes] = []
    for field, colon, end in _field_spans(header, 0, len(header)):
        if colon < 0 or (_field_name(header, field, colon) in names) == exclude:
            continue
        out.append(header[field:end])
        if header[end - 1] != _LF:
            out.append(b"\r\n")
    out.append(b"\r\n")
    return b"".join(out)


def decoded_headers(header: bytes) -> str:
    """The header for SEARCH: one "name: value" line per field, names lower-case,
    folding removed and RFC 2047 encoded-words decoded."""
    lines = []
    for field, colon, end in _field_spans(header, 0, len(header)):
        if colon >= 0:
            value = _decode_words(_field_value(header, colon, end))
            lines.append(f"{_field_name(header, field, colon)}: {value}\n")
    return "".join(lines)


# ---------------------------------------------------------------------------------------
# Content-* field values (RFC 2045, RFC 2183, RFC 2231, RFC 3282)

_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")  # RFC 2045 §5.1 token
_CONTINUATION = re.compile(r"(.+?)\*([0-9]{1,4})(\*?)")  # RFC 2231 §3 name*0*, name*1


def _strip_comments(value: str) -> str:
    """Drop RFC 5322 §3.2.2 comments (nested, escapes honoured) outside quoted strings."""
    out: list[str] = []
    depth, quoted, escaped = 0, False, False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
        elif ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
        elif depth == 0 and ch == '"':
            quoted = not quoted
            out.append(ch)
        elif not quoted and ch == "(":
            depth += 1
        elif depth > 0 and ch == ")":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _split_semicolons(value: str) -> list[str]:
    pieces: list[str] = []
    piece_start, quoted, escaped = 0, False, False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = quoted
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            pieces.append(value[piece_start:i])
            piece_start = i + 1
    pieces.append(value[piece_start:])
    return pieces


def _unquote(value: str) -> str:
    """The content of a quoted-string (to its closing quote), or the value as is."""
    if not value.startswith('"'):
        return value
    out: list[str] = []
    escaped = False
    for ch in value[1:]:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            break
        else:
            out.append(ch)
    return "".join(out)


def _parse_params(pieces: list[str]) -> Params:
    raw: list[tuple[str, str]] = []
    for piece in pieces:
        name, eq, value = piece.partition("=")
        name = name.strip().lower()
        if eq and name:
            raw.append((name, _unquote(value.strip())))
    return _join_continuations(raw)


def _join_continuations(raw: list[tuple[str, str]]) -> Params:
    """RFC 2231 §3: name*0, name*1... become one parameter, at the first one's place.

    As in Dovecot, a value with extended (charset'language'%XX) segments keeps its
    encoding and the name keeps its trailing "*"; clients decode it.
    """
    segments: dict[str, list[tuple[int, bool, str]]] = {}
    order: list[tuple[str, str] | str] = []
    for name, value in raw:
        match = _CONTINUATION.fullmatch(name)
        if match is None:
            order.append((name, value))
            continue
        base = match.group(1)
        if base not in segments:
            segments[base] = []
            order.append(base)
        segments[base].append((int(match.group(2)), match.group(3) == "*", value))
    params: list[tuple[str, str]] = []
    for item in order:
        if isinstance(item, tuple):
            params.append(item)
            continue
        parts = sorted(segments[item], key=lambda s: s[0])
        extended = any(s[1] for s in parts)
        params.append((item + ("*" if extended else ""), "".join(s[2] for s in parts)))
    return tuple(params)


def _content_type(value: str | None, default: tuple[str, str]) -> tuple[str, str, Params]:
    """(type, subtype, params); RFC 2045 §5.2: absent or invalid means the default."""
    if value is None:
        kind, subkind = default
        return kind, subkind, ((_DEFAULT_CHARSET,) if kind == "text" else ())
    pieces = _split_semicolons(_strip_comments(value))
    kind, slash, subkind = pieces[0].partition("/")
    kind, subkind = kind.strip().lower(), subkind.strip().lower()
    if not (slash and _TOKEN.fullmatch(kind) and _TOKEN.fullmatch(subkind)):
        return "text", "plain", (_DEFAULT_CHARSET,)
    params = _parse_params(pieces[1:])
    if kind == "text" and not any(name == "charset" for name, _ in params):
        params += (_DEFAULT_CHARSET,)  # RFC 2045 §5.2, as Dovecot reports it
    return kind, subkind, params


def _encoding(value: str | None) -> str:
    words = _strip_comments(value or "").split()
    return words[0].upper() if words else "7BIT"  # RFC 2045 §6.1 default


def _disposition(value: str | None) -> tuple[str, Params] | None:
    if value is None:
        return None
    pieces = _split_semicolons(_strip_comments(value))
    kind = pieces[0].strip().lower()
    return (kind, _parse_params(pieces[1:])) if _TOKEN.fullmatch(kind) else None


def _language(value: str | None) -> tuple[str, ...]:
    words = _strip_comments(value or "").replace(",", " ").split()
    return tuple(words)


def _nonempty(value: str | None) -> str | None:
    return value or None


# ---------------------------------------------------------------------------------------
# Addresses (RFC 5322 §3.4, lenient like Dovecot's message-address.c)

_ATOM = re.compile(r'[^\s()<>@,;:\\".\[\]]+')
Token = tuple[str, str, bool]  # (kind, text, preceded by white space)


def _scan_quoted(value: str, i: int) -> tuple[str, int]:
    """Content of the quoted-string opening at value[i], and the index after it."""
    out: list[str] = []
    i += 1
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        i += 1
        if ch == '"':
            break
        out.append(ch)
    return "".join(out), i


def _scan_comment(value: str, i: int) -> tuple[str, int]:
    """Content of the (nested) comment opening at value[i], and the index after it."""
    out: list[str] = []
    depth = 0
    while i < len(value):
        ch = value[i]
        i += 1
        if ch == "\\" and i < len(value):
            out.append(value[i])
            i += 1
            continue
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                break
        out.append(ch)
    return "".join(out), i


def _address_tokens(value: str) -> list[Token]:
    tokens: list[Token] = []
    i, space = 0, False
    while i < len(value):
        ch = value[i]
        if ch.isspace():
            i, space = i + 1, True
            continue
        if ch == '"':
            text, i = _scan_quoted(value, i)
            tokens.append(("quoted", text, space))
        elif ch == "(":
            text, i = _scan_comment(value, i)
            tokens.append(("comment", text, space))
        elif ch == "[":
            close = value.find("]", i)
            close = len(value) - 1 if close < 0 else close
            tokens.append(("atom", value[i : close + 1], space))
            i = close + 1
        elif ch in "<>@,;:.":
            tokens.append((ch, ch, space))
            i += 1
        elif (match := _ATOM.match(value, i)) is not None:
            tokens.append(("atom", match.group(), space))
            i = match.end()
        else:  # a stray ")", "]" or "\\": not part of any address
            i += 1
        space = False
    return tokens


def _join(tokens: list[Token]) -> str:
    return "".join((" " if space and n else "") + text for n, (_, text, space) in enumerate(tokens))


def _addresses(value: str | None) -> tuple[Address, ...]:
    """Parse an address-list into ENVELOPE addresses, groups bracketed by markers."""
    out: list[Address] = []
    current: list[Token] = []
    in_group = in_angle = False
    for token in _address_tokens(value or ""):
        kind = token[0]
        if in_angle or kind in "<>":
            in_angle = (in_angle or kind == "<") and kind != ">"
            current.append(token)
        elif kind == ":" and not in_group:
            name = _join([t for t in current if t[0] != "comment"])
            out.append(Address(None, None, name, None))
            in_group, current = True, []
        elif kind in ",;":
            _flush_mailbox(current, out)
            current = []
            if kind == ";" and in_group:
                out.append(Address(None, None, None, None))
                in_group = False
        else:
            current.append(token)
    _flush_mailbox(current, out)
    if in_group:
        out.append(Address(None, None, None, None))
    return tuple(out)


def _flush_mailbox(tokens: list[Token], out: list[Address]) -> None:
    words = [t for t in tokens if t[0] != "comment"]
    if not words:
        return
    name: str | None = None
    adl: str | None = None
    spec = words
    if any(t[0] == "<" for t in words):
        angle = next(i for i, t in enumerate(words) if t[0] == "<")
        name = _join(words[:angle]) or None
        inner = words[angle + 1 :]
        close = next((i for i, t in enumerate(inner) if t[0] == ">"), len(inner))
        adl, spec = _route(inner[:close])
    comments = [t[1].strip() for t in tokens if t[0] == "comment" and t[1].strip()]
    if name is None and comments:
        name = comments[-1]  # "user@host (Real Name)": Dovecot names it by the comment
    out.append(Address(name, adl, *_addr_spec(spec)))


def _route(tokens: list[Token]) -> tuple[str | None, list[Token]]:
    """Split an obsolete source route "@a,@b:" (RFC 5322 §4.4) off an angle-addr."""
    if not tokens or tokens[0][0] != "@":
        return None, tokens
    colon = next((i for i, t in enumerate(tokens) if t[0] == ":"), None)
    if colon is None:
        return None, tokens
    return "".join(t[1] for t in tokens[:colon]), tokens[colon + 1 :]


def _addr_spec(tokens: list[Token]) -> tuple[str, str]:
    """(mailbox, host); Dovecot's MISSING_* placeholders keep them non-NIL, so that a
    broken address is never mistaken for a group marker."""
    at = max((i for i, t in enumerate(tokens) if t[0] == "@"), default=len(tokens))
    mailbox = _join(tokens[:at])
    host = "".join(t[1] for t in tokens[at + 1 :])
    return mailbox or "MISSING_MAILBOX", host or "MISSING_DOMAIN"


def _envelope(values: dict[str, str]) -> Envelope:
    from_ = _addresses(values.get("from"))
    return Envelope(
        date=_nonempty(values.get("date")),
        subject=_nonempty(values.get("subject")),
        from_=from_,
        # RFC 9051 §7.5.2: absent or empty Sender / Reply-To are the From.
        sender=_addresses(values.get("sender")) or from_,
        reply_to=_addresses(values.get("reply-to")) or from_,
        to=_addresses(values.get("to")),
        cc=_addresses(values.get("cc")),
        bcc=_addresses(values.get("bcc")),
        in_reply_to=_nonempty(values.get("in-reply-to")),
        message_id=_nonempty(values.get("message-id")),
    )


# ---------------------------------------------------------------------------------------
# The part tree


@dataclass(slots=True)
class _Budget:
    parts: int = MAX_PARTS


def parse_message(data: bytes) -> tuple[Envelope, Part]:
    """The envelope and the part tree of a message. Never raises."""
    root = _parse_part(data, 0, len(data), 0, _Budget(MAX_PARTS - 1), ("text", "plain"))
    return _envelope(_header_values(data, 0, root.body_start)), root


def _is_message(kind: str, subkind: str) -> bool:
    # RFC 9051 §7.5.2 body-type-msg; message/global is RFC 6532 §3.5's UTF-8 twin.
    return kind == "message" and subkind in ("rfc822", "global")


def _line_count(data: bytes, start: int, end: int) -> int:
    """Lines of data[start:end]; a last line without its line ending counts too."""
    if end <= start:
        return 0
    return data.count(b"\n", start, end) + (data[end - 1] != _LF)


def _parse_part(
    data: bytes, start: int, end: int, depth: int, budget: _Budget, default: tuple[str, str]
) -> Part:
    body_start = _header_end(data, start, end)
    values = _header_values(data, start, body_start)
    kind, subkind, params = _content_type(values.get("content-type"), default)
    boundary = next((v for n, v in params if n == "boundary"), "")
    if kind == "multipart" and not boundary:
        kind, subkind, params = "text", "plain", (_DEFAULT_CHARSET,)
    nested = kind == "multipart" or _is_message(kind, subkind)
    if nested and (depth >= MAX_DEPTH or budget.parts <= 0):
        kind, subkind, nested = "application", "octet-stream", False
    children: tuple[Part, ...] = ()
    message: Part | None = None
    envelope: Envelope | None = None
    if kind == "multipart":
        child_default = ("message", "rfc822") if subkind == "digest" else ("text", "plain")
        children = _parse_children(data, body_start, end, boundary, depth, budget, child_default)
    elif nested:
        budget.parts -= 1
        message = _parse_part(data, body_start, end, depth + 1, budget, ("text", "plain"))
        envelope = _envelope(_header_values(data, message.start, message.body_start))
    counted = kind == "text" or message is not None  # RFC 9051 §7.5.2 body-fld-lines
    return Part(
        start=start,
        body_start=body_start,
        end=end,
        type=kind,
        subtype=subkind,
        params=params,
        id=_nonempty(values.get("content-id")),
        description=_nonempty(values.get("content-description")),
        encoding=_encoding(values.get("content-transfer-encoding")),
        md5=_nonempty(values.get("content-md5")),
        disposition=_disposition(values.get("content-disposition")),
        language=_language(values.get("content-language")),
        location=_nonempty(values.get("content-location")),
        lines=_line_count(data, body_start, end) if counted else None,
        children=children,
        message=message,
        envelope=envelope,
    )


def _parse_children(
    data: bytes,
    body_start: int,
    end: int,
    boundary: str,
    depth: int,
    budget: _Budget,
    default: tuple[str, str],
) -> tuple[Part, ...]:
    ranges = _split_multipart(data, body_start, end, boundary.encode("utf-8", "replace"), budget)
    children = tuple(_parse_part(data, s, e, depth + 1, budget, default) for s, e in ranges)
    if children:
        return children
    # RFC 9051 §7.5.2 body-type-mpart needs one part at least; Dovecot reports an
    # empty text/plain when a multipart has none.
    return (Part(start=end, body_start=end, end=end, params=(_DEFAULT_CHARSET,), lines=0),)


def _split_multipart(
    data: bytes, body_start: int, end: int, boundary: bytes, budget: _Budget
) -> list[tuple[int, int]]:
    """The (start, end) of each body part between the delimiter lines (RFC 2046 §5.1.1).

    The line ending before a delimiter belongs to the delimiter. Without a close
    delimiter, the last part runs to `end`. Each part found is charged to the budget;
    once it is spent, the rest of the body is left unsplit, like an epilogue.
    """
    delimiter = b"--" + boundary
    ranges: list[tuple[int, int]] = []
    child = -1  # start of the part being read; -1 in the preamble and epilogue
    pos = body_start
    while (found := data.find(delimiter, pos, end)) >= 0:
        pos = found + 1
        if found > body_start and data[found - 1] != _LF:
            continue  # not at the start of a line
        line_end, closing = _delimiter_line(data, found + len(delimiter), end)
        if line_end < 0:
            continue  # "--boundaryX": a longer boundary, or text that merely starts alike
        if child >= 0:
            ranges.append((child, max(child, found - _eol_before(data, found))))
            budget.parts -= 1
        if closing or budget.parts <= 0:
            return ranges
        child = pos = line_end
    if child >= 0:
        ranges.append((child, end))
        budget.parts -= 1
    return ranges


def _delimiter_line(data: bytes, after: int, end: int) -> tuple[int, bool]:
    """(end of the delimiter line or -1 if it is not one, whether it closes)."""
    closing = data.startswith(b"--", after, end)
    newline = data.find(b"\n", after, end)
    line_end = end if newline < 0 else newline + 1
    padding = data[after + 2 * closing : line_end]
    # RFC 2046 §5.1.1: only transport padding (LWSP) may follow the boundary.
    return (line_end if not padding.strip(b" \t\r\n") else -1), closing


def _eol_before(data: bytes, offset: int) -> int:
    if offset >= 2 and data[offset - 2 : offset] == b"\r\n":
        return 2
    return 1 if offset >= 1 and data[offset - 1] == _LF else 0


# ---------------------------------------------------------------------------------------
# Sections (RFC 9051 §6.4.5)


def _numbered(part: Part) -> tuple[Part, ...]:
    """The parts numbered 1, 2, ... inside a message whose root is `part`."""
    return part.children if part.is_multipart else (part,)


def find_section(root: Part, path: tuple[int, ...]) -> Part | None:
    """The part a section number names, or None if there is no such part.

    RFC 9051 §6.4.5: in a non-multipart message part 1 is the body; in a multipart, part
    n is its n-th child; numbering inside a message/rfc822 part continues into the
    embedded message (2.1 is its first part, or its body if it is not multipart).
    """
    choices = _numbered(root)
    part: Part | None = None
    for number in path:
        if not 1 <= number <= len(choices):
            return None
        part = choices[number - 1]
        if part.is_multipart:
            choices = part.children
        elif part.message is not None:
            choices = _numbered(part.message)
        else:
            choices = ()
    return part


def section_range(root: Part, path: tuple[int, ...], specifier: str) -> tuple[int, int] | None:
    """The byte range of a section in the whole message, or None if it does not exist.

    `specifier` is "", "HEADER", "HEADER.FIELDS" (the caller filters the header with
    header_fields), "TEXT" or "MIME". An empty path means the message itself.
    """
    specifier = specifier.upper()
    if not path:
        message: Part | None = root
        if specifier == "":
            return root.start, root.end
    else:
        part = find_section(root, path)
        if part is None:
            return None
        if specifier == "":
            return part.body_start, part.end
        if specifier == "MIME":
            return part.start, part.body_start
        message = part.message
    if message is None:
        return None
    if specifier in ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        return message.start, message.body_start
    if specifier == "TEXT":
        return message.body_start, message.end
    return None


# ---------------------------------------------------------------------------------------
# Storage form: compact JSON of positional arrays


def serialize_parts(root: Part) -> bytes:
    """The part tree (with embedded envelopes) as compact JSON; see deserialize_parts."""
    return json.dumps(_part_to_json(root), ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )


def deserialize_parts(blob: bytes) -> Part:
    """Inverse of serialize_parts: deserialize_parts(serialize_parts(p)) == p."""
    return _part_from_json(json.loads(blob.decode("utf-8", "surrogatepass")))


def _part_to_json(p: Part) -> list[Any]:
    return [
        p.start,
        p.body_start,
        p.end,
        p.type,
        p.subtype,
        p.params,
        p.id,
        p.description,
        p.encoding,
        p.md5,
        p.disposition,
        p.language,
        p.location,
        p.lines,
        [_part_to_json(c) for c in p.children],
        None if p.message is None else _part_to_json(p.message),
        None if p.envelope is None else _envelope_to_json(p.envelope),
    ]


def _part_from_json(j: list[Any]) -> Part:
    disposition = None if j[10] is None else (j[10][0], _params(j[10][1]))
    return Part(
        start=j[0],
        body_start=j[1],
        end=j[2],
        type=j[3],
        subtype=j[4],
        params=_params(j[5]),
        id=j[6],
        description=j[7],
        encoding=j[8],
        md5=j[9],
        disposition=disposition,
        language=tuple(j[11]),
        location=j[12],
        lines=j[13],
        children=tuple(_part_from_json(c) for c in j[14]),
        message=None if j[15] is None else _part_from_json(j[15]),
        envelope=None if j[16] is None else _envelope_from_json(j[16]),
    )


def _params(j: list[list[str]]) -> Params:
    return tuple((name, value) for name, value in j)


def _envelope_to_json(e: Envelope) -> list[Any]:
    lists = (e.from_, e.sender, e.reply_to, e.to, e.cc, e.bcc)
    addresses = [[[a.name, a.adl, a.mailbox, a.host] for a in al] for al in lists]
    return [e.date, e.subject, *addresses, e.in_reply_to, e.message_id]


def _envelope_from_json(j: list[Any]) -> Envelope:
    lists = [tuple(Address(*a) for a in al) for al in j[2:8]]
    return Envelope(
        date=j[0],
        subject=j[1],
        from_=lists[0],
        sender=lists[1],
        reply_to=lists[2],
        to=lists[3],
        cc=lists[4],
        bcc=lists[5],
        in_reply_to=j[8],
        message_id=j[9],
    )


# ---------------------------------------------------------------------------------------
# Text for PREVIEW and SEARCH

PREVIEW_LENGTH = 256  # RFC 8970 §3.1: at most 256 characters
_PREVIEW_SOURCE = 64 * 1024  # raw octets read for a preview: plenty for 256 characters
_IDENTITY = frozenset({"7bit", "8bit", "binary", ""})
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def decode_body(data: bytes, encoding: str) -> bytes | None:
    """Undo a Content-Transfer-Encoding; None if it is unknown (RFC 3516 [UNKNOWN-CTE]).

    Lenient: stray characters in base64 are skipped and broken quoted-printable
    escapes are kept as they are.
    """
    name = encoding.strip().lower()
    if name in _IDENTITY:
        return data
    if name == "base64":
        return _decode_base64(data)
    if name == "quoted-printable":
        return binascii.a2b_qp(data)
    return None


def _decode_base64(data: bytes) -> bytes:
    clean = _NOT_BASE64.sub(b"", data)
    clean = clean[: len(clean) - (len(clean) % 4 == 1)]  # one dangling sextet says nothing
    return binascii.a2b_base64(clean + b"=" * (-len(clean) % 4))


def _decode_charset(raw: bytes, charset: str | None) -> str:
    """Text in the declared charset; unknown charsets and bad octets never fail."""
    name = (charset or "").strip().strip('"').lower()
    if name in ("", "us-ascii", "ascii"):
        name = "utf-8"  # undeclared 8-bit text is UTF-8 far more often than not
    try:
        return raw.decode(name, "replace")
    except (LookupError, ValueError):  # unknown, or not a text codec (e.g. "base64")
        return raw.decode("utf-8", "replace")


# RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _decode_words(value: str) -> str:
    """Decode the RFC 2047 encoded-words in a header value; anything else stays."""
    out: list[str] = []
    run: list[tuple[str, bytes]] = []  # adjacent words, joined before charset decoding
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        # RFC 2047 §6.2: white space between adjacent encoded-words is not displayed.
        if between and not (run and between.isspace()):
            out.extend(_decode_charset(raw, cs) for cs, raw in run)
            out.append(between)
            run = []
        charset = match.group(1).partition("*")[0]  # RFC 2231 §5 language suffix
        text = match.group(3).encode("utf-8")
        raw = _decode_base64(text) if match.group(2) in "bB" else binascii.a2b_qp(text, True)
        if run and run[-1][0] == charset:
            run[-1] = (charset, run[-1][1] + raw)
        else:
            run.append((charset, raw))
        pos = match.end()
    out.extend(_decode_charset(raw, cs) for cs, raw in run)
    out.append(value[pos:])
    return "".join(out)


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
_HIDDEN = {tag: re.compile(rf"</{tag}\s*>", re.IGNORECASE) for tag in ("script", "style", "title")}
_BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6"})


def _html_to_text(source: str) -> str:
    """Text of an HTML document: tags, comments, scripts and styles removed.

    A single forward scan (every find starts where the last one ended), so hostile
    markup cannot make it quadratic.
    """
    out: list[str] = []
    pos = 0
    while (lt := source.find("<", pos)) >= 0:
        out.append(source[pos:lt])
        if source.startswith("<!--", lt):
            close = source.find("-->", lt + 4)
            pos = len(source) if close < 0 else close + 3
            continue
        tag = _TAG.match(source, lt)
        gt = source.find(">", lt)
        if gt < 0:
            pos = len(source)  # an unterminated tag hides the rest
            break
        if tag is None and source[lt + 1 : lt + 2] not in ("!", "?"):
            out.append("<")  # "a < b" is text
            pos = lt + 1
            continue
        pos = gt + 1
        name = tag.group(2).lower() if tag else ""
        if tag and not tag.group(1) and name in _HIDDEN:
            close_tag = _HIDDEN[name].search(source, pos)
            pos = len(source) if close_tag is None else close_tag.end()
        elif name in _BREAKS:
            out.append("\n")
    out.append(source[pos:])
    return html.unescape("".join(out))


def _leaves(part: Part) -> Iterator[Part]:
    """Non-multipart parts in document order, embedded messages included."""
    if part.is_multipart:
        for child in part.children:
            yield from _leaves(child)
    elif part.message is not None:
        yield from _leaves(part.message)
    else:
        yield part


def _part_text(data: bytes, part: Part, limit: int | None = None) -> str:
    end = part.end if limit is None else min(part.end, part.body_start + limit)
    raw = data[part.body_start : end]
    decoded = decode_body(raw, part.encoding)
    text = _decode_charset(raw if decoded is None else decoded, part.param("charset"))
    return _html_to_text(text) if part.subtype == "html" else text


def preview(data: bytes, root: Part) -> str:
    """RFC 8970 preview: the start of the first text/plain part (else text/html), as
    plain text with quoted lines dropped and white space collapsed."""
    texts = [p for p in _leaves(root) if p.type == "text" and not _is_attachment(p)]
    chosen = next((p for p in texts if p.subtype == "plain"), None)
    chosen = chosen or next((p for p in texts if p.subtype == "html"), None)
    if chosen is None:
        return ""
    text = _part_text(data, chosen, _PREVIEW_SOURCE)
    lines = (line for line in text.splitlines() if not line.lstrip().startswith(">"))
    return " ".join(" ".join(lines).split())[:PREVIEW_LENGTH]


def _is_attachment(part: Part) -> bool:
    return part.disposition is not None and part.disposition[0] == "attachment"


def body_text(data: bytes, root: Part) -> str:
    """Decoded text of every text/* part (HTML without its markup), for SEARCH."""
    return "\n".join(_part_text(data, p) for p in _leaves(root) if p.type == "text")
