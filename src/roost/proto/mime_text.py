"""Text for PREVIEW and SEARCH: transfer and charset decoding, RFC 2047 encoded-words,
HTML without its markup.

Nothing here fails on bad input: unknown charsets fall back to UTF-8, bad octets become
U+FFFD, stray base64 characters are skipped and broken quoted-printable is kept as is.
"""

from __future__ import annotations

import binascii
import html
import re
from collections.abc import Iterator

from roost.proto.addresses import parse_addresses
from roost.proto.mime_headers import field_name, field_spans, field_value
from roost.proto.mime_parts import Part

__all__ = [
    "PREVIEW_LENGTH",
    "body_text",
    "decode_body",
    "decode_words",
    "decoded_headers",
    "displayed_text",
    "html_to_text",
    "preview",
]

PREVIEW_LENGTH = 256  # RFC 8970 §3.1: at most 256 characters
_PREVIEW_SOURCE = 64 * 1024  # raw octets read for a preview: plenty for 256 characters
_PREVIEW_FIRST = 4 * 1024  # raw octets tried first: enough for most (roost.proto.mime_text)
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
        return decode_quoted_printable(data)
    return None


_QP_LINE = re.compile(rb"([^\r\n]*)(\r?\n|\Z)")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def decode_quoted_printable(data: bytes) -> bytes:
    """RFC 2045 §6.7: white space at the end of a line was added in transport and goes
    (rule 3); a line that then ends in "=" continues on the next (rule 5: a soft line
    break, also when spaces followed the "="); "=XX" is an octet. Line ends stay as they
    were; an "=" that starts no valid escape is kept."""
    out: list[bytes] = []
    for match in _QP_LINE.finditer(data):
        line, ending = match.group(1).rstrip(b" \t"), match.group(2)
        if not line and not ending:
            break
        soft = line.endswith(b"=")
        if soft:
            line = line[:-1]
        out.append(_QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), line))
        if not soft:
            out.append(ending)
    return b"".join(out)


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


def decode_words(value: str) -> str:
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


_ADDRESS_FIELDS = frozenset({"from", "sender", "reply-to", "to", "cc", "bcc"})


def decoded_headers(header: bytes) -> str:
    """The header for SEARCH: one "name: value" line per field, names lower-case,
    folding removed and RFC 2047 encoded-words decoded. An address field also names each
    address as local@domain when it is not written so (comments or spaces inside
    `<user (c)@ (c) domain.org>`), so SEARCH FROM user@domain.org finds it."""
    lines = []
    for field, colon, end in field_spans(header, 0, len(header)):
        if colon >= 0:
            name = field_name(header, field, colon)
            value = decode_words(field_value(header, colon, end))
            if name in _ADDRESS_FIELDS:
                value = " ".join([value, *_unwritten_addresses(value)])
            lines.append(f"{name}: {value}\n")
    return "".join(lines)


# An address list written plainly: addr-specs alone or in <>, with display names of words
# and quoted strings, no comments, specials or escapes. Each address then appears as
# local@domain already, so parsing it (a fifth of the cost of analysing a small message)
# would find nothing to add.
# No two parts of the pattern match the same text, so it runs in linear time.
_SPEC = r'[^\s"(),;:<>@\[\]\\]+@[^\s"(),;:<>@\[\]\\]+'
_PLAIN_ADDRESS = rf'(?:\s*{_SPEC}|(?:[^"(),;:<>@\[\]\\]|"[^"\\]*")*<{_SPEC}>)\s*'
_PLAIN_ADDRESSES = re.compile(rf"{_PLAIN_ADDRESS}(?:,{_PLAIN_ADDRESS})*")
# What an address written plainly looks like in a field value: the forms SEARCH already
# finds as text.
_WRITTEN = re.compile(r"[^\s<>(),;:\"]+@[^\s<>(),;:\"]+")


def _unwritten_addresses(value: str) -> list[str]:
    if _PLAIN_ADDRESSES.fullmatch(value):
        return []
    # Issue 9: one pass over the value, then a set lookup per address; a substring search
    # per address made a header of 200,000 addresses cost hours.
    written = set(_WRITTEN.findall(value))
    found = (
        f"{a.mailbox}@{a.host}"
        for a in parse_addresses(value)
        if a.mailbox is not None and a.host is not None
    )
    return [address for address in dict.fromkeys(found) if address not in written]


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
    return _preview_of(data, chosen, _PREVIEW_FIRST)


def _preview_of(data: bytes, part: Part, first: int) -> str:
    """The preview of a text part, from its first `first` octets when they are enough.

    The words of the lines before the last of a prefix of the text are the first words of
    the whole text (the last line may be cut short: its end, an escape or a character cut
    in two), so when they already make PREVIEW_LENGTH characters they give the same
    preview; only a part whose start is too short or mostly quoted is read further, up to
    _PREVIEW_SOURCE octets. Joined and split in C: for a few kilobytes, cheaper than
    stopping at 256 characters in Python (measured: 22 against 91 µs a message)."""
    if part.end - part.body_start > first:
        lines = _part_text(data, part, first).splitlines()[:-1]
        words = _unquoted_words(lines)
        if len(words) >= PREVIEW_LENGTH:
            return words[:PREVIEW_LENGTH]
    return _unquoted_words(_part_text(data, part, _PREVIEW_SOURCE).splitlines())[:PREVIEW_LENGTH]


def _unquoted_words(lines: list[str]) -> str:
    return " ".join(" ".join(line for line in lines if not line.lstrip().startswith(">")).split())


def _is_attachment(part: Part) -> bool:
    return part.disposition is not None and part.disposition[0] == "attachment"


def html_to_text(source: str) -> str:
    """HTML without its markup: text, with line breaks where blocks end."""
    return _html_to_text(source)


def displayed_text(data: bytes, root: Part, subtype: str) -> str | None:
    """The decoded text of the first text/<subtype> part that is not an attachment (HTML
    with its markup), or None if there is none: the body a mail client displays
    (ActiveSync's Body of Type 1 or 2)."""
    for part in _leaves(root):
        if part.type == "text" and part.subtype == subtype and not _is_attachment(part):
            raw = data[part.body_start : part.end]
            decoded = decode_body(raw, part.encoding)
            return _decode_charset(raw if decoded is None else decoded, part.param("charset"))
    return None


def body_text(data: bytes, root: Part) -> str:
    """Decoded text of every text/* part (HTML without its markup), for SEARCH."""
    return "\n".join(_part_text(data, p) for p in _leaves(root) if p.type == "text")
