"""NOTIFY (RFC 5465 §8) and the mailbox filters it shares with ESEARCH IN (RFC 7377 §4).

    notify           = "NOTIFY" SP (notify-set / notify-none)
    notify-none      = "NONE"
    notify-set       = "SET" [status-indicator] SP event-groups
    status-indicator = SP "STATUS"
    event-groups     = event-group *(SP event-group)
    event-group      = "(" filter-mailboxes SP events ")"
    filter-mailboxes = filter-mailboxes-selected / filter-mailboxes-other
    filter-mailboxes-selected = "selected" / "selected-delayed"
    filter-mailboxes-other = "inboxes" / "personal" / "subscribed" /
                       ("subtree" SP one-or-more-mailbox) / ("mailboxes" SP one-or-more-mailbox)
                       ; RFC 7377 adds ("subtree-one" SP one-or-more-mailbox) for ESEARCH
    one-or-more-mailbox = mailbox / many-mailboxes
    many-mailboxes   = "(" mailbox *(SP mailbox) ")"
    events           = ("(" event *(SP event) ")") / "NONE"
    message-event    = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) /
                       "MessageExpunge" / "FlagChange" / "AnnotationChange"
    mailbox-event    = "MailboxName" / "SubscriptionChange" / "MailboxMetadataChange" /
                       "ServerMetadataChange"
    event-ext        = atom   ; unknown events are the handler's NO [BADEVENT], not a BAD

The rules RFC 5465 §5 makes a BAD are checked here, so a parsed Notify is consistent.
"""

from __future__ import annotations

from roost.proto.imap import commands as c
from roost.proto.imap.cursor import Cursor
from roost.proto.imap.fetchitems import fetch_att

SELECTED_FILTERS = frozenset({"SELECTED", "SELECTED-DELAYED"})
_PLAIN_FILTERS = frozenset({"INBOXES", "PERSONAL", "SUBSCRIBED"})
_NAMED_FILTERS = frozenset({"SUBTREE", "MAILBOXES"})
KNOWN_EVENTS = {
    name.upper(): name
    for name in (
        "MessageNew",
        "MessageExpunge",
        "FlagChange",
        "AnnotationChange",
        "MailboxName",
        "SubscriptionChange",
        "MailboxMetadataChange",
        "ServerMetadataChange",
    )
}
MESSAGE_EVENTS = frozenset({"MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange"})


def mailbox_filter(cur: Cursor, *, esearch: bool) -> c.MailboxFilter:
    """One filter-mailboxes. ESEARCH IN has no selected-delayed but adds subtree-one."""
    kind = cur.atom("mailbox filter").upper()
    named = _NAMED_FILTERS | ({"SUBTREE-ONE"} if esearch else set())
    selected = {"SELECTED"} if esearch else SELECTED_FILTERS
    if kind in selected or kind in _PLAIN_FILTERS:
        return c.MailboxFilter(kind=kind)
    if kind not in named:
        raise cur.fail(f"unknown mailbox filter {kind[:30]}")
    cur.sp()
    names: list[str] = []
    if cur.peek() == b"(":
        cur.parenthesised(lambda: names.append(cur.mailbox()))
        if not names:
            raise cur.fail(f"{kind} needs at least one mailbox")
    else:
        names.append(cur.mailbox())
    return c.MailboxFilter(kind=kind, mailboxes=tuple(names))


def parse_notify(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    if cur.take(b"NONE"):
        return c.Notify(tag=tag, groups=None)
    cur.expect(b"SET", "SET or NONE")
    status = cur.take(b" STATUS")
    groups: list[c.NotifyGroup] = []
    while cur.take(b" "):
        groups.append(_event_group(cur))
    if not groups:
        raise cur.fail("NOTIFY SET needs at least one event group")
    if sum(g.filter.kind in SELECTED_FILTERS for g in groups) > 1:
        raise cur.fail("only one SELECTED or SELECTED-DELAYED event group")
    return c.Notify(tag=tag, groups=tuple(groups), status=status)


def _event_group(cur: Cursor) -> c.NotifyGroup:
    cur.expect(b"(")
    mailboxes = mailbox_filter(cur, esearch=False)
    cur.sp()
    events: list[c.NotifyEvent] = []
    if not cur.take(b"NONE"):
        cur.parenthesised(lambda: events.append(_event(cur)))
        if not events:
            raise cur.fail("empty event list (use NONE)")
    cur.expect(b")")
    _check_events(cur, mailboxes, events)
    return c.NotifyGroup(filter=mailboxes, events=tuple(events))


def _event(cur: Cursor) -> c.NotifyEvent:
    raw = cur.atom("event")
    name = KNOWN_EVENTS.get(raw.upper(), raw)
    fetch: list[c.FetchItem] = []
    if name == "MessageNew" and cur.line.startswith(b" (", cur.pos):
        cur.sp()
        cur.parenthesised(lambda: fetch.append(fetch_att(cur)))
        if not fetch:
            raise cur.fail("empty fetch attribute list")
    return c.NotifyEvent(name=name, fetch=tuple(fetch))


def _check_events(cur: Cursor, mailboxes: c.MailboxFilter, events: list[c.NotifyEvent]) -> None:
    names = {e.name for e in events}
    if len(names) != len(events):
        raise cur.fail("an event is listed twice")
    # RFC 5465 §5: MessageNew and MessageExpunge go together; FlagChange and
    # AnnotationChange need both.
    if ("MessageNew" in names) != ("MessageExpunge" in names):
        raise cur.fail("MessageNew and MessageExpunge must be requested together")
    if names & {"FlagChange", "AnnotationChange"} and "MessageNew" not in names:
        raise cur.fail("FlagChange needs MessageNew and MessageExpunge")
    # RFC 5465 §5.1: fetch attributes are sent for the selected mailbox only.
    if any(e.fetch for e in events) and mailboxes.kind not in SELECTED_FILTERS:
        raise cur.fail("MessageNew fetch attributes need the SELECTED filter")
