"""The stored part map, and the sections FETCH finds in it (RFC 9051 §6.4.5).

Delivery parses a message once (roost.proto.mime_parts) and stores the part tree, with
the envelopes of embedded messages, as compact JSON of positional arrays. FETCH brings
it back and turns a section specifier into one byte range of the stored message.
"""

from __future__ import annotations

import json
from typing import Any

from roost.proto.addresses import Address
from roost.proto.mime_fields import Params
from roost.proto.mime_parts import Envelope, Part

__all__ = ["deserialize_parts", "find_section", "section_range", "serialize_parts"]


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


def serialize_envelope(envelope: Envelope) -> bytes:
    """A message's envelope fields (RFC 5322 header values, addresses parsed) as compact
    JSON, protocol-neutral; see deserialize_envelope."""
    return json.dumps(
        _envelope_to_json(envelope), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8", "surrogatepass")


def deserialize_envelope(blob: bytes) -> Envelope:
    """Inverse of serialize_envelope."""
    return _envelope_from_json(json.loads(blob.decode("utf-8", "surrogatepass")))


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
