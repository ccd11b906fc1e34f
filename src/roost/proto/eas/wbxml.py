"""WBXML as Exchange ActiveSync uses it ([MS-ASWBXML] §2.1.2, over WBXML 1.3).

Theory of operation
-------------------
An ActiveSync request or response body is one XML document in WAP Binary XML. The
document is small and arrives whole (an HTTP body with a Content-Length), so the codec
works on whole documents: `decode(bytes) -> Element` and `encode(Element) -> bytes`.

    document  = version publicid charset strtbl body
    version   = 0x03 (1.3; 0x01 and 0x02 are read too)
    publicid  = mb_u_int32 (0x01: unknown, what ActiveSync sends)
    charset   = mb_u_int32 (0x6A: UTF-8, the only one ActiveSync uses)
    strtbl    = mb_u_int32 length, then that many bytes; ActiveSync uses no string table,
                so its length must be 0
    body      = *switch element          (exactly one root element)
    element   = *switch tag [content END]     tag: bit 0x40 = has content; bit 0x80
                                              (attributes) is never used by ActiveSync
    content   = *(element | STR_I termstr | OPAQUE mb_u_int32 bytes | switch)
    switch    = SWITCH_PAGE u_int8

A code page is one XML namespace (roost.proto.eas.codepages); SWITCH_PAGE changes the page
for the tags that follow, in either direction. An element holds either child elements or a
value (text from STR_I, or bytes from OPAQUE: body data, MIME, attachments), never both.

Everything else WBXML allows (string tables, entities, literals, processing instructions,
attributes, extension tokens) is refused with `WbxmlError`, as are unknown code pages and
tokens, truncation, trailing bytes, text that is not UTF-8, nesting deeper than
`MAX_DEPTH`, more than `MAX_ELEMENTS` elements and an OPAQUE length beyond the end of the
document: the decoder's memory stays proportional to its input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from roost.proto.eas.codepages import PAGES, PAGES_BY_NAME
from roost.proto.errors import ProtocolError

__all__ = ["MAX_DEPTH", "MAX_ELEMENTS", "Element", "WbxmlError", "decode", "encode"]

SWITCH_PAGE = 0x00
END = 0x01
STR_I = 0x03
OPAQUE = 0xC3
HAS_CONTENT = 0x40
HAS_ATTRIBUTES = 0x80
UTF8 = 0x6A
HEADER = bytes([0x03, 0x01, UTF8, 0x00])  # WBXML 1.3, unknown public id, UTF-8, no strtbl
MAX_DEPTH = 64
MAX_ELEMENTS = 100_000  # a one-byte element costs a hundred in memory: bound the tree


class WbxmlError(ProtocolError):
    """The bytes are not an ActiveSync WBXML document; the text says where and why."""


@dataclass(frozen=True, slots=True)
class Element:
    """One element: its namespace (a code page's name), its tag, and either children or a
    value (str from an inline string, bytes from opaque data, None when empty)."""

    namespace: str
    tag: str
    children: tuple[Element, ...] = ()
    value: str | bytes | None = None

    def __post_init__(self) -> None:
        if self.children and self.value is not None:
            raise ValueError("an element holds children or a value, not both")

    # --- reading helpers, for the command parsers
    def find(self, namespace: str, tag: str) -> Element | None:
        """The first child with this name."""
        return next(self.iter(namespace, tag), None)

    def iter(self, namespace: str, tag: str) -> Iterator[Element]:
        """The children with this name, in order."""
        return (c for c in self.children if c.tag == tag and c.namespace == namespace)

    def text(self) -> str:
        """The value as text ("" when empty; opaque bytes decoded as UTF-8)."""
        if isinstance(self.value, bytes):
            try:
                return self.value.decode("utf-8")
            except UnicodeDecodeError:
                raise WbxmlError(f"{self.tag}: opaque data is not UTF-8 text") from None
        return self.value or ""

    def child_text(self, namespace: str, tag: str) -> str | None:
        """The text of the first child with this name, or None if there is none."""
        child = self.find(namespace, tag)
        return None if child is None else child.text()


def encode(root: Element) -> bytes:
    """The WBXML document of root. ValueError for a namespace or tag no code page has, or
    text with a NUL (an inline string cannot hold one; send such data as bytes)."""
    out = bytearray(HEADER)
    page = [0]
    _encode(root, out, page)
    return bytes(out)


def _encode(element: Element, out: bytearray, page: list[int]) -> None:
    code_page = PAGES_BY_NAME.get(element.namespace)
    if code_page is None:
        raise ValueError(f"no code page for namespace {element.namespace!r}")
    token = code_page.tokens.get(element.tag)
    if token is None:
        raise ValueError(f"no tag {element.tag!r} in code page {element.namespace}")
    if page[0] != code_page.number:
        out += bytes([SWITCH_PAGE, code_page.number])
        page[0] = code_page.number
    has_content = bool(element.children) or element.value is not None
    out.append(token | (HAS_CONTENT if has_content else 0))
    if isinstance(element.value, str):
        # A lone surrogate (a header's undecodable byte, kept by the store) becomes "?":
        # one odd character is better than no answer.
        data = element.value.encode("utf-8", "replace")
        if b"\x00" in data:
            raise ValueError(f"{element.tag}: an inline string cannot hold NUL")
        out.append(STR_I)
        out += data
        out.append(0)
    elif isinstance(element.value, bytes):
        out.append(OPAQUE)
        out += _mb_uint(len(element.value))
        out += element.value
    for child in element.children:
        _encode(child, out, page)
    if has_content:
        out.append(END)


def _mb_uint(n: int) -> bytes:
    """WBXML 1.3 §5.1 mb_u_int32: 7 bits a byte, most significant first, 0x80 = more."""
    groups = [n & 0x7F]
    n >>= 7
    while n:
        groups.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(groups))


def decode(data: bytes) -> Element:
    """The root element of a whole WBXML document; WbxmlError if it is not one."""
    reader = _Reader(data)
    reader.header()
    reader.switches()
    root = reader.element(depth=1)
    if reader.pos != len(data):
        raise WbxmlError(f"trailing data after the root element at offset {reader.pos}")
    return root


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.page = 0
        self.elements = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise WbxmlError("document ends early")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def mb_uint(self) -> int:
        value = 0
        for _ in range(5):  # a u_int32 takes at most 5 groups of 7 bits
            byte = self.byte()
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                if value > 0xFFFF_FFFF:
                    break
                return value
        raise WbxmlError(f"integer too large at offset {self.pos}")

    def header(self) -> None:
        version = self.byte()
        if version not in (0x01, 0x02, 0x03):
            raise WbxmlError(f"unsupported WBXML version 0x{version:02X}")
        public_id = self.mb_uint()
        if public_id == 0:  # a string-table reference follows; ActiveSync has none
            raise WbxmlError("public identifier from a string table is not supported")
        charset = self.mb_uint()
        if charset != UTF8:
            raise WbxmlError(f"character set {charset} is not UTF-8 (106)")
        if self.mb_uint() != 0:
            raise WbxmlError("ActiveSync uses no string table")

    def switches(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] == SWITCH_PAGE:
            self.pos += 1
            page = self.byte()
            if page not in PAGES:
                raise WbxmlError(f"unknown code page {page}")
            self.page = page

    def element(self, depth: int) -> Element:
        if depth > MAX_DEPTH:
            raise WbxmlError(f"elements nested deeper than {MAX_DEPTH}")
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise WbxmlError(f"more than {MAX_ELEMENTS} elements")
        offset = self.pos
        byte = self.byte()
        if byte & HAS_ATTRIBUTES:
            raise WbxmlError(f"attributes or a global token 0x{byte:02X} at offset {offset}")
        code_page = PAGES[self.page]
        tag = code_page.tags.get(byte & 0x3F)
        if tag is None:
            raise WbxmlError(
                f"unknown token 0x{byte & 0x3F:02X} in code page {code_page.namespace}"
                f" at offset {offset}"
            )
        if not byte & HAS_CONTENT:
            return Element(code_page.namespace, tag)
        children, value = self.content(depth)
        if children and value is not None:
            raise WbxmlError(f"{tag} mixes elements and text at offset {offset}")
        return Element(code_page.namespace, tag, tuple(children), value)

    def content(self, depth: int) -> tuple[list[Element], str | bytes | None]:
        children: list[Element] = []
        value: str | bytes | None = None
        while True:
            self.switches()
            token = self.byte()
            if token == END:
                return children, value
            if token == STR_I:
                value = _join(value, self.string())
            elif token == OPAQUE:
                value = _join(value, self.opaque())
            elif token & 0x3F < 0x05:  # ENTITY, LITERAL, EXT_*, PI, STR_T: never in ActiveSync
                raise WbxmlError(f"unsupported WBXML token 0x{token:02X} at {self.pos - 1}")
            else:
                self.pos -= 1
                children.append(self.element(depth + 1))

    def string(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise WbxmlError("inline string has no terminating NUL")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise WbxmlError(f"inline string is not UTF-8 at offset {self.pos}") from None

    def opaque(self) -> bytes:
        length = self.mb_uint()
        if length > len(self.data) - self.pos:
            raise WbxmlError(f"opaque data of {length} bytes runs past the end")
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw


def _join(value: str | bytes | None, more: str | bytes) -> str | bytes:
    """Content given in several pieces is one value; text and bytes together are bytes."""
    if value is None:
        return more
    if isinstance(value, str) and isinstance(more, str):
        return value + more
    as_bytes = [v.encode("utf-8") if isinstance(v, str) else v for v in (value, more)]
    return as_bytes[0] + as_bytes[1]
