"""SEARCH and UID SEARCH with ESEARCH return options and SEARCHRES (RFC 9051 §6.4.4,
RFC 4731, RFC 5182), and the ESEARCH command over several mailboxes (RFC 7377
MULTISEARCH). SEARCH keys become the store's protocol-neutral query; sequence numbers are
resolved to UIDs here, against this device's view."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from roost.imap.reply import Reply, bad, no, ok
from roost.imap.scopes import scope
from roost.model import ANSWERED, DELETED, DRAFT, FLAGGED, SEEN, MailboxId, Uid
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged
from roost.proto.imap.seqset import compress, runs
from roost.proto.imap.strings import render_string
from roost.store import api as q
from roost.store.api import Mailbox

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
    uids = await s.store.search(view.mailbox_id, to_query(view, cmd.key))
    uids = [u for u in uids if view.msn(u) is not None]  # not yet announced: not visible
    numbers: list[int] = list(uids) if cmd.uid else [view.msn(u) or 0 for u in uids]
    modseq = await _highest_modseq(s, view.mailbox_id, cmd.key, uids)
    returns = cmd.returns
    if returns is None and s.rev2:
        returns = ()  # IMAP4rev2 answers SEARCH with ESEARCH (RFC 9051 §7.3.4)
    if returns is None:
        line = " ".join(["SEARCH", *map(str, numbers)])
        if modseq is not None:
            line += f" (MODSEQ {modseq})"  # RFC 7162 §3.1.5
        await s.send(untagged(line))
    else:
        if "SAVE" in returns:
            view.saved = _to_save(returns, uids)
        if returns != ("SAVE",):
            correlator = b"TAG " + render_string(cmd.tag.encode())
            await s.send(_esearch(correlator, cmd.uid, returns or ("ALL",), numbers, modseq))
    return ok(f"{'UID ' if cmd.uid else ''}SEARCH completed")


async def esearch(s: Session, cmd: c.Esearch) -> Reply:
    """RFC 7377: the search in each mailbox the sources name, answered with UIDs, one
    ESEARCH response per mailbox with matches. Only the logged-in account's mailboxes are
    ever candidates: they come from list_mailboxes(account), never from a name alone."""
    assert s.account is not None
    view = s.selected
    if cmd.charset is not None and cmd.charset not in CHARSETS:
        return no("Unsupported charset", "BADCHARSET (UTF-8 US-ASCII)")
    sources = cmd.sources or (c.MailboxFilter(kind="SELECTED"),)
    if view is None and any(f.kind == "SELECTED" for f in sources):
        return bad("No mailbox selected")
    targets = await _targets(s, sources)
    returns = cmd.returns or ("ALL",)
    selected = view.mailbox_id if view is not None else None
    if "SAVE" in returns and [m.id for m in targets] != [selected]:
        return bad("SAVE needs the selected mailbox as the only source (RFC 7377 §2)")
    if _names_messages(cmd.key) and any(m.id != selected for m in targets):
        return no("Sequence numbers and $ name messages of the selected mailbox only")
    for mailbox in targets:
        if view is not None and mailbox.id == selected:
            uids = await s.store.search(mailbox.id, to_query(view, cmd.key))
            uids = [u for u in uids if view.msn(u) is not None]
            if "SAVE" in returns:
                view.saved = _to_save(returns, uids)
        else:
            query = to_query(None, cmd.key, largest=mailbox.uidnext - 1)
            uids = await s.store.search(mailbox.id, query)
        modseq = await _highest_modseq(s, mailbox.id, cmd.key, uids)
        if returns == ("SAVE",) or not (uids or "COUNT" in returns):
            continue
        correlator = b"TAG %s MAILBOX %s UIDVALIDITY %d" % (
            render_string(cmd.tag.encode()),
            s.render_mailbox(mailbox.name),
            mailbox.uidvalidity,
        )
        await s.send(_esearch(correlator, True, returns, list(uids), modseq))
    return ok("ESEARCH completed")


async def _targets(s: Session, sources: tuple[c.MailboxFilter, ...]) -> list[Mailbox]:
    """The account's mailboxes any source names, INBOX first, then by name."""
    assert s.account is not None
    scopes = [scope(f, s.decode_mailbox) for f in sources]
    mailboxes = await s.store.list_mailboxes(s.account.id)
    view = s.selected
    selected = next((m.name for m in mailboxes if view and m.id == view.mailbox_id), None)
    return [
        m
        for m in sorted(mailboxes, key=lambda m: (m.name != "INBOX", m.name))
        if any(sc.matches(m.name, subscribed=m.subscribed, selected=selected) for sc in scopes)
    ]


def _names_messages(key: c.SearchKey) -> bool:
    """Sequence numbers or "$": meaningful only against the selected mailbox's view."""
    if key.name == "SEQ" or (key.seqset is not None and key.seqset.saved):
        return True
    return any(_names_messages(k) for k in key.keys)


async def _highest_modseq(
    s: Session, mailbox: MailboxId, key: c.SearchKey, uids: list[Uid]
) -> int | None:
    """RFC 7162 §3.1.5: a search with MODSEQ reports the highest modseq it found."""
    if not _uses_modseq(key):
        return None
    s.condstore = True  # RFC 7162 §3.1: a CONDSTORE-enabling command
    if not uids:
        return None
    return max(m.modseq for m in await s.store.fetch_flags(mailbox, uids))


def _to_save(returns: tuple[str, ...], uids: list[Uid]) -> list[int]:
    """RFC 5182 §2.1: SAVE beside MIN and/or MAX (and neither ALL nor COUNT) saves only the
    minimum and/or maximum message; otherwise "$" is every message found."""
    if not uids or "ALL" in returns or "COUNT" in returns:
        return list(uids)
    picked = {uids[0]} if "MIN" in returns else set()
    if "MAX" in returns:
        picked.add(uids[-1])
    return sorted(picked) if picked else list(uids)


def _uses_modseq(key: c.SearchKey) -> bool:
    return key.name == "MODSEQ" or any(_uses_modseq(k) for k in key.keys)


def _esearch(
    correlator: bytes, uid: bool, returns: tuple[str, ...], numbers: list[int], modseq: int | None
) -> bytes:
    line = b"ESEARCH (" + correlator + b")"
    if uid:
        line += b" UID"
    if numbers:
        if "MIN" in returns:
            line += b" MIN %d" % numbers[0]
        if "MAX" in returns:
            line += b" MAX %d" % numbers[-1]
        if "ALL" in returns:
            line += b" ALL " + compress(numbers)
    if "COUNT" in returns:
        line += b" COUNT %d" % len(numbers)
    if modseq is not None:
        line += b" MODSEQ %d" % modseq  # RFC 7162 §3.1.5 with RFC 4731
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
            assert name == "UID" and not key.seqset.saved  # checked by esearch
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
