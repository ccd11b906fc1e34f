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

The selected mailbox keeps the RFC 9051 path (Session.sync: EXISTS, EXPUNGE under the
§7.5.1 rules, FETCH FLAGS), with the FETCH of the MessageNew fetch attributes added.
The first event group whose filter matches a mailbox decides its events, so
`(INBOXES NONE) (PERSONAL (...))` silences INBOX.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from roost.errors import MailError
from roost.imap.commands.mailboxes import account_modseq, status_line
from roost.imap.reply import Reply, bad, no, ok
from roost.imap.scopes import Scope, scope
from roost.model import MailboxId, ModSeq, Uid
from roost.proto.imap import commands as c
from roost.proto.imap.notify import MESSAGE_EVENTS
from roost.proto.imap.responses import untagged
from roost.store.api import Mailbox, MailboxChange, MailboxChangeKind

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

    __slots__ = ("account_modseq", "baselines", "watches")

    def __init__(
        self,
        watches: tuple[Watch, ...],
        account_modseq: ModSeq,
        baselines: dict[MailboxId, tuple[ModSeq, Uid]],
    ) -> None:
        self.watches = watches
        self.account_modseq = account_modseq
        self.baselines = baselines

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

    def watches_messages(self, mailbox: Mailbox, selected: str | None) -> bool:
        watch = self.watch_for(mailbox.name, subscribed=mailbox.subscribed, selected=selected)
        return watch is not None and bool(watch.events & MESSAGE_EVENTS)


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
    mailboxes = await s.store.list_mailboxes(s.account.id)
    s.notify = state = Notifications(tuple(watches), modseq, {})
    # Baselines only for the mailboxes watched for message events: what the client knows.
    for m in mailboxes:
        if state.watches_messages(m, None):
            state.baselines[m.id] = (m.highestmodseq, m.uidnext)
    if cmd.status:
        # RFC 5465 §3.1: STATUS of every mailbox with message events, before the OK.
        selected = s.selected.mailbox_id if s.selected is not None else None
        for mailbox in sorted(mailboxes, key=lambda m: (m.name != "INBOX", m.name)):
            if mailbox.id != selected and state.watches_messages(mailbox, None):
                await s.send(await _status(s, mailbox.id))
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
    for mailbox_id in sorted(m for m in hinted if m is not None and m != selected):
        line = await _message_changes(s, state, mailbox_id)
        if line:
            lines.append(line)
    if lines:
        await s.send(b"".join(lines))


async def _status(s: Session, mailbox: MailboxId) -> bytes:
    # RFC 5465 §5.1-§5.3: MESSAGES (expunges), UIDNEXT and UIDVALIDITY (new mail), UNSEEN
    # and, once CONDSTORE is on, HIGHESTMODSEQ (flag changes).
    items: tuple[str, ...] = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN")
    if s.condstore:
        items += ("HIGHESTMODSEQ",)
    return status_line(s, await s.store.status(mailbox), items)


async def _message_changes(s: Session, state: Notifications, mailbox_id: MailboxId) -> bytes:
    try:
        mailbox = await s.store.get_mailbox(mailbox_id)
    except MailError:
        state.baselines.pop(mailbox_id, None)  # deleted since: its LIST said so
        return b""
    assert s.account is not None
    if mailbox.account_id != s.account.id:
        # A shared mailbox's hint (roost.notify.many): NOTIFY watches the user's own
        # mailboxes; its store name must not be mistaken for one of theirs.
        return b""
    if not state.watches_messages(mailbox, None):
        state.baselines.pop(mailbox_id, None)
        return b""
    base = state.baselines.get(mailbox_id)
    state.baselines[mailbox_id] = (mailbox.highestmodseq, mailbox.uidnext)
    if base is None:
        # Newly watched (created, subscribed or renamed into a watch since NOTIFY SET):
        # its state is news. Every message watch has MessageNew (RFC 5465 §5).
        return await _status(s, mailbox_id)
    modseq, uidnext = base
    if mailbox.highestmodseq <= modseq:
        return b""
    changes = await s.store.changes_since(mailbox_id, modseq)
    state.baselines[mailbox_id] = (changes.highestmodseq, changes.uidnext)
    happened = set()
    if changes.uidnext > uidnext:
        happened.add("MessageNew")
    if changes.expunged:
        happened.add("MessageExpunge")
    if any(m.uid < uidnext for m in changes.changed):
        happened.add("FlagChange")
    watch = state.watch_for(mailbox.name, subscribed=mailbox.subscribed, selected=None)
    assert watch is not None
    return await _status(s, mailbox_id) if happened & watch.events else b""


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
    return lines


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
