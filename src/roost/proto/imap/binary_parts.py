"""Binary content made fit for ordinary literals (RFC 3516 §4.2, RFC 9051 §4.3).

A client may APPEND a message holding NUL octets in a literal8 (`~{n}`), but BODY[...]
answers with ordinary literals, which must not hold NUL, and RFC 3516 leaves literal8 to
BINARY[...] alone. So, as Dovecot does, every leaf part whose body holds a NUL is stored
base64-encoded, its Content-Transfer-Encoding field saying so: BODY[n] is then plain
text, and BINARY[n] (which decodes) still returns the octets the client sent.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

from roost.proto.mime_headers import field_name, field_spans
from roost.proto.mime_parts import Part, parse_message

__all__ = ["without_nul"]

_LINE = 76  # RFC 2045 §6.8: encoded lines of at most 76 characters


def without_nul(data: bytes) -> bytes:
    """data with each leaf part that holds a NUL base64-encoded; data itself if none."""
    if b"\0" not in data:
        return data
    _, root = parse_message(data)
    out = data
    # Last part first, so the offsets of the parts before it stay right.
    for part in sorted(_binary_leaves(data, root), key=lambda p: p.start, reverse=True):
        out = out[: part.start] + _encoded(data, part) + out[part.end :]
    return out


def _binary_leaves(data: bytes, part: Part) -> Iterator[Part]:
    if part.children:
        for child in part.children:
            yield from _binary_leaves(data, child)
    elif part.message is not None:
        yield from _binary_leaves(data, part.message)
    elif b"\0" in data[part.body_start : part.end]:
        yield part


def _encoded(data: bytes, part: Part) -> bytes:
    """The part (header and body) with its body in base64."""
    header = data[part.start : part.body_start]
    ending = b"\r\n" if header.endswith(b"\r\n") or not header.endswith(b"\n") else b"\n"
    kept = [
        header[start:end]
        for start, colon, end in field_spans(header, 0, len(header))
        if colon < 0 or field_name(header, start, colon) != "content-transfer-encoding"
    ]
    fields = b"".join(f if f.endswith(b"\n") else f + ending for f in kept)
    encoded = base64.b64encode(data[part.body_start : part.end])
    lines = [encoded[i : i + _LINE] for i in range(0, len(encoded), _LINE)]
    # The line ending before a boundary belongs to the boundary (RFC 2046 §5.1.1): the
    # body's last line has none of its own, as the octets it replaces had none.
    body = ending.join(lines)
    return fields + b"Content-Transfer-Encoding: base64" + ending + ending + body
