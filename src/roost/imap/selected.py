"""One device's view of its selected mailbox: sequence numbers <-> UIDs, and the changes it
has not yet been told about. Pure: no I/O, no store; the session feeds it `Changes`.

Theory of operation
-------------------
The view is an ascending array of UIDs; the message sequence number of a UID is its index
plus one. The view only changes when the session reports it to the client: new messages
are appended (EXISTS), expunged ones removed (EXPUNGE). RFC 9051 §7.5.1 forbids EXPUNGE
while answering FETCH, STORE or SEARCH by sequence number, so expunges the session may
not yet report are kept pending and the messages stay in the view (a FETCH of them answers
from whatever the store still has, or nothing). Flag changes this session caused and
already reported itself are not reported twice.

Keywords (RFC 9051 §7.3.5): FLAGS and PERMANENTFLAGS at SELECT list the keywords defined
in the mailbox (Store.keywords, which only grows); the view remembers them and never forgets
one (a client drops a keyword from its list only when FLAGS no longer names it). It learns
new ones from each sync's Changes and from every flag list it renders (`_flags`: a FETCH
reads flags newer than the last sync); the session sends `announcement()` (an untagged
FLAGS and PERMANENTFLAGS) ahead of the bytes that carry a keyword the client has not been
told of, so a client never sees a keyword in a FETCH before it sees it in FLAGS, whichever
device set it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from roost.model import (
    DELETED,
    SEEN,
    SYSTEM_FLAGS,
    AccountId,
    MailboxId,
    ModSeq,
    Msn,
    Uid,
    UidValidity,
)
from roost.proto.imap.responses import flag_list
from roost.proto.imap.seqset import SeqSet, compress
from roost.store.api import Changes, MessageFlags

if TYPE_CHECKING:
    from roost.imap.contexts import SearchContext

ANY_KEYWORD = "\\*"  # in PERMANENTFLAGS: the client may create keywords (RFC 9051 §7.1)


@dataclass(frozen=True, slots=True)
class Reporting:
    """What this client has asked to hear (fixed per command)."""

    recent: bool = True  # IMAP4rev1: RECENT counts and the \\Recent flag
    modseq: bool = False  # CONDSTORE enabled: MODSEQ in every flag-change FETCH
    vanished: bool = False  # QRESYNC enabled: VANISHED instead of EXPUNGE


class SelectedMailbox:
    __slots__ = (
        "_keywords",
        "_pending_expunge",
        "_recent",
        "_reported",
        "_unannounced",
        "contexts",
        "mailbox_id",
        "modseq",
        "readonly",
        "recent_reported",
        "saved",
        "uidonly",
        "uids",
        "uidvalidity",
        "viewer",
        "writable",
    )

    def __init__(
        self,
        *,
        mailbox_id: MailboxId,
        uidvalidity: UidValidity,
        uids: Iterable[int],
        modseq: ModSeq,
        readonly: bool,
        recent: tuple[int, int] = (0, 0),
        keywords: Iterable[str] = (),
        viewer: AccountId | None = None,
        writable: str = "stw",
    ) -> None:
        self.mailbox_id = mailbox_id
        # Issue 15: in a team mailbox, the member whose own \Seen the store reads and
        # changes (roost.store.mail.private); None elsewhere.
        self.viewer = viewer
        # RFC 4314 §4: which flags the user may change, by right: "s" \Seen, "t" \Deleted,
        # "w" the others (PERMANENTFLAGS says so).
        self.writable = writable
        self.uidvalidity = uidvalidity
        self.uids = array("I", uids)
        self.modseq = modseq
        self.readonly = readonly
        # IMAP4rev1 \Recent (RFC 3501 §2.3.2): only the first session to see a message
        # calls it recent. The uid ranges [lo, hi) this session claimed from the store (at
        # SELECT, then as new mail came), merged when they touch; a claimed message may
        # reach the view later than the claim.
        self._recent: list[tuple[int, int]] = []
        self.claim_recent(*recent)
        self.recent_reported = self.recent_count()  # the last RECENT the client heard
        self._pending_expunge: set[int] = set()
        self._reported: dict[int, int] = {}  # uid -> modseq of a change we reported
        self.saved: list[int] = []  # SEARCHRES: uids saved by SEARCH RETURN (SAVE)
        self.uidonly = False  # RFC 9586: messages are named by UID alone (UIDFETCH)
        self.contexts: dict[str, SearchContext] = {}  # RFC 5267 SEARCH RETURN (UPDATE), by tag
        self._keywords: dict[str, str] = {}  # casefolded -> as first seen; only grows
        self._unannounced = False  # a keyword was rendered that FLAGS has not named yet
        self.learn(keywords)
        self._unannounced = False

    @property
    def exists(self) -> int:
        return len(self.uids)

    def msn(self, uid: int) -> Msn | None:
        i = bisect_left(self.uids, uid)
        if i < len(self.uids) and self.uids[i] == uid:
            return Msn(i + 1)
        return None

    def uid(self, msn: int) -> Uid:
        return Uid(self.uids[msn - 1])

    def resolve(self, seqset: SeqSet, *, uid: bool) -> list[Uid]:
        """The UIDs in the view named by a sequence set (by UID or by sequence number).

        RFC 9051 §6.4.8: a UID range need not exist; "*" is the largest UID in use.
        Sequence numbers past the end are the caller's BAD (see `valid_msns`).
        """
        if seqset.saved:
            return [Uid(u) for u in self.saved if self.msn(u) is not None]
        if not self.uids:
            return []
        out: set[int] = set()
        if uid:
            for lo, hi in seqset.resolve(self.uids[-1]):
                start = bisect_left(self.uids, lo)
                stop = bisect_left(self.uids, hi + 1)
                out.update(self.uids[start:stop])
        else:
            for lo, hi in seqset.resolve(len(self.uids)):
                out.update(self.uids[lo - 1 : hi])
        return [Uid(u) for u in sorted(out)]

    def valid_msns(self, seqset: SeqSet) -> bool:
        if seqset.saved:
            return True
        largest = len(self.uids)
        return all(hi <= largest for _, hi in seqset.resolve(largest)) and largest > 0

    def note_reported(self, uid: Uid, modseq: ModSeq) -> None:
        """This session already told its client about this change (STORE without .SILENT
        answers with the new flags; with .SILENT the client asked not to hear it)."""
        self._reported[uid] = modseq

    def apply(self, changes: Changes, *, allow_expunge: bool, report: Reporting) -> list[bytes]:
        """Turns store changes into untagged responses and updates the view."""
        out: list[bytes] = []
        # Keywords defined since (some perhaps on messages already expunged): every session
        # of the mailbox names the same ones. Announced ahead of this output by the session.
        self.learn(changes.keywords)
        last = self.uids[-1] if self.uids else 0
        self._pending_expunge.update(u for u in changes.expunged if self.msn(u) is not None)
        expunged = allow_expunge and bool(self._pending_expunge)
        if expunged:
            out += self._expunge(report)
        new = [m.uid for m in changes.changed if m.uid > last]
        if new:
            self.uids.extend(new)
            out.append(b"* %d EXISTS\r\n" % len(self.uids))
        if report.recent and (new or expunged):
            # With new mail, and also when expunges lowered it (as Dovecot does): a client
            # cannot tell from EXPUNGE alone whether the message was recent.
            recent = self.recent_count()
            if new or recent != self.recent_reported:
                out.append(b"* %d RECENT\r\n" % recent)
            self.recent_reported = recent
        for m in changes.changed:
            if m.uid > last or self._reported.get(m.uid) == m.modseq:
                continue
            line = self.flag_fetch(m, report)
            if line:
                out.append(line)
        self._reported.clear()
        self.modseq = max(self.modseq, changes.highestmodseq)
        return out

    def _expunge(self, report: Reporting) -> list[bytes]:
        gone = sorted(u for u in self._pending_expunge if self.msn(u) is not None)
        self._pending_expunge.clear()
        out = []
        # Highest first, so each number sent is still valid when the client reads it.
        for uid in reversed(gone):
            msn = self.msn(uid)
            assert msn is not None
            del self.uids[msn - 1]
            if not report.vanished:
                out.append(b"* %d EXPUNGE\r\n" % msn)
        if report.vanished and gone:
            # RFC 7162 §3.2.10: after ENABLE QRESYNC, VANISHED replaces EXPUNGE.
            out.append(b"* VANISHED " + compress(gone) + b"\r\n")
        self._forget_empty_recent()
        return out

    def _forget_empty_recent(self) -> None:
        """Drops the claimed ranges that hold no message of the view and never will (all
        their uids are below the view's last): a long session that claims a little of each
        delivery would otherwise count through one range per delivery it ever claimed."""
        uids = self.uids
        last = uids[-1] if uids else 0
        self._recent = [
            (lo, hi)
            for lo, hi in self._recent
            if hi - 1 > last or bisect_left(uids, hi) > bisect_left(uids, lo)
        ]

    def flag_fetch(self, m: MessageFlags, report: Reporting) -> bytes:
        """`* n FETCH (UID u FLAGS (...) [MODSEQ (m)])` for a message in the view, or b""."""
        msn = self.msn(m.uid)
        if msn is None:
            return b""
        line = self.fetch_head(m.uid) + b"FLAGS %s" % self._flags(m.flags, m.uid).encode()
        if report.modseq:
            line += b" MODSEQ (%d)" % m.modseq  # RFC 7162 §3.1.2.1
        return line + b")\r\n"

    def fetch_head(self, uid: int) -> bytes:
        """`* n FETCH (UID u ` — or, after ENABLE UIDONLY, `* u UIDFETCH (` (RFC 9586 §3.3:
        the UID stands in for the sequence number, which is never sent)."""
        if self.uidonly:
            return b"* %d UIDFETCH (" % uid
        return b"* %d FETCH (UID %d " % (self.msn(uid) or 0, uid)

    def new_uids(self, changes: Changes) -> list[int]:
        last = self.uids[-1] if self.uids else 0
        return [m.uid for m in changes.changed if m.uid > last]

    def claim_recent(self, first: int, end: int) -> None:
        """The uids [first, end) are recent to this session (Store.claim_recent)."""
        if first >= end:
            return
        if self._recent and self._recent[-1][1] >= first:
            lo, hi = self._recent[-1]
            self._recent[-1] = (min(lo, first), max(hi, end))
        else:
            self._recent.append((first, end))

    def is_recent(self, uid: int) -> bool:
        return any(lo <= uid < hi for lo, hi in self._recent)

    def recent_count(self) -> int:
        uids = self.uids
        return sum(bisect_left(uids, hi) - bisect_left(uids, lo) for lo, hi in self._recent)

    def recent_ranges(self) -> list[tuple[int, int]]:
        """The recent uids as inclusive ranges (a SEARCH RECENT)."""
        return [(lo, hi - 1) for lo, hi in self._recent]

    # --- keywords (RFC 9051 §7.3.5) ------------------------------------------------------
    def learn(self, flags: Iterable[str]) -> None:
        """Notes the keywords among flags; those new to the client are announced next."""
        for flag in flags:
            if not flag.startswith("\\"):
                folded = flag.casefold()
                if folded not in self._keywords:
                    self._keywords[folded] = flag
                    self._unannounced = True

    def flags_responses(self) -> bytes:
        """`* FLAGS (...)` and `* OK [PERMANENTFLAGS (...)]`: the system flags and every
        keyword the view knows; any keyword may be created (`\\*`) unless read-only."""
        keywords = sorted(self._keywords.values(), key=str.casefold)
        defined = flag_list((*SYSTEM_FLAGS, *keywords))
        if self.readonly:
            permanent = "OK [PERMANENTFLAGS ()] Read-only mailbox"
        else:
            permanent = flag_list(
                [f for f in (*SYSTEM_FLAGS, *keywords, ANY_KEYWORD) if self._may(f)]
            )
            permanent = f"OK [PERMANENTFLAGS {permanent}] Flags permitted"
        self._unannounced = False
        return b"* FLAGS %s\r\n* %s\r\n" % (defined.encode(), permanent.encode())

    def _may(self, flag: str) -> bool:
        right = {SEEN: "s", DELETED: "t"}.get(flag, "w")
        return right in self.writable

    def announcement(self) -> bytes:
        """The FLAGS responses if a keyword was rendered that the client has not been told
        of, else b"". The session sends this ahead of whatever it is about to send."""
        return self.flags_responses() if self._unannounced else b""

    def flags(self, flags: frozenset[str], uid: int) -> str:
        return self._flags(flags, uid)

    def _flags(self, flags: frozenset[str], uid: int) -> str:
        self.learn(flags)
        if self.is_recent(uid):
            return flag_list((*flags, "\\Recent"))
        return flag_list(flags)
