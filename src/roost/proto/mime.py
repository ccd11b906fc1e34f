"""MIME analysis with byte offsets: parse a message once, locate its sections forever after.

This module is the public face of MIME analysis; callers import from here. The work is
done in one module per concept:

    mime_parts.py     the part tree with byte offsets (theory of operation there),
                      Part, Envelope, parse_message
    mime_headers.py   header field scanning over raw bytes, HEADER.FIELDS
    mime_fields.py    Content-* field values, parameters, RFC 2231 continuations
    addresses.py      the ENVELOPE address-list parser
    mime_sections.py  the stored (protocol-neutral) form of the part tree and envelope,
                      sections (RFC 9051 §6.4.5)
    mime_text.py      decoded text for PREVIEW and SEARCH
"""

from __future__ import annotations

from roost.proto.addresses import Address, Token
from roost.proto.mime_fields import Params
from roost.proto.mime_headers import header_fields, split_header
from roost.proto.mime_parts import MAX_DEPTH, MAX_PARTS, Envelope, Part, parse_message
from roost.proto.mime_sections import (
    deserialize_envelope,
    deserialize_parts,
    find_section,
    section_range,
    serialize_envelope,
    serialize_parts,
)
from roost.proto.mime_text import (
    PREVIEW_LENGTH,
    body_text,
    decode_body,
    decode_words,
    decoded_headers,
    displayed_text,
    preview,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_PARTS",
    "PREVIEW_LENGTH",
    "Address",
    "Envelope",
    "Params",
    "Part",
    "Token",
    "body_text",
    "decode_body",
    "decode_words",
    "decoded_headers",
    "deserialize_envelope",
    "deserialize_parts",
    "displayed_text",
    "find_section",
    "header_fields",
    "parse_message",
    "preview",
    "section_range",
    "serialize_envelope",
    "serialize_parts",
    "split_header",
]
