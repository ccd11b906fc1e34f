"""SEARCH (RFC 9051 §6.4.4) and its ESEARCH return options (RFC 4731).

    search          = "SEARCH" [search-return-opts] SP search-program
    search-program  = ["CHARSET" SP charset SP] search-key *(SP search-key)
    search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"

Keys become `SearchKey(name, ...)` trees; several top-level keys are an implicit AND.
"""

from __future__ import annotations

from roost.proto.imap import commands as c
from roost.proto.imap.cursor import MAX_NUMBER64, Cursor, search_date
from roost.proto.imap.notify import mailbox_filter

NO_ARGUMENT = frozenset(
    "ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT "
    "UNFLAGGED UNSEEN SAVEDATESUPPORTED".split()
)
STRING_ARGUMENT = frozenset("BCC BODY CC FROM SUBJECT TEXT TO".split())
DATE_ARGUMENT = frozenset(
    "BEFORE ON SINCE SENTBEFORE SENTON SENTSINCE SAVEDBEFORE SAVEDON SAVEDSINCE".split()
)
NUMBER_ARGUMENT = frozenset({"LARGER", "SMALLER"})
WITH_ARGUMENT = (
    STRING_ARGUMENT
    | DATE_ARGUMENT
    | NUMBER_ARGUMENT
    | {
        "HEADER",
        "KEYWORD",
        "UNKEYWORD",
        "UID",
        "NOT",
        "OR",
        "MODSEQ",
    }
)
RETURN_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE"})
MAX_DEPTH = 64


def parse_search(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    returns = _return_options(cur)
    charset, key = _search_program(cur)
    return c.Search(tag=tag, uid=uid, charset=charset, key=key, returns=returns)


def parse_esearch(cur: Cursor, tag: str, uid: bool) -> c.Command:
    """RFC 7377 §4:
    esearch = "ESEARCH" [SP esearch-source-opts] [SP search-return-opts] SP search-program
    esearch-source-opts = "IN" SP "(" source-mbox [SP "(" scope-options ")"] ")"
    source-mbox = filter-mailboxes *(SP filter-mailboxes)  ; no selected-delayed
    No scope option is defined, so none is accepted."""
    cur.sp()
    sources: list[c.MailboxFilter] = []
    if cur.take(b"IN ("):
        sources.append(mailbox_filter(cur, esearch=True))
        while cur.take(b" "):
            sources.append(mailbox_filter(cur, esearch=True))
        cur.expect(b")")
        cur.sp()
    returns = _return_options(cur)
    charset, key = _search_program(cur)
    return c.Esearch(
        tag=tag, sources=tuple(sources), charset=charset, key=key, returns=returns or ()
    )


def _return_options(cur: Cursor) -> tuple[str, ...] | None:
    """search-return-opts (RFC 4731 §3), and the space after it; None when absent."""
    if not cur.take(b"RETURN "):
        return None
    options: list[str] = []
    cur.parenthesised(lambda: options.append(cur.atom("return option").upper()))
    unknown = set(options) - RETURN_OPTIONS
    if unknown:
        raise cur.fail(f"unknown SEARCH return option {sorted(unknown)[0]}")
    cur.sp()
    return tuple(options)


def _search_program(cur: Cursor) -> tuple[str | None, c.SearchKey]:
    charset = None
    if cur.take(b"CHARSET "):
        charset = cur.astring("charset").upper()
        cur.sp()
    keys = [search_key(cur, 0)]
    while cur.take(b" "):
        keys.append(search_key(cur, 0))
    key = keys[0] if len(keys) == 1 else c.SearchKey(name="AND", keys=tuple(keys))
    return charset, key


def search_key(cur: Cursor, depth: int) -> c.SearchKey:
    if depth > MAX_DEPTH:
        raise cur.fail("search keys nested too deeply")
    first = cur.peek()
    if first == b"(":
        keys: list[c.SearchKey] = []
        cur.parenthesised(lambda: keys.append(search_key(cur, depth + 1)))
        if not keys:
            raise cur.fail("empty search key list")
        return c.SearchKey(name="AND", keys=tuple(keys))
    if first.isdigit() or first in (b"*", b"$"):
        return c.SearchKey(name="SEQ", seqset=cur.seqset())
    name = cur.atom("search key").upper()
    if name in NO_ARGUMENT:
        return c.SearchKey(name=name)
    if name not in WITH_ARGUMENT:
        raise cur.fail(f"unknown search key {name[:30]}")
    cur.sp()
    if name in STRING_ARGUMENT:
        return c.SearchKey(name=name, text=cur.astring("search string"))
    if name in DATE_ARGUMENT:
        return c.SearchKey(name=name, day=search_date(cur))
    if name in NUMBER_ARGUMENT:
        return c.SearchKey(name=name, number=cur.number(MAX_NUMBER64))
    if name == "HEADER":
        field = cur.astring("header field name")
        cur.sp()
        return c.SearchKey(name=name, field=field, text=cur.astring("search string"))
    if name in ("KEYWORD", "UNKEYWORD"):
        return c.SearchKey(name=name, text=cur.flag())
    if name == "UID":
        return c.SearchKey(name=name, seqset=cur.seqset())
    if name == "NOT":
        return c.SearchKey(name=name, keys=(search_key(cur, depth + 1),))
    if name == "MODSEQ":
        # RFC 7162 §3.1.5: MODSEQ [entry-name SP entry-type-req SP] mod-sequence-valzer;
        # the entry (a per-flag modseq) is accepted and ignored: one modseq per message.
        if cur.peek() == b'"':
            cur.string("entry name")
            cur.sp()
            cur.atom("entry type")
            cur.sp()
        return c.SearchKey(name=name, number=cur.number(MAX_NUMBER64))
    if name == "OR":
        left = search_key(cur, depth + 1)
        cur.sp()
        return c.SearchKey(name=name, keys=(left, search_key(cur, depth + 1)))
    raise cur.fail(f"unknown search key {name[:30]}")
