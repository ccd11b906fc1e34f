"""SEARCH and UID SEARCH with ESEARCH return options, SEARCHRES and PARTIAL (RFC 9051
§6.4.4, RFC 4731, RFC 5182, RFC 9394), and the WITHIN keys (RFC 5032). SEARCH keys
become the store's protocol-neutral query; sequence numbers are resolved to UIDs here,
against this device's view. SORT and THREAD (sort.py) reuse all of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from roost.imap.contexts import MAX_CONTEXTS, SearchContext
from roost.imap.reply import Reply, bad, no, ok
from roost.model import ANSWERED, DELETED, DRAFT, FLAGGED, SEEN, MailboxId, Uid
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged
from roost.proto.imap.searchkeys import partial_page
from roost.proto.imap.seqset import compress, runs
from roost.proto.imap.strings import render_string
from roost.store import api as q

if TYPE_CHECKING:
    from roost.imap.selected import SelectedMailbox
    from roost.imap.session import Session

CHARSETS = frozenset({"UTF-8", "US-ASCII"})
_FLAG_KEYS = {
    "ANSWERED": ANSWERED,
    "DELETED": DELETED,
    "DRAFT": DRAFT,
    "FLAGGED": FLAGGED,
    "SEEN": SEEN,
}
_HEADER_KEYS = {"BCC": "bcc", "CC": "cc", "FROM": "from", "SUBJECT": "subject", "TO": "to"}
_DATE_KEYS = {
    "BEFORE": q.DateField.INTERNAL,
    "ON": q.DateField.INTERNAL,
    "SINCE": q.DateField.INTERNAL,
    "SENTBEFORE": q.DateField.SENT,
    "SENTON": q.DateField.SENT,
    "SENTSINCE": q.DateField.SENT,
    # RFC 8514 SAVEDATE: when the message arrived in this mailbox
    "SAVEDBEFORE": q.DateField.SAVED,
    "SAVEDON": q.DateField.SAVED,
    "SAVEDSINCE": q.DateField.SAVED,
}


async def search(s: Session, cmd: c.Search) -> Reply:
    view = s.selected
    assert view is not None
    if cmd.charset is not None and cmd.charset not in CHARSETS:
        if cmd.returns is not None and "SAVE" in cmd.returns:
            view.saved = []  # RFC 5182 §2.1: a failed SEARCH ... SAVE leaves "$" empty
        return no("Unsupported charset", "BADCHARSET (UTF-8 US-ASCII)")
    query = to_query(view, cmd.key)
    uids = visible(view, await s.store.search(view.mailbox_id, query))
    modseq = await result_modseq(s, cmd.key, reported(uids, cmd.returns))
    returns = cmd.returns
    if returns is not None and "UPDATE" in returns:
        await _keep_updated(s, view, cmd, query, uids)
        # RFC 4731 §3.1: with no option that asks for a result, ALL is meant.
        returns = tuple(r for r in returns if r not in ("UPDATE", "CONTEXT"))
    if returns is None and s.rev2:
        returns = ()  # IMAP4rev2 answers SEARCH with ESEARCH (RFC 9051 §7.3.4)
    if returns is None:
        await s.send(plain_result("SEARCH", numbers(view, uids, cmd.uid), modseq))
    else:
        if "SAVE" in returns:
            view.saved = save_result(returns, uids, cmd.partial)
        if returns != ("SAVE",):
            result = Result(numbers=numbers(view, uids, cmd.uid), modseq=modseq)
            await s.send(esearch(cmd, returns or ("ALL",), result))
    return ok(f"{'UID ' if cmd.uid else ''}SEARCH completed")


async def _keep_updated(
    s: Session, view: SelectedMailbox, cmd: c.Search, query: q.Query, uids: list[Uid]
) -> None:
    """RFC 5267 §4.1: remember the search, to report how its result changes."""
    if len(view.contexts) >= MAX_CONTEXTS and cmd.tag not in view.contexts:
        tag = render_string(cmd.tag.encode()).decode()
        await s.send(untagged(f"NO [NOUPDATE {tag}] Too many searches kept up to date"))
        return
    view.contexts[cmd.tag] = SearchContext(uid=cmd.uid, query=query, found=set(uids))


async def cancelupdate(s: Session, cmd: c.CancelUpdate) -> Reply:
    """RFC 5267 §4.2: stop updating these searches' results."""
    view = s.selected
    assert view is not None
    unknown = [t for t in cmd.tags if t not in view.contexts]
    if unknown:
        return bad(f"No search is kept up to date under tag {unknown[0][:40]}")
    for tag in cmd.tags:
        del view.contexts[tag]
    return ok("CANCELUPDATE completed")


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """What SEARCH or SORT found, in result order (mailbox order for SEARCH)."""

    numbers: list[int]  # UIDs or sequence numbers, as the command asked
    modseq: int | None = None  # RFC 7162 §3.1.5, when the criteria used MODSEQ


def visible(view: SelectedMailbox, uids: list[Uid]) -> list[Uid]:
    return [u for u in uids if view.msn(u) is not None]  # not yet announced: not visible


def numbers(view: SelectedMailbox, uids: list[Uid], uid: bool) -> list[int]:
    return list(uids) if uid else [view.msn(u) or 0 for u in uids]


async def result_modseq(
    s: Session, key: c.SearchKey, uids: list[Uid], mailbox: MailboxId | None = None
) -> int | None:
    """RFC 7162 §3.1.5: with a MODSEQ criterion the highest modseq of what was found (in
    the selected mailbox unless another is named)."""
    if not _uses_modseq(key):
        return None
    await s.enable_condstore()
    if mailbox is None and s.selected is not None:
        mailbox = s.selected.mailbox_id
    if not uids or mailbox is None:
        return None
    return max(m.modseq for m in await s.store.fetch_flags(mailbox, uids))


def reported(uids: list[Uid], returns: tuple[str, ...] | None) -> list[Uid]:
    """The messages whose modseqs the MODSEQ of a result covers: RFC 7162 §3.1.5 with
    RFC 4731 §3.2, only those MIN and MAX return when neither ALL nor COUNT is asked."""
    if not returns or not uids or {"ALL", "COUNT"} & set(returns):
        return uids
    picked = [uids[0]] if "MIN" in returns else []
    if "MAX" in returns:
        picked.append(uids[-1])
    return picked or uids


def plain_result(name: str, found: list[int], modseq: int | None) -> bytes:
    """The SEARCH (RFC 9051 §7.3.4) or SORT (RFC 5256 §4) response."""
    line = " ".join([name, *map(str, found)])
    if modseq is not None:
        line += f" (MODSEQ {modseq})"  # RFC 7162 §3.1.5
    return untagged(line)


def save_result(
    returns: tuple[str, ...], uids: list[Uid], partial: tuple[int, int] | None
) -> list[int]:
    """RFC 5182 §2.1: SAVE beside MIN and/or MAX (and neither ALL nor COUNT) saves only the
    minimum and/or maximum message; otherwise "$" is every message found. RFC 9394 §3.2:
    with PARTIAL (and no COUNT), the messages PARTIAL returns, plus MIN and MAX."""
    if not uids or "ALL" in returns or "COUNT" in returns:
        return list(uids)
    picked = set(partial_page(uids, partial)) if partial is not None else set()
    if "MIN" in returns:
        picked.add(uids[0])
    if "MAX" in returns:
        picked.add(uids[-1])
    return sorted(picked) if picked or partial is not None else list(uids)


def _uses_modseq(key: c.SearchKey) -> bool:
    return key.name == "MODSEQ" or any(_uses_modseq(k) for k in key.keys)


def esearch(
    cmd: c.Search | c.Sort | c.Esearch,
    returns: tuple[str, ...],
    result: Result,
    *,
    mailbox: bytes = b"",
) -> bytes:
    """The ESEARCH response (RFC 4731 §3.1) for SEARCH and, with ESORT (RFC 5267 §3.2),
    for SORT: MIN and MAX are the first and last in result order, ALL keeps that order.
    For the ESEARCH command (RFC 7377 §2) `mailbox` is the correlator's MAILBOX and
    UIDVALIDITY, and results are always UIDs."""
    found = result.numbers
    line = b"ESEARCH (TAG " + render_string(cmd.tag.encode()) + mailbox + b")"
    if isinstance(cmd, c.Esearch) or cmd.uid:
        line += b" UID"
    if found:
        if "MIN" in returns:
            line += b" MIN %d" % found[0]
        if "MAX" in returns:
            line += b" MAX %d" % found[-1]
        if "ALL" in returns:
            line += b" ALL " + compress(found)
    if not isinstance(cmd, c.Esearch) and cmd.partial is not None:
        # RFC 9394 §3.1: the range as requested, then what is in it, or NIL
        page = partial_page(found, cmd.partial)
        first, last = cmd.partial
        if first > 0 and last > 0:
            first, last = min(first, last), max(first, last)  # 4:2 is 2:4, and says so
        line += b" PARTIAL (%d:%d %s)" % (first, last, compress(page) if page else b"NIL")
    if "COUNT" in returns:
        line += b" COUNT %d" % len(found)
    if result.modseq is not None:
        line += b" MODSEQ %d" % result.modseq  # RFC 7162 §3.1.5 with RFC 4731
    return untagged(line)


def to_query(view: SelectedMailbox | None, key: c.SearchKey, *, largest: int = 0) -> q.Query:
    """The store query for key: against the selected mailbox's view, or (view None, for
    ESEARCH in other mailboxes) with UIDs as given, "*" being `largest` (UIDNEXT - 1)."""
    name = key.name
    if name in ("AND", "OR"):
        parts = tuple(to_query(view, k, largest=largest) for k in key.keys)
        return q.And(parts) if name == "AND" else q.Or(parts)
    if name == "NOT":
        return q.Not(to_query(view, key.keys[0], largest=largest))
    if name in ("SEQ", "UID"):
        assert key.seqset is not None
        if view is None:
            assert name == "UID" and not key.seqset.saved  # checked by multisearch
            return q.UidIn(tuple(key.seqset.resolve(largest)))
        uids = view.resolve(key.seqset, uid=name == "UID")
        return q.UidIn(tuple(runs(uids)))
    if name in _FLAG_KEYS:
        return q.HasFlag(_FLAG_KEYS[name])
    if name.startswith("UN") and name[2:] in _FLAG_KEYS:
        return q.Not(q.HasFlag(_FLAG_KEYS[name[2:]]))
    if name in ("KEYWORD", "UNKEYWORD"):
        assert key.text is not None
        flag = q.HasFlag(key.text)
        return flag if name == "KEYWORD" else q.Not(flag)
    # IMAP4rev1 \Recent belongs to a session's selected mailbox: elsewhere nothing is.
    recent = q.UidIn(tuple(view.recent_ranges()) if view is not None else ())
    if name == "RECENT":
        return recent
    if name == "NEW":
        return q.And((recent, q.Not(q.HasFlag(SEEN))))
    if name == "OLD":
        return q.Not(recent)
    if name in _DATE_KEYS:
        assert key.day is not None
        return _date_query(name, _DATE_KEYS[name], key.day)
    if name in _HEADER_KEYS:
        return q.HeaderContains(_HEADER_KEYS[name], key.text or "")
    if name == "HEADER":
        return q.HeaderContains((key.field or "").lower(), key.text or "")
    if name == "BODY":
        return q.BodyContains(key.text or "")
    if name == "TEXT":
        return q.TextContains(key.text or "")
    if name == "MODSEQ":
        return q.ModSeqAtLeast(key.number or 0)
    if name in ("YOUNGER", "OLDER"):
        # RFC 5032: seconds before now, against the INTERNALDATE instant
        younger = q.ArrivedAfter(datetime.now(UTC) - timedelta(seconds=key.number or 0))
        return younger if name == "YOUNGER" else q.Not(younger)
    if name == "EMAILID":  # RFC 8474 §6
        return q.EmailIs(key.text or "")
    if name == "THREADID":
        return q.ThreadIs(key.text or "")
    if name == "LARGER":
        return q.SizeLarger(key.number or 0)
    if name == "SMALLER":
        return q.SizeSmaller(key.number or 0)
    return q.All()  # ALL, and SAVEDATESUPPORTED: every mailbox keeps save dates


def _date_query(name: str, field: q.DateField, day: date) -> q.Query:
    # Day granularity, "disregarding time and timezone" (RFC 9051 §6.4.4): days in UTC.
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    if name.endswith("BEFORE"):
        return q.DateBefore(field, start)
    if name.endswith("SINCE"):
        return q.DateOnOrAfter(field, start)
    return q.And((q.DateOnOrAfter(field, start), q.DateBefore(field, end)))
