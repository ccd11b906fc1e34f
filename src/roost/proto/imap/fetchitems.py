"""FETCH data items (RFC 9051 §6.4.5).

fetch         = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
                fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
fetch-att     = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" /
                ".TEXT"] / "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] /
                "BODY.PEEK" section [partial] / "BINARY" [".PEEK"] section-binary [partial] /
                "BINARY.SIZE" section-binary
section       = "[" [section-spec] "]"
section-spec  = section-msgtext / (section-part ["." section-text])
section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
section-text  = section-msgtext / "MIME"
partial       = "<" number64 "." nz-number64 ">"
"""

from __future__ import annotations

import re

from roost.proto.imap import commands as c
from roost.proto.imap.cursor import MAX_NUMBER64, Cursor, partial_range

_NAME = re.compile(rb"[A-Za-z0-9.]+")
_PART = re.compile(rb"[1-9]\d{0,8}(?:\.[1-9]\d{0,8})*")
_A = c.FetchAttr
_MACROS = {
    "ALL": (_A.FLAGS, _A.INTERNALDATE, _A.RFC822_SIZE, _A.ENVELOPE),
    "FAST": (_A.FLAGS, _A.INTERNALDATE, _A.RFC822_SIZE),
    "FULL": (_A.FLAGS, _A.INTERNALDATE, _A.RFC822_SIZE, _A.ENVELOPE, _A.BODY),
}
SIMPLE = {attr.value: attr for attr in c.FetchAttr}
_SECTIONED = {
    "BODY": (False, False, False),  # peek, binary, size_only
    "BODY.PEEK": (True, False, False),
    "BINARY": (False, True, False),
    "BINARY.PEEK": (True, True, False),
    "BINARY.SIZE": (True, True, True),
}
_MSGTEXT = ("HEADER.FIELDS.NOT", "HEADER.FIELDS", "HEADER", "TEXT", "MIME")


def parse_fetch(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    seqset = cur.seqset()
    cur.sp()
    items: list[c.FetchItem] = []
    if cur.peek() == b"(":
        cur.parenthesised(lambda: items.append(fetch_att(cur)))
        if not items:
            raise cur.fail("FETCH needs at least one data item")
    else:
        start = cur.pos
        name = cur.match(_NAME, "fetch data item").decode().upper()
        if name in _MACROS:
            items.extend(_MACROS[name])
        else:
            cur.pos = start
            items.append(fetch_att(cur))
    changedsince = None
    vanished = False
    partial = None
    if cur.take(b" "):

        def modifier() -> None:
            # RFC 7162 §3.1.4.1 CHANGEDSINCE, §3.2.6 VANISHED; RFC 9394 §3.3 PARTIAL
            nonlocal changedsince, vanished, partial
            if cur.take(b"VANISHED"):
                vanished = True
                return
            if cur.take(b"PARTIAL "):
                if not uid:
                    raise cur.fail("PARTIAL is a UID FETCH modifier (RFC 9394 §3.3)")
                partial = partial_range(cur)
                return
            cur.expect(b"CHANGEDSINCE", "CHANGEDSINCE, VANISHED or PARTIAL")
            cur.sp()
            changedsince = cur.number(MAX_NUMBER64)

        cur.parenthesised(modifier)
        if vanished and (not uid or changedsince is None):
            raise cur.fail("VANISHED needs UID FETCH with CHANGEDSINCE")
        if changedsince is not None and "MODSEQ" not in items:
            items.append(_A.MODSEQ)  # RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ
    if uid and "UID" not in items:
        items.insert(0, _A.UID)  # RFC 9051 §6.4.9: UID FETCH always returns the UID
    return c.Fetch(
        tag=tag,
        uid=uid,
        seqset=seqset,
        items=tuple(items),
        changedsince=changedsince,
        vanished=vanished,
        partial=partial,
    )


def fetch_att(cur: Cursor) -> c.FetchItem:
    name = cur.match(_NAME, "fetch data item").decode().upper()
    if cur.peek() != b"[":
        if name == "PREVIEW" and cur.take(b" ("):
            # RFC 8970 §3.1: PREVIEW (LAZY); the preview is computed at delivery, so LAZY
            # never has to wait and the item is the same.
            cur.expect(b"LAZY", "LAZY")
            cur.expect(b")")
        if name in SIMPLE:
            return SIMPLE[name]
        raise cur.fail(f"unknown fetch data item {name[:30]}")
    if name not in _SECTIONED:
        raise cur.fail(f"{name[:30]} takes no section")
    peek, binary, size_only = _SECTIONED[name]
    section = _section(cur, binary)
    partial = None
    if not size_only and cur.take(b"<"):
        start = cur.number(MAX_NUMBER64)
        cur.expect(b".")
        length = cur.number(MAX_NUMBER64, nonzero=True)
        cur.expect(b">")
        partial = (start, length)
    return c.FetchBody(
        section=section, peek=peek, binary=binary, partial=partial, size_only=size_only
    )


def parse_section(text: str) -> c.Section:
    """A section as an IMAP URL names it (RFC 5092 §6: ";SECTION=" enc-section, after
    %-decoding): the section-spec of BODY[...]. ProtocolError if it is not one."""
    cur = Cursor([b"[" + text.upper().encode() + b"]"])
    section = _section(cur, binary=False)
    cur.end()
    return section


# Issue 9: no message is nested this deep (Roost's MIME parser stops well before), and no
# client asks for this many header fields; beyond, the section is refused rather than
# answered once per message (6,000 fields over 2,000 messages held the loop for 12 s).
MAX_SECTION_DEPTH = 64
MAX_HEADER_FIELDS = 512


def _section(cur: Cursor, binary: bool) -> c.Section:
    cur.expect(b"[")
    path: tuple[int, ...] = ()
    specifier = ""
    fields: list[str] = []
    if not cur.take(b"]"):
        m = _PART.match(cur.line, cur.pos)
        if m is not None:
            cur.pos = m.end()
            parts = m.group().split(b".")
            if len(parts) > MAX_SECTION_DEPTH:
                raise cur.fail(f"section path deeper than {MAX_SECTION_DEPTH} parts")
            path = tuple(int(n) for n in parts)
            if not cur.take(b"."):
                cur.expect(b"]")
                return c.Section(path=path)
        if binary:
            raise cur.fail("BINARY takes only part numbers as its section")
        specifier = next((s for s in _MSGTEXT if cur.take(s.encode())), "")
        if not specifier or (specifier == "MIME" and not path):
            raise cur.fail("invalid section")
        if specifier.startswith("HEADER.FIELDS"):
            cur.sp()
            cur.parenthesised(lambda: fields.append(cur.astring("header field name")))
            if not fields:
                raise cur.fail("empty header list")
            if len(fields) > MAX_HEADER_FIELDS:
                raise cur.fail(f"more than {MAX_HEADER_FIELDS} header fields in one section")
        cur.expect(b"]")
    return c.Section(path=path, specifier=specifier, fields=tuple(fields))
