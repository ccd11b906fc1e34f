"""NOTIFY (RFC 5465): one connection follows the whole account.

Theory of operation
-------------------
NOTIFY SET resolves its event groups into `Watch`es and remembers, per mailbox watched for
message events, the (HIGHESTMODSEQ, UIDNEXT) last reported — two integers a mailbox — and
the account's mailbox-change modseq. The session already hears every hint of its account. When
hints arrive (at once during IDLE, otherwise after each command) `report` pulls from the
store only what changed: the account's mailbox changes since its modseq become LIST
responses (§5.4 MailboxName, §5.5 SubscriptionChange), and each hinted mailbox other than
the selected one is asked `changes_since(baseline)`, which tells whether messages arrived,
were expunged or changed flags; if its event group asked for that kind of event, the client
gets one STATUS (§5.1-§5.3). A lost hint delays a STATUS until the mailbox's next hint;
it never loses a change, since the baseline only moves when the log was read.

Mailboxes shared with the user (issue 15) are watched by the names they see them by
(roost.imap.namespaces), and only those they may look up and read: their owners' hints reach
the session (roost.notify.many), and a shared mailbox that appears or goes as rights change
is a MailboxName event like a created or deleted one.

The selected mailbox keeps the RFC 9051 path (Session.sync: EXISTS, EXPUNGE under the
§7.5.1 rules, FETCH FLAGS), with the FETCH of the MessageNew fetch attributes added.
The first event group whose filter matches a mailbox decides its events, so
`(INBOXES NONE) (PERSONAL (...))` silences INBOX.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from roost.errors import MailError
from roost.imap.access import Visible, shared, visible
from roost.imap.commands.mailboxes import account_modseq, status_line
from roost.imap.reply import Reply, bad, no, ok
from roost.imap.scopes import Scope, scope
from roost.model import MailboxId, ModSeq, Uid
from roost.proto.imap import commands as c
from roost.proto.imap.notify import MESSAGE_EVENTS
from roost.proto.imap.responses import untagged
from roost.store.api import ALL_RIGHTS, MailboxChange, MailboxChangeKind

if TYPE_CHECKING:
    from roost.imap.session import Session

# RFC 5465 §3.1: a NO [BADEVENT] lists the events the server supports.
SUPPORTED_EVENTS = (
    "MessageNew",
    "MessageExpunge",
    "FlagChange",
    "MailboxName",
    "SubscriptionChange",
)
_NAME_CHANGES = frozenset(
    {MailboxChangeKind.CREATED, MailboxChangeKind.RENAMED, MailboxChangeKind.DELETED}
)


@dataclass(frozen=True, slots=True)
class Watch:
    """One event group of NOTIFY SET, its mailbox names decoded."""

    scope: Scope
    events: frozenset[str]
    fetch: tuple[c.FetchItem, ...] = ()  # MessageNew fetch attributes (SELECTED only)


class Notifications:
    """A session's NOTIFY state: the watches and what the client was last told."""

    __slots__ = ("account_modseq", "baselines", "shared", "watches")

    def __init__(
        self,
        watches: tuple[Watch, ...],
        account_modseq: ModSeq,
        baselines: dict[MailboxId, tuple[ModSeq, Uid]],
        shared: frozenset[str] = frozenset(),
    ) -> None:
        self.watches = watches
        self.account_modseq = account_modseq
        self.baselines = baselines
        # The shared mailboxes the user may look up, as last reported (issue 15): one that
        # appears (a right granted) or goes is a MailboxName event.
        self.shared = shared

    def watch_for(self, name: str, *, subscribed: bool, selected: str | None) -> Watch | None:
        return next(
            (
                w
                for w in self.watches
                if w.scope.matches(name, subscribed=subscribed, selected=selected)
            ),
            None,
        )

    @property
    def new_message_fetch(self) -> tuple[c.FetchItem, ...]:
        """What to FETCH of each new message in the selected mailbox (RFC 5465 §5.1)."""
        for w in self.watches:
            if w.scope.selected:
                return w.fetch if "MessageNew" in w.events else ()
        return ()

    def watches_messages(self, name: str, *, subscribed: bool) -> bool:
        watch = self.watch_for(name, subscribed=subscribed, selected=None)
        return watch is not None and bool(watch.events & MESSAGE_EVENTS)


def _readable(views: list[Visible]) -> list[Visible]:
    """What NOTIFY may report on: what the user may look up and read (RFC 4314 §4)."""
    return [v for v in views if v.may("lr")]


async def notify(s: Session, cmd: c.Notify) -> Reply:
    assert s.account is not None
    if cmd.groups is None:
        s.notify = None  # RFC 5465 §3.2 NOTIFY NONE
        return ok("NOTIFY completed")
    if any(e.name not in SUPPORTED_EVENTS for g in cmd.groups for e in g.events):
        return no("Unsupported event", f"BADEVENT ({' '.join(SUPPORTED_EVENTS)})")
    watches = []
    for group in cmd.groups:
        fetch = tuple(item for e in group.events for item in e.fetch)
        if any(item in ("RFC822", "RFC822.TEXT") for item in fetch):
            return bad("NOTIFY fetch attributes may not set \\Seen: use BODY.PEEK")
        # RFC 5465 §5.1: sending new messages must not mark them \Seen.
        fetch = tuple(replace(i, peek=True) if isinstance(i, c.FetchBody) else i for i in fetch)
        events = frozenset(e.name for e in group.events)
        watches.append(Watch(scope(group.filter, s.decode_mailbox), events, fetch))
    modseq = await account_modseq(s)
    views = await visible(s)
    subscribed = set(await s.store.list_subscriptions(s.account.id))
    shared_names = frozenset(v.name for v in views if not v.owned and v.may("l"))
    s.notify = state = Notifications(tuple(watches), modseq, {}, shared_names)
    # Baselines only for the mailboxes watched for message events: what the client knows.
    watched = [
        v
        for v in _readable(views)
        if state.watches_messages(v.name, subscribed=v.name in subscribed)
    ]
    for v in watched:
        state.baselines[v.mailbox.id] = (v.mailbox.highestmodseq, v.mailbox.uidnext)
    if cmd.status:
        # RFC 5465 §3.1: STATUS of every mailbox with message events, before the OK.
        selected = s.selected.mailbox_id if s.selected is not None else None
        for v in sorted(watched, key=lambda v: (v.name != "INBOX", v.name)):
            if v.mailbox.id != selected:
                await s.send(await _status(s, v))
    return ok("NOTIFY completed")


async def report(s: Session, hinted: set[MailboxId | None]) -> None:
    """Sends what the watches ask for about the changes since the last report."""
    state = s.notify
    if state is None or not hinted:
        return
    # A mailbox-level hint (None) sends us to the account's mailbox change log; the log,
    # not the hint, says what changed, so coalesced hints lose nothing.
    lines = await _mailbox_changes(s, state) if None in hinted else []
    selected = s.selected.mailbox_id if s.selected is not None else None
    hinted_mailboxes = sorted(m for m in hinted if m is not None and m != selected)
    if not hinted_mailboxes:
        if lines:
            await s.send(b"".join(lines))
        return
    views = _Views(s)
    for mailbox_id in hinted_mailboxes:
        view, subscribed = await views.get(mailbox_id)
        line = await _message_changes(s, state, view, mailbox_id, subscribed)
        if line:
            lines.append(line)
    if lines:
        await s.send(b"".join(lines))


class _Views:
    """The hinted mailboxes as the user sees them now, and whether they subscribed to them:
    one read for a mailbox of their own; the shared ones and the subscriptions read once
    per report, and only if a shared mailbox was hinted (roost.notify.many)."""

    def __init__(self, s: Session) -> None:
        self._s = s
        self._shared: dict[MailboxId, Visible] | None = None
        self._subscribed: set[str] | None = None

    async def get(self, mailbox_id: MailboxId) -> tuple[Visible | None, bool]:
        s = self._s
        assert s.account is not None
        try:
            mailbox = await s.store.get_mailbox(mailbox_id)
        except MailError:
            return None, False  # deleted since: its LIST said so
        if mailbox.account_id == s.account.id:
            return Visible(
                name=mailbox.name, mailbox=mailbox, rights=ALL_RIGHTS
            ), mailbox.subscribed
        if self._shared is None:
            self._shared = {v.mailbox.id: v for v in _readable(await shared(s))}
            self._subscribed = set(await s.store.list_subscriptions(s.account.id))
        view = self._shared.get(mailbox_id)
        assert self._subscribed is not None
        return view, view is not None and view.name in self._subscribed


async def _status(s: Session, mailbox: Visible) -> bytes:
    # RFC 5465 §5.1-§5.3: MESSAGES (expunges), UIDNEXT and UIDVALIDITY (new mail), UNSEEN
    # and, once CONDSTORE is on, HIGHESTMODSEQ (flag changes).
    items: tuple[str, ...] = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN")
    if s.condstore:
        items += ("HIGHESTMODSEQ",)
    assert s.account is not None
    viewer = s.account.id if mailbox.private_seen else None
    status = await s.store.status(mailbox.mailbox.id, viewer=viewer)
    return status_line(s, status, items, mailbox.name)


async def _message_changes(
    s: Session,
    state: Notifications,
    view: Visible | None,
    mailbox_id: MailboxId,
    subscribed: bool,
) -> bytes:
    """view: the mailbox as the user sees it now (None: deleted since, or no longer one
    they may look up and read; its LIST said so)."""
    if view is None:
        state.baselines.pop(mailbox_id, None)
        return b""
    mailbox, name = view.mailbox, view.name
    if not state.watches_messages(name, subscribed=subscribed):
        state.baselines.pop(mailbox_id, None)
        return b""
    base = state.baselines.get(mailbox_id)
    state.baselines[mailbox_id] = (mailbox.highestmodseq, mailbox.uidnext)
    if base is None:
        # Newly watched (created, subscribed or renamed into a watch since NOTIFY SET):
        # its state is news. Every message watch has MessageNew (RFC 5465 §5).
        return await _status(s, view)
    modseq, uidnext = base
    if mailbox.highestmodseq <= modseq:
        return b""
    assert s.account is not None
    viewer = s.account.id if view.private_seen else None
    changes = await s.store.changes_since(mailbox_id, modseq, viewer=viewer)
    state.baselines[mailbox_id] = (changes.highestmodseq, changes.uidnext)
    happened = set()
    if changes.uidnext > uidnext:
        happened.add("MessageNew")
    if changes.expunged:
        happened.add("MessageExpunge")
    if any(m.uid < uidnext for m in changes.changed):
        happened.add("FlagChange")
    watch = state.watch_for(name, subscribed=subscribed, selected=None)
    assert watch is not None
    return await _status(s, view) if happened & watch.events else b""


async def _shared_changes(s: Session, state: Notifications) -> list[bytes]:
    """Issue 15: a shared mailbox the user may now look up (a right granted, a mailbox made
    in a team) is news as a new name, one they may no longer as a deleted one (RFC 5465
    §5.4)."""
    now = frozenset(v.name for v in await shared(s) if v.may("l"))
    if now == state.shared:
        return []
    lines = []
    for name in sorted(now ^ state.shared):
        watch = state.watch_for(name, subscribed=False, selected=None)
        if watch is not None and "MailboxName" in watch.events:
            attrs = "" if name in now else "\\NonExistent"
            lines.append(untagged(f'LIST ({attrs}) "/" '.encode() + s.render_mailbox(name)))
    state.shared = now
    return lines


async def _mailbox_changes(s: Session, state: Notifications) -> list[bytes]:
    assert s.account is not None
    modseq, changes = await s.store.mailbox_changes_since(s.account.id, state.account_modseq)
    state.account_modseq = modseq
    subscribed: set[str] | None = None
    if changes and any(w.scope.kind == "SUBSCRIBED" for w in state.watches):
        subscribed = set(await s.store.list_subscriptions(s.account.id))
    selected = s.selected
    selected_name = None
    if selected is not None:
        selected_name = next(
            (ch.name for ch in changes if ch.mailbox_id == selected.mailbox_id), None
        )
    lines = []
    for change in changes:
        _track(state, change)
        event = "MailboxName" if change.kind in _NAME_CHANGES else "SubscriptionChange"
        names = [change.name] + ([change.old_name] if change.old_name else [])
        for name in names:
            # An unsubscription is news to a SUBSCRIBED watch: the name was subscribed.
            is_subscribed = event == "SubscriptionChange" or (
                subscribed is not None and name in subscribed
            )
            watch = state.watch_for(name, subscribed=is_subscribed, selected=selected_name)
            if watch is not None and event in watch.events:
                lines.append(_list_line(s, change))
                break
    return lines + await _shared_changes(s, state)


def _track(state: Notifications, change: MailboxChange) -> None:
    if change.mailbox_id is not None and change.kind is MailboxChangeKind.DELETED:
        state.baselines.pop(change.mailbox_id, None)


def _list_line(s: Session, change: MailboxChange) -> bytes:
    """RFC 5465 §5.4: LIST for a new name, with OLDNAME after a rename (RFC 5465 §5.4,
    RFC 9051 §7.3.1) and \\NonExistent after a delete; §5.5: LIST with or without
    \\Subscribed after a (un)subscription."""
    kind = change.kind
    attrs: list[str] = []
    if kind is MailboxChangeKind.DELETED:
        attrs.append("\\NonExistent")
    elif kind is MailboxChangeKind.SUBSCRIBED:
        attrs.append("\\Subscribed")
    subscription = kind in (MailboxChangeKind.SUBSCRIBED, MailboxChangeKind.UNSUBSCRIBED)
    if subscription and change.mailbox_id is None:
        attrs.append("\\NonExistent")
    line = f'LIST ({" ".join(attrs)}) "/" '.encode() + s.render_mailbox(change.name)
    if kind is MailboxChangeKind.RENAMED and change.old_name is not None:
        line += b' ("OLDNAME" (' + s.render_mailbox(change.old_name) + b"))"
    return untagged(line)
