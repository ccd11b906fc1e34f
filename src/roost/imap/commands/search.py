"""SEARCH and UID SEARCH with ESEARCH return options, SEARCHRES and PARTIAL (RFC 9051
§6.4.4, RFC 4731, RFC 5182, RFC 9394), and the WITHIN keys (RFC 5032). SEARCH keys
become the store's protocol-neutral query; sequence numbers are resolved to UIDs here,
against this device's view. SORT and THREAD (sort.py) reuse all of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, assert_never

from roost.imap.contexts import MAX_CONTEXTS, SearchContext
from roost.imap.reply import Reply, bad, no, ok
from roost.model import SEEN, MailboxId, Uid
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
_DATE_FIELDS = {
    c.DateField.INTERNAL: q.DateField.INTERNAL,
    c.DateField.SENT: q.DateField.SENT,
    c.DateField.SAVED: q.DateField.SAVED,  # RFC 8514: when it arrived in this mailbox
}


async def search(s: Session, cmd: c.Search) -> Reply:
    view = s.selected
    assert view is not None
    if cmd.charset is not None and cmd.charset not in CHARSETS:
        if cmd.returns is not None and "SAVE" in cmd.returns:
            view.saved = []  # RFC 5182 §2.1: a failed SEARCH ... SAVE leaves "$" empty
        return no("Unsupported charset", "BADCHARSET (UTF-8 US-ASCII)")
    query = to_query(view, cmd.key)
    uids = visible(view, await s.store.search(view.mailbox_id, query, viewer=view.viewer))
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
    viewer = None
    if mailbox is None and s.selected is not None:
        mailbox, viewer = s.selected.mailbox_id, s.selected.viewer
    if not uids or mailbox is None:
        return None
    return max(m.modseq for m in await s.store.fetch_flags(mailbox, uids, viewer=viewer))


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
    return isinstance(key, c.ModSeqKey) or any(map(_uses_modseq, c.subkeys(key)))


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
    ESEARCH in other mailboxes) with UIDs as given, "*" being `largest` (UIDNEXT - 1).
    Every kind of key is matched here; none falls through to every message."""
    match key:
        case c.AllKey():
            return q.All()
        case c.AndKey(keys=keys):
            return q.And(tuple(to_query(view, k, largest=largest) for k in keys))
        case c.OrKey(left=left, right=right):
            return q.Or(
                (to_query(view, left, largest=largest), to_query(view, right, largest=largest))
            )
        case c.NotKey(key=inner):
            return q.Not(to_query(view, inner, largest=largest))
        case c.SeqKey(seqset=seqset) | c.UidKey(seqset=seqset):
            if view is None:
                assert isinstance(key, c.UidKey) and not seqset.saved  # checked by multisearch
                return q.UidIn(tuple(seqset.resolve(largest)))
            uids = view.resolve(seqset, uid=isinstance(key, c.UidKey))
            return q.UidIn(tuple(runs(uids)))
        case c.FlagKey(flag=flag, present=present):
            return q.HasFlag(flag) if present else q.Not(q.HasFlag(flag))
        case c.RecentKey(kind=kind):
            # IMAP4rev1 \Recent belongs to a session's selected mailbox: elsewhere nothing is.
            recent = q.UidIn(tuple(view.recent_ranges()) if view is not None else ())
            if kind is c.RecentKind.RECENT:
                return recent
            if kind is c.RecentKind.NEW:
                return q.And((recent, q.Not(q.HasFlag(SEEN))))
            return q.Not(recent)
        case c.DateKey(field=field, relation=relation, day=day):
            return _date_query(_DATE_FIELDS[field], relation, day)
        case c.HeaderKey(field=field, text=text):
            return q.HeaderContains(field, text)
        case c.BodyKey(text=text):
            return q.BodyContains(text)
        case c.TextKey(text=text):
            return q.TextContains(text)
        case c.ModSeqKey(modseq=modseq):
            return q.ModSeqAtLeast(modseq)
        case c.AgeKey(younger=younger, seconds=seconds):
            # RFC 5032: seconds before now, against the INTERNALDATE instant
            arrived = q.ArrivedAfter(datetime.now(UTC) - timedelta(seconds=seconds))
            return arrived if younger else q.Not(arrived)
        case c.EmailIdKey(id=email):  # RFC 8474 §6
            return q.EmailIs(email)
        case c.ThreadIdKey(id=thread):
            return q.ThreadIs(thread)
        case c.SizeKey(larger=larger, octets=octets):
            return q.SizeLarger(octets) if larger else q.SizeSmaller(octets)
        case _:
            assert_never(key)


def _date_query(field: q.DateField, relation: c.DateRelation, day: date) -> q.Query:
    # Day granularity, "disregarding time and timezone" (RFC 9051 §6.4.4): days in UTC.
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    if relation is c.DateRelation.BEFORE:
        return q.DateBefore(field, start)
    if relation is c.DateRelation.SINCE:
        return q.DateOnOrAfter(field, start)
    return q.And((q.DateOnOrAfter(field, start), q.DateBefore(field, end)))
