"""One IMAP connection's state machine (RFC 9051 §3) and command dispatch.

Theory of operation
-------------------
The server feeds the session raw bytes (`feed`); the session's Receiver turns them into
events. Each command's entry in roost.imap.commands.COMMANDS says which states may run it
and which function handles it; the session checks the one and calls the other, and answers
with the tagged
`Reply` the handler returns. Before that reply the session reports what other devices
changed in the selected mailbox (a pull from the store's change log; RFC 9051 §7.5.1 decides
whether expunges may be included). During IDLE the server calls `push` whenever the
notifier hints at a change, and `keepalive` on a timer. After NOTIFY SET (RFC 5465) the
hints also name other mailboxes of the account to report on, at once during IDLE and
before each tagged reply otherwise (roost.imap.commands.notify).

Errors are mapped once here: ProtocolError -> BAD, MailError -> NO [CODE], anything else
is a bug -> logged with its traceback, NO [SERVERBUG] with a fixed text.
"""

from __future__ import annotations

import dataclasses
import logging
import ssl
import time
from collections.abc import Awaitable
from typing import Protocol

from roost.auth.connections import Place
from roost.auth.plaintext import password_allowed
from roost.auth.throttle import Throttle
from roost.config import Config
from roost.errors import MailError, MailErrorKind, ProtocolError
from roost.imap import contexts
from roost.imap.access import Visible
from roost.imap.codes import code_for
from roost.imap.commands import COMMANDS
from roost.imap.commands.auth import finish_authenticate
from roost.imap.commands.fetch import fetch_new
from roost.imap.commands.general import capabilities
from roost.imap.commands.notify import Notifications, report
from roost.imap.reply import ANSWERED, Reply, bad, no, ok
from roost.imap.selected import Reporting, SelectedMailbox
from roost.imap.states import NOT_AUTHENTICATED, State
from roost.model import AccountId, Uid
from roost.notify.api import Notifier
from roost.notify.many import Listeners
from roost.proto.imap import commands as c
from roost.proto.imap import mutf7
from roost.proto.imap.receiver import (
    NEED_DATA,
    BadCommand,
    Fatal,
    NeedLiteral,
    RawLine,
    Receiver,
)
from roost.proto.imap.responses import continuation, tagged, untagged, untagged_status
from roost.proto.imap.strings import render_string
from roost.sessions import LiveSession
from roost.spool import MemoryBudget, SpoolFiles, spool_directory
from roost.store.api import IMAP_CLIENT, IMAP_CLIENT_TYPE, Account, Store

log = logging.getLogger("roost.imap")

# The largest literal taken before login (LOGIN's user name and password).
PRE_AUTH_LITERAL = 8 * 1024
# Issue 9: a connection that has not logged in and sent this many commands answered BAD is
# not a mail client (a scanner, or a protocol it mistook for IMAP): BYE.
MAX_BAD_BEFORE_LOGIN = 10


MAX_CLIENT_NAME = 200  # characters of an IMAP ID name kept as a device's (RFC 2971 allows 1024)
# Queued responses past this many bytes are written at once (see Session.send).
FLUSH_AT = 64 * 1024


class Connection(Protocol):
    """What the session needs from the socket side."""

    secure: bool  # TLS is active
    loopback: bool  # the peer is on this machine

    @property
    def compressing(self) -> bool: ...

    async def write(self, data: bytes) -> None: ...
    async def start_tls(self) -> None: ...
    def start_compression(self, buffered: bytes) -> bytes: ...


def _may_expunge(command: c.Command) -> bool:
    # RFC 9051 §7.5.1: no EXPUNGE while answering FETCH, STORE or SEARCH by sequence
    # number (the UID forms are fine, and so is everything else); SORT and THREAD answer
    # with sequence numbers too (RFC 5256).
    if isinstance(command, c.Fetch | c.Store | c.Search | c.Sort | c.Thread):
        return command.uid
    return True


class Session:
    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        config: Config,
        connection: Connection,
        tls_available: bool,
        live: LiveSession | None = None,
        inflight: MemoryBudget | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.tls_available = tls_available
        self.throttle = throttle  # failed logins, server-wide (roost.auth.throttle)
        # This connection's place in the per-address and per-account counts (set by the
        # server; roost.auth.connections); None: not counted.
        self.place: Place | None = None
        # The operator's view of this connection: log lines, metrics (roost.sessions).
        self.live = live if live is not None else LiveSession(protocol="imap", peer="local")
        self.store = store
        self.notifier = notifier
        self.config = config
        self.conn = connection
        # Issue 9: the server-wide budget of message bytes in memory (roost.spool), shared
        # with the other sessions and SMTP; this session's own, when run alone.
        self.inflight = (
            inflight if inflight is not None else MemoryBudget(config.max_inflight_bytes)
        )
        # Large literals (APPENDed messages) go to files as they arrive, closed after the
        # command that took them.
        self.spools = SpoolFiles(spool_directory(config.data_dir))
        # Issue 9: before login no command needs a literal larger than a user name or a
        # password, so a stranger cannot make the server hold megabytes.
        self.receiver = Receiver(
            max_line=config.max_line_length,
            max_literal=min(PRE_AUTH_LITERAL, config.max_message_size),
            spool=self.spools.new,
        )
        self.state = State.NOT_AUTHENTICATED
        self.account: Account | None = None
        self.selected: SelectedMailbox | None = None
        # The selected mailbox as this user sees it: its name and their rights (issue 15).
        self.access: Visible | None = None
        self.listener: Listeners | None = None
        self.notify: Notifications | None = None  # NOTIFY SET (RFC 5465)
        self.rev2 = False  # ENABLE IMAP4rev2
        self.utf8 = False  # ENABLE UTF8=ACCEPT (implied by IMAP4rev2)
        self.condstore = False  # RFC 7162 §3.1: any CONDSTORE-enabling command turns it on
        self.qresync = False  # ENABLE QRESYNC (implies CONDSTORE)
        self.uidonly = False  # ENABLE UIDONLY (RFC 9586): no sequence numbers either way
        self.idling: str | None = None  # the tag of the IDLE in progress
        self.pending_auth: str | None = None  # tag of an AUTHENTICATE awaiting its response
        self.bad_before_login = 0
        self.closed = False
        self._unsent: list[bytes] = []  # responses queued by send, written by flush
        self._unsent_bytes = 0

    # --- I/O entry points ---------------------------------------------------------
    async def greet(self) -> None:
        caps = " ".join(capabilities(self))
        await self.send(untagged(f"OK [CAPABILITY {caps}] Roost ready"))
        await self.flush()

    async def feed(self, data: bytes) -> None:
        self.receiver.receive_data(data)
        while not self.closed:
            event = self.receiver.next_event()
            if event is NEED_DATA:
                break
            await self._event(event)
        await self.flush()  # the client waits for these before it sends more

    async def still_readable(self) -> bool:
        """Issue 15: rights on a shared selected mailbox are read again before each command
        and each push, so a right taken away takes effect at once. Without "r" the session
        can show nothing more of the mailbox and ends with a BYE, as when it is deleted."""
        access = self.access
        if access is None or access.owned or self.account is None:
            return True
        rights = await self.store.mailbox_rights(self.account.id, access.mailbox.id)
        if "r" in rights:
            self.access = dataclasses.replace(access, rights=rights)
            return True
        await self.send(untagged_status("BYE", "Access to the selected mailbox was revoked"))
        self.close()
        return False

    def watch(self, accounts: set[AccountId]) -> None:
        """Hears the hints of these accounts too (owners of mailboxes shared with us)."""
        if self.listener is not None:
            self.listener.watch(accounts)

    async def push(self) -> None:
        """Notifier woke us during IDLE: report what changed, at once (or the BYE of an
        account deleted or a read right revoked meanwhile)."""
        await self._report_changes()
        await self.flush()

    async def _report_changes(self) -> None:
        hinted = self.listener.drain() if self.listener is not None else set()
        if None in hinted and not await self._account_exists():
            return
        if not await self.still_readable():
            return
        await self.sync(allow_expunge=True)
        if self.notify is not None and not self.closed:
            await report(self, hinted)

    async def keepalive(self) -> None:
        await self.send(untagged("OK Still here"))
        await self.flush()

    async def send(self, data: bytes) -> None:
        """Queues a response for the client. It goes out with the rest at `flush`: with the
        tagged reply that completes a command, before the session waits for the client, or
        at once past FLUSH_AT bytes (a large FETCH still streams with back-pressure): one
        write and one system call per command rather than one per untagged line (issue 17)."""
        if self.selected is not None:
            # RFC 9051 §7.3.5: a keyword the client has not heard of is announced in FLAGS
            # before the responses that carry it (see roost.imap.selected).
            data = self.selected.announcement() + data
        self._unsent.append(data)
        self._unsent_bytes += len(data)
        if self._unsent_bytes >= FLUSH_AT:
            await self.flush()

    async def flush(self) -> None:
        """Writes what `send` queued. Called at each tagged reply, before the session waits
        for the client (the end of `feed`, IDLE's pushes) and before the connection changes
        under it (STARTTLS, COMPRESS: their OK goes out as it is)."""
        if not self._unsent:
            return
        data = b"".join(self._unsent)
        self._unsent.clear()
        self._unsent_bytes = 0
        await self.conn.write(data)

    # --- events -------------------------------------------------------------------
    async def _event(self, event: object) -> None:
        if isinstance(event, NeedLiteral):
            await self.send(continuation("Ready"))
        elif isinstance(event, BadCommand):
            self.spools.close_all()
            self.live.protocol_error(event.text)
            # A continuation line too long to take (a SASL response, IDLE's DONE) ends the
            # command waiting for it: it gets the BAD, not a later command.
            waiting = self.pending_auth or self.idling
            self.pending_auth = self.idling = None
            if waiting is not None:
                await self.send(tagged(waiting, "BAD", event.text))
            elif event.tag is None:
                await self.send(untagged_status("BAD", event.text))
            else:
                await self.send(tagged(event.tag, "BAD", event.text))
            await self._count_bad()
        elif isinstance(event, Fatal):
            self.spools.close_all()
            await self.send(untagged_status("BYE", event.text))
            self.closed = True
        elif isinstance(event, RawLine):
            await self._raw_line(event.line)
        elif isinstance(event, c.Command):
            try:
                await self._command(event)
            finally:
                self.spools.close_all()

    async def _raw_line(self, line: bytes) -> None:
        if self.idling is not None:
            tag, self.idling = self.idling, None
            if line.strip().upper() == b"DONE":
                await self._finish(tag, ok("IDLE terminated"), allow_expunge=True)
            else:
                await self.send(tagged(tag, "BAD", "expected DONE"))
        elif self.pending_auth is not None:
            tag, self.pending_auth = self.pending_auth, None
            await self._finish(tag, await self._guard(finish_authenticate(self, line)))
        else:
            await self.send(untagged_status("BAD", "unexpected continuation"))

    async def _command(self, command: c.Command) -> None:
        entry = COMMANDS[type(command)]
        if self.state not in entry.states:
            reply = bad(_state_error(self.state, entry.states))
        elif self.uidonly and uses_sequence_numbers(command):
            # RFC 9586 §3.1: after ENABLE UIDONLY, sequence numbers are an error.
            reply = bad("Use UIDs: UIDONLY is enabled", "UIDREQUIRED")
        elif not await self.still_readable():
            return  # a BYE went out: the selected mailbox's "r" was taken away
        else:
            started = time.monotonic()
            reply = await self._guard(entry.run(self, command))
            self.live.command(type(command).__name__.upper(), time.monotonic() - started)
        if reply is not ANSWERED:
            await self._finish(command.tag, reply, allow_expunge=_may_expunge(command))
        if self.state is State.LOGOUT:
            self.close()

    async def _guard(self, call: Awaitable[Reply]) -> Reply:
        try:
            return await call
        except (ConnectionError, ssl.SSLError):
            raise  # the connection failed (a reset, a STARTTLS handshake): not a bug
        except ProtocolError as exc:
            return bad(exc.text)
        except MailError as exc:
            return no(exc.text, code_for(exc))
        except Exception:
            log.exception("bug while handling a command")
            return no("Internal error; the incident was logged", "SERVERBUG")

    async def _finish(self, tag: str, reply: Reply, *, allow_expunge: bool = True) -> None:
        if self.selected is not None and reply.status != "BAD":
            await self.sync(allow_expunge=allow_expunge)
            if self.closed:
                return  # a BYE went out instead (the mailbox was deleted)
        if self.state is not State.LOGOUT:
            # RFC 5465 §3: NOTIFY events may go out whenever untagged responses may.
            await self.report_notifications()
        await self.send(tagged(tag, reply.status, reply.text, reply.code))
        await self.flush()  # each command's answer as soon as it is complete
        if reply.status == "BAD":
            await self._count_bad()

    async def _count_bad(self) -> None:
        if self.state is not State.NOT_AUTHENTICATED or self.closed:
            return
        self.bad_before_login += 1
        if self.bad_before_login >= MAX_BAD_BEFORE_LOGIN:
            # RFC 9051 §7.1.5: BYE, then the server closes the connection.
            await self.send(untagged_status("BYE", "Too many bad commands; closing"))
            self.close()

    # --- selected-mailbox sync -----------------------------------------------------
    async def _account_exists(self) -> bool:
        """After a change of the account itself: an account deleted (by the roost CLI, in
        another process, say) ends its sessions with a BYE."""
        assert self.account is not None
        now = await self.store.find_account(self.account.address)
        if now is not None and now.id == self.account.id:
            return True
        await self.send(untagged_status("BYE", "This account was deleted"))
        self.close()
        return False

    async def sync(self, *, allow_expunge: bool) -> None:
        view = self.selected
        if view is None:
            return
        try:
            changes = await self.store.changes_since(
                view.mailbox_id, view.modseq, viewer=view.viewer
            )
        except MailError as exc:
            if exc.kind is not MailErrorKind.NONEXISTENT:
                raise
            # Another session (or the roost CLI) deleted the selected mailbox; its messages
            # are gone and no response can say so, so the connection ends (as Dovecot's).
            await self.send(untagged_status("BYE", "The selected mailbox was deleted"))
            self.close()
            return
        if not changes.complete_since(view.modseq):
            # Tombstones this view needed were folded (roost.store.mail.retention): what it
            # shows that is no longer there was expunged.
            present, _ = await self.store.uids(view.mailbox_id)
            gone = sorted(set(view.uids) - set(present))
            changes = dataclasses.replace(changes, expunged=tuple(Uid(u) for u in gone))
        found = None
        if view.contexts and (changes.changed or changes.expunged):
            found = await contexts.rerun(self.store, view)  # RFC 5267 §4
        report = self.reporting()
        new = view.new_uids(changes)
        if new and report.recent and not view.readonly:
            # IMAP4rev1: the new messages are recent to us unless a session claimed them;
            # what we claim now and learn of later stays recent to us (selected.py).
            view.claim_recent(*await self.store.claim_recent(view.mailbox_id))
        # REMOVEFROM numbers messages as they are before this sync's EXPUNGEs; ADDTO comes
        # after the EXISTS that announced the new ones.
        removed = contexts.removals(view, found) if found is not None else b""
        lines = view.apply(changes, allow_expunge=allow_expunge, report=report)
        if found is not None:
            lines = [line for line in (removed, *lines, contexts.additions(view, found)) if line]
        if lines:
            await self.send(b"".join(lines))
        if new and self.notify is not None and self.notify.new_message_fetch:
            # RFC 5465 §5.1: MessageNew (fetch-att ...) for the selected mailbox.
            await fetch_new(self, view, self.notify.new_message_fetch, new)

    async def report_notifications(self) -> None:
        """NOTIFY: what changed in the account's other mailboxes (hints since the last
        report); a session without NOTIFY leaves its hints for the IDLE loop."""
        if self.notify is not None and self.listener is not None:
            await report(self, self.listener.drain())

    async def enable_condstore(self) -> None:
        """A CONDSTORE-enabling command (RFC 7162 §3.1): the first one in the selected
        state is answered with an untagged OK [HIGHESTMODSEQ] (SELECT and EXAMINE report
        it themselves)."""
        if self.condstore:
            return
        self.condstore = True
        if self.selected is not None:
            await self.send(untagged(f"OK [HIGHESTMODSEQ {self.selected.modseq}] Highest"))

    # --- helpers for handlers --------------------------------------------------------
    def reporting(self) -> Reporting:
        # RFC 9586 §3.2: after ENABLE UIDONLY expunges are VANISHED, as with QRESYNC.
        vanished = self.qresync or self.uidonly
        return Reporting(recent=not self.rev2, modseq=self.condstore, vanished=vanished)

    def decode_mailbox(self, name: str, *, new: bool = False) -> str:
        """A mailbox name as the client sent it -> the store's UTF-8 name. A name that is
        not valid modified UTF-7 names no mailbox: NO [NONEXISTENT], or NO [CANNOT] for a
        `new` one (CREATE, RENAME's target), as Dovecot answers; not BAD, since the
        command itself is well formed."""
        if not self.utf8:
            try:
                name = mutf7.decode(name)
            except ProtocolError as exc:
                kind = MailErrorKind.CANNOT if new else MailErrorKind.NONEXISTENT
                raise MailError(kind, f"No such mailbox name: {exc.text}") from None
        name = name.rstrip("/") if name not in ("", "/") else name
        if name.upper() == "INBOX":
            return "INBOX"
        return name

    def decode_list_name(self, name: str) -> str:
        """A LIST reference or pattern: decoded, but kept as typed (wildcards and all). A
        pattern that is not valid modified UTF-7 is kept as sent: it matches no name an
        IMAP4rev1 client could see, so LIST answers OK with nothing (as Dovecot does)."""
        if self.utf8:
            return name
        try:
            return mutf7.decode(name)
        except ProtocolError:
            return name

    def encode_mailbox(self, name: str) -> str:
        return name if self.utf8 else mutf7.encode(name)

    def render_mailbox(self, name: str) -> bytes:
        """A store name as a response mailbox: UTF-8 quoted for IMAP4rev2 / UTF8=ACCEPT
        clients (RFC 9051 §9 utf8-quoted), modified UTF-7 for the others."""
        return render_string(self.encode_mailbox(name).encode(), utf8=self.utf8)

    def may_authenticate(self) -> bool:
        """RFC 9051 §6.2.3: no cleartext passwords on the wire, except from this machine."""
        return password_allowed(
            secure=self.conn.secure,
            loopback=self.conn.loopback,
            allow_on_loopback=self.config.allow_plaintext_auth_on_loopback,
        )

    def select(self, view: SelectedMailbox, access: Visible) -> None:
        view.uidonly = self.uidonly
        self.selected = view
        self.access = access
        self.state = State.SELECTED

    def deselect(self) -> None:
        self.selected = None
        self.access = None
        self.state = State.AUTHENTICATED

    def logged_in(self, account: Account) -> None:
        self.receiver.limit_literals(self.config.max_message_size)
        self.account = account
        self.state = State.AUTHENTICATED
        self.listener = Listeners(self.notifier, account.id)

    async def remember_client(self) -> None:
        """A logged-in client that said who it is (IMAP ID) is one of the account's devices:
        `roost devices` lists it beside the ActiveSync ones (issue 16)."""
        name = self.live.client
        if self.account is None or not name:
            return
        name = name[:MAX_CLIENT_NAME]
        seen = f"{name} from {self.live.peer}" if self.live.peer else name
        device = IMAP_CLIENT + name
        await self.store.device_seen(self.account.id, device, IMAP_CLIENT_TYPE, seen)

    def close(self) -> None:
        self.spools.close_all()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        self.closed = True


def uses_sequence_numbers(command: c.Command) -> bool:
    """Whether a command names messages by sequence number (RFC 9586 §3.1): the non-UID
    forms, a sequence-set search key, and QRESYNC's seq-match-data."""
    if isinstance(command, c.Fetch | c.Store | c.Copy | c.Replace):
        return not command.uid
    if isinstance(command, c.Search):
        return not command.uid or _has_sequence_key(command.key)
    if isinstance(command, c.Select):
        return command.qresync is not None and command.qresync.seq_match is not None
    return False


def _has_sequence_key(key: c.SearchKey) -> bool:
    # "$" (SEARCHRES) holds UIDs, so only a literal sequence set counts.
    if isinstance(key, c.SeqKey):
        return not key.seqset.saved
    return any(map(_has_sequence_key, c.subkeys(key)))


def _state_error(state: State, allowed: frozenset[State]) -> str:
    if state is State.NOT_AUTHENTICATED:
        return "Log in first"
    if allowed == NOT_AUTHENTICATED:
        return "Already authenticated"
    return "No mailbox selected"
