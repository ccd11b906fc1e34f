"""SEARCH (RFC 9051 §6.4.4), SORT and THREAD (RFC 5256), their ESEARCH return options
(RFC 4731, RFC 5267 ESORT, RFC 9394 PARTIAL) and the WITHIN keys (RFC 5032).

    search          = "SEARCH" [search-return-opts] SP search-program
    search-program  = ["CHARSET" SP charset SP] search-key *(SP search-key)
    search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
    sort            = ["UID" SP] "SORT" [sort-return-opts] SP sort-criteria SP
                      search-criteria
    sort-criteria   = "(" sort-criterion *(SP sort-criterion) ")"
    sort-criterion  = ["REVERSE" SP] sort-key
    sort-key        = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" / "SUBJECT" / "TO" /
                      "DISPLAYFROM" / "DISPLAYTO"                     ; RFC 5957
    thread          = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
    search-criteria = charset 1*(SP search-key)
    search-key      =/ ( "OLDER" / "YOUNGER" ) SP nz-number           ; RFC 5032
    modifier-partial = "PARTIAL" SP partial-range                     ; RFC 9394 §4
    partial-range   = partial-range-first / partial-range-last
    partial-range-first = nz-number ":" nz-number
    partial-range-last  = MINUS nz-number ":" MINUS nz-number

Keys become trees of the typed keys of roost.proto.imap.commands (SearchKey); several
top-level keys are an implicit AND.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from roost.proto.imap import commands as c
from roost.proto.imap.cursor import MAX_NUMBER64, Cursor, partial_range, search_date
from roost.proto.imap.notify import mailbox_filter

# Keys without an argument, and what each is.
NO_ARGUMENT: dict[str, c.SearchKey] = {
    "ALL": c.AllKey(),
    "SAVEDATESUPPORTED": c.AllKey(),  # RFC 8514 §4.3: every mailbox keeps SAVEDATE
    "RECENT": c.RecentKey(kind=c.RecentKind.RECENT),
    "NEW": c.RecentKey(kind=c.RecentKind.NEW),
    "OLD": c.RecentKey(kind=c.RecentKind.OLD),
    **{
        f"{prefix}{name}": c.FlagKey(flag="\\" + name.capitalize(), present=not prefix)
        for name in ("ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN")
        for prefix in ("", "UN")
    },
}
HEADER_KEYS = frozenset({"BCC", "CC", "FROM", "SUBJECT", "TO"})  # HEADER <name> <string>
DATE_KEYS = {
    f"{prefix}{relation.name}": (field, relation)
    for prefix, field in (("", c.DateField.INTERNAL), ("SENT", c.DateField.SENT))
    for relation in c.DateRelation
} | {f"SAVED{relation.name}": (c.DateField.SAVED, relation) for relation in c.DateRelation}
OBJECTID = re.compile(rb"[A-Za-z0-9_-]{1,255}(?![^ )\r\n])")
RETURN_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE", "PARTIAL"})
SORT_RETURN_OPTIONS = RETURN_OPTIONS - {"SAVE"}  # RFC 5267 §3.2
# RFC 5267 §4.1 (CONTEXT=SEARCH): UPDATE asks for ADDTO/REMOVEFROM as the result changes;
# CONTEXT is a hint that the client will ask again.
SEARCH_RETURN_OPTIONS = RETURN_OPTIONS | {"UPDATE", "CONTEXT"}
SORT_KEYS = frozenset("ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO".split())
THREAD_ALGORITHMS = frozenset({"ORDEREDSUBJECT", "REFERENCES"})
MAX_DEPTH = 64
# Issue 9: keys in one SEARCH, SORT, THREAD or ESEARCH, nested ones included (a sequence
# set is one key). Far above what a client builds; each costs the store a test per message.
MAX_KEYS = 1000

Returns = tuple[tuple[str, ...] | None, tuple[int, int] | None]


def parse_search(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    returns, partial = return_options(cur, SEARCH_RETURN_OPTIONS, "SEARCH")
    charset = None
    if cur.take(b"CHARSET "):
        charset = cur.astring("charset").upper()
        cur.sp()
    key = _keys(cur)
    return c.Search(tag=tag, uid=uid, charset=charset, key=key, returns=returns, partial=partial)


def parse_esearch(cur: Cursor, tag: str, uid: bool) -> c.Command:
    """RFC 7377 §4:
    esearch = "ESEARCH" [SP esearch-source-opts] [SP search-return-opts] SP search-program
    esearch-source-opts = "IN" SP "(" source-mbox [SP "(" scope-options ")"] ")"
    source-mbox = filter-mailboxes *(SP filter-mailboxes)  ; no selected-delayed
    No scope option is defined, so none is accepted; nor is PARTIAL, which RFC 9394
    defines for SEARCH and SORT only."""
    cur.sp()
    sources: list[c.MailboxFilter] = []
    if cur.take(b"IN ("):
        sources.append(mailbox_filter(cur, esearch=True))
        while cur.take(b" "):
            sources.append(mailbox_filter(cur, esearch=True))
        cur.expect(b")")
        cur.sp()
    returns, _ = return_options(cur, RETURN_OPTIONS - {"PARTIAL"}, "ESEARCH")
    charset = None
    if cur.take(b"CHARSET "):
        charset = cur.astring("charset").upper()
        cur.sp()
    key = _keys(cur)
    return c.Esearch(
        tag=tag, sources=tuple(sources), charset=charset, key=key, returns=returns or ()
    )


def parse_sort(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    returns, partial = return_options(cur, SORT_RETURN_OPTIONS, "SORT")
    criteria: list[c.SortCriterion] = []

    def criterion() -> None:
        reverse = cur.take(b"REVERSE ")
        name = cur.atom("sort key").upper()
        if name not in SORT_KEYS:
            raise cur.fail(f"unknown sort key {name[:30]}")
        criteria.append(c.SortCriterion(key=name, reverse=reverse))

    cur.parenthesised(criterion)
    if not criteria:
        raise cur.fail("SORT needs at least one sort key")
    cur.sp()
    charset, key = _criteria(cur, "SORT")
    return c.Sort(
        tag=tag,
        uid=uid,
        criteria=tuple(criteria),
        charset=charset,
        key=key,
        returns=returns,
        partial=partial,
    )


def parse_thread(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    algorithm = cur.atom("threading algorithm").upper()
    if algorithm not in THREAD_ALGORITHMS:
        raise cur.fail(f"unsupported threading algorithm {algorithm[:30]}")
    cur.sp()
    charset, key = _criteria(cur, "THREAD")
    return c.Thread(tag=tag, uid=uid, algorithm=algorithm, charset=charset, key=key)


def _criteria(cur: Cursor, command: str) -> tuple[str, c.SearchKey]:
    """search-criteria = charset 1*(SP search-key): the charset is not optional here."""
    charset = cur.astring("charset").upper()
    if not cur.take(b" "):
        raise cur.fail(f"{command} needs a charset, then search keys")
    return charset, _keys(cur)


def _keys(cur: Cursor) -> c.SearchKey:
    keys = [search_key(cur, 0)]
    while cur.take(b" "):
        keys.append(search_key(cur, 0))
    if _count(keys) > MAX_KEYS:
        raise cur.fail(f"more than {MAX_KEYS} search keys")
    return keys[0] if len(keys) == 1 else c.AndKey(keys=tuple(keys))


def _count(keys: list[c.SearchKey]) -> int:
    """How many keys there are, those inside AND, OR and NOT included."""
    count, pending = 0, list(keys)
    while pending:
        count += 1
        pending.extend(c.subkeys(pending.pop()))
    return count


def return_options(cur: Cursor, allowed: frozenset[str], command: str) -> Returns:
    """[ "RETURN" SP "(" [option *(SP option)] ")" SP ]: the options (None without
    RETURN) and the PARTIAL range."""
    if not cur.take(b"RETURN "):
        return None, None
    options: list[str] = []
    partial: list[tuple[int, int]] = []

    def option() -> None:
        name = cur.atom("return option").upper()
        if name not in allowed:
            raise cur.fail(f"unknown {command} return option {name[:30]}")
        if name == "PARTIAL":
            cur.sp()
            partial.append(partial_range(cur))
        options.append(name)

    cur.parenthesised(option)
    # RFC 9394 §3.1: one PARTIAL, one ALL, or neither
    if options.count("PARTIAL") + options.count("ALL") > 1:
        raise cur.fail("at most one of PARTIAL and ALL")
    cur.sp()
    return tuple(options), partial[0] if partial else None


def search_key(cur: Cursor, depth: int) -> c.SearchKey:
    if depth > MAX_DEPTH:
        raise cur.fail("search keys nested too deeply")
    first = cur.peek()
    if first == b"(":
        keys: list[c.SearchKey] = []
        cur.parenthesised(lambda: keys.append(search_key(cur, depth + 1)))
        if not keys:
            raise cur.fail("empty search key list")
        return c.AndKey(keys=tuple(keys))
    if first.isdigit() or first in (b"*", b"$"):
        return c.SeqKey(seqset=cur.seqset())
    name = cur.atom("search key").upper()
    if name in NO_ARGUMENT:
        return NO_ARGUMENT[name]
    rule = WITH_ARGUMENT.get(name)
    if rule is None:
        raise cur.fail(f"unknown search key {name[:30]}")
    cur.sp()
    return rule(cur, name, depth)


def _string_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    text = cur.astring("search string")
    if name == "BODY":
        return c.BodyKey(text=text)
    if name == "TEXT":
        return c.TextKey(text=text)
    return c.HeaderKey(field=name.lower(), text=text)


def _header_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    field = cur.astring("header field name")
    cur.sp()
    return c.HeaderKey(field=field.lower(), text=cur.astring("search string"))


def _date_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    field, relation = DATE_KEYS[name]
    return c.DateKey(field=field, relation=relation, day=search_date(cur))


def _size_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    return c.SizeKey(larger=name == "LARGER", octets=cur.number(MAX_NUMBER64))


def _age_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    # RFC 5032: seconds, nz-number
    return c.AgeKey(younger=name == "YOUNGER", seconds=cur.number(nonzero=True))


def _keyword_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    return c.FlagKey(flag=cur.flag(), present=name == "KEYWORD")


def _uid_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    return c.UidKey(seqset=cur.seqset())


def _not_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    return c.NotKey(key=search_key(cur, depth + 1))


def _or_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    left = search_key(cur, depth + 1)
    cur.sp()
    return c.OrKey(left=left, right=search_key(cur, depth + 1))


def _modseq_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    # RFC 7162 §3.1.5: MODSEQ [entry-name SP entry-type-req SP] mod-sequence-valzer;
    # the entry (a per-flag modseq) is accepted and ignored: one modseq per message.
    if cur.peek() == b'"':
        cur.string("entry name")
        cur.sp()
        cur.atom("entry type")
        cur.sp()
    return c.ModSeqKey(modseq=cur.number(MAX_NUMBER64))


def _object_id_key(cur: Cursor, name: str, depth: int) -> c.SearchKey:
    # RFC 8474 §7: objectid = 1*255(ALPHA / DIGIT / "_" / "-")
    found = cur.match(OBJECTID, "object id").decode("ascii")
    return c.EmailIdKey(id=found) if name == "EMAILID" else c.ThreadIdKey(id=found)


WITH_ARGUMENT: dict[str, Callable[[Cursor, str, int], c.SearchKey]] = {
    **dict.fromkeys((*HEADER_KEYS, "BODY", "TEXT"), _string_key),
    **dict.fromkeys(DATE_KEYS, _date_key),
    "HEADER": _header_key,
    "LARGER": _size_key,
    "SMALLER": _size_key,
    "OLDER": _age_key,
    "YOUNGER": _age_key,
    "KEYWORD": _keyword_key,
    "UNKEYWORD": _keyword_key,
    "UID": _uid_key,
    "NOT": _not_key,
    "OR": _or_key,
    "MODSEQ": _modseq_key,
    "EMAILID": _object_id_key,
    "THREADID": _object_id_key,
}


T = TypeVar("T")


def partial_page(results: Sequence[T], partial: tuple[int, int]) -> list[T]:
    """The results a partial-range names, in their order (RFC 9394 §3.1): 1 is the first
    result, -1 the last; positions past either end select nothing."""
    low, high = sorted(partial)
    count = len(results)
    if low < 0:  # -5:-1: the last five
        low, high = count + low + 1, count + high + 1
    start, stop = max(low, 1) - 1, min(high, count)
    return list(results[start:stop]) if start < stop else []
