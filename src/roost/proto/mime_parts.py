"""The MIME part tree with byte offsets: what delivery computes once per message.

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

``parse_message`` runs once at delivery; roost.proto.mime_sections stores its result and
locates sections in it at FETCH time.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.proto.addresses import Address, parse_addresses
from roost.proto.mime_fields import (
    DEFAULT_CHARSET,
    Params,
    content_type,
    disposition,
    encoding,
    language,
    nonempty,
)
from roost.proto.mime_headers import LF, header_end, header_values

__all__ = ["MAX_DEPTH", "MAX_PARTS", "Envelope", "Part", "parse_message"]

MAX_DEPTH = 50  # nesting of multiparts and embedded messages (recursion bomb guard)
MAX_PARTS = 10_000  # parts per message (memory bomb guard)


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
    references: str | None = None  # not part of ENVELOPE: for threading (RFC 5256)


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
# Envelopes (RFC 9051 §7.5.2)


def _envelope_of(data: bytes, root: Part) -> Envelope:
    """The envelope of the message whose root part is `root`."""
    return _envelope(header_values(data, root.start, root.body_start))


def _envelope(values: dict[str, str]) -> Envelope:
    from_ = parse_addresses(values.get("from"))
    return Envelope(
        date=nonempty(values.get("date")),
        subject=nonempty(values.get("subject")),
        from_=from_,
        # RFC 9051 §7.5.2: absent or empty Sender / Reply-To are the From.
        sender=parse_addresses(values.get("sender")) or from_,
        reply_to=parse_addresses(values.get("reply-to")) or from_,
        to=parse_addresses(values.get("to")),
        cc=parse_addresses(values.get("cc")),
        bcc=parse_addresses(values.get("bcc")),
        in_reply_to=nonempty(values.get("in-reply-to")),
        message_id=nonempty(values.get("message-id")),
        references=nonempty(values.get("references")),
    )


# ---------------------------------------------------------------------------------------
# The part tree


@dataclass(slots=True)
class _Budget:
    parts: int = MAX_PARTS


def parse_message(data: bytes) -> tuple[Envelope, Part]:
    """The envelope and the part tree of a message. Never raises."""
    root = _parse_part(data, 0, len(data), 0, _Budget(MAX_PARTS - 1), ("text", "plain"))
    return _envelope_of(data, root), root


def _is_message(kind: str, subkind: str) -> bool:
    # RFC 9051 §7.5.2 body-type-msg; message/global is RFC 6532 §3.5's UTF-8 twin.
    return kind == "message" and subkind in ("rfc822", "global")


def _line_count(data: bytes, start: int, end: int) -> int:
    """Lines of data[start:end]; a last line without its line ending counts too."""
    if end <= start:
        return 0
    return data.count(b"\n", start, end) + (data[end - 1] != LF)


def _parse_part(
    data: bytes, start: int, end: int, depth: int, budget: _Budget, default: tuple[str, str]
) -> Part:
    body_start = header_end(data, start, end)
    values = header_values(data, start, body_start)
    kind, subkind, params, boundary = _part_type(values, default, depth, budget)
    children: tuple[Part, ...] = ()
    message: Part | None = None
    if kind == "multipart":
        child_default = ("message", "rfc822") if subkind == "digest" else ("text", "plain")
        children = _parse_children(data, body_start, end, boundary, depth, budget, child_default)
    elif _is_message(kind, subkind):
        budget.parts -= 1
        message = _parse_part(data, body_start, end, depth + 1, budget, ("text", "plain"))
    counted = kind == "text" or message is not None  # RFC 9051 §7.5.2 body-fld-lines
    return Part(
        start=start,
        body_start=body_start,
        end=end,
        type=kind,
        subtype=subkind,
        params=params,
        id=nonempty(values.get("content-id")),
        description=nonempty(values.get("content-description")),
        encoding=encoding(values.get("content-transfer-encoding")),
        md5=nonempty(values.get("content-md5")),
        disposition=disposition(values.get("content-disposition")),
        language=language(values.get("content-language")),
        location=nonempty(values.get("content-location")),
        lines=_line_count(data, body_start, end) if counted else None,
        children=children,
        message=message,
        envelope=None if message is None else _envelope_of(data, message),
    )


def _part_type(
    values: dict[str, str], default: tuple[str, str], depth: int, budget: _Budget
) -> tuple[str, str, Params, str]:
    """(type, subtype, params, boundary) of a part; a multipart without a boundary is read
    as text/plain, and nesting beyond the limits as an opaque application/octet-stream."""
    kind, subkind, params = content_type(values.get("content-type"), default)
    boundary = next((v for n, v in params if n == "boundary"), "")
    if kind == "multipart" and not boundary:
        return "text", "plain", (DEFAULT_CHARSET,), boundary
    nested = kind == "multipart" or _is_message(kind, subkind)
    if nested and (depth >= MAX_DEPTH or budget.parts <= 0):
        return "application", "octet-stream", params, boundary
    return kind, subkind, params, boundary


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
    return (Part(start=end, body_start=end, end=end, params=(DEFAULT_CHARSET,), lines=0),)


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
        if found > body_start and data[found - 1] != LF:
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
    return 1 if offset >= 1 and data[offset - 1] == LF else 0
