"""A device's picture of a mailbox, built only from the untagged responses it received.

Theory of operation
-------------------
A real client keeps, per selected mailbox, the list of UIDs by sequence number and the flags
of each; it learns them from SELECT, FETCH, EXISTS, EXPUNGE and VANISHED and from nothing
else. `DeviceView` is that client: `feed(lines)` applies untagged response lines in order.
An EXISTS that grows the mailbox leaves placeholders (UID not yet known) at the end, which
the device fills by fetching them (`first_unknown`), as clients do. A QRESYNC SELECT
(RFC 7162 §3.2.5) starts from the device's cache instead: `start_resync` then `feed`, then
`finish_resync` checks that the EXISTS count matches what the cache became.

Every response is checked against what the device already knows: a sequence number past the
end, a FETCH whose UID disagrees with the UID at its sequence number, a VANISHED of a UID
the device never heard of — each is a server bug, raised as `ViewError`. `snapshot()` is
what a test compares with the server's state.
"""

from __future__ import annotations

import re

_EXISTS = re.compile(r"\* (\d+) EXISTS")
_EXPUNGE = re.compile(r"\* (\d+) EXPUNGE")
_VANISHED = re.compile(r"\* VANISHED (\(EARLIER\) )?([\d:,]+)")
_FETCH = re.compile(r"\* (\d+) FETCH \((.*)\)")
_UIDFETCH = re.compile(r"\* (\d+) UIDFETCH \((.*)\)")  # RFC 9586 §3.3
_UID = re.compile(r"(?:^| )UID (\d+)")
_FLAGS = re.compile(r"(?:^| )FLAGS \(([^)]*)\)")


class ViewError(AssertionError):
    """The server told the device something that cannot be true of its view."""


def parse_uid_set(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        a, b = int(lo), int(hi or lo)
        out.extend(range(min(a, b), max(a, b) + 1))
    return out


class DeviceView:
    __slots__ = ("exists_seen", "flags", "resyncing", "uids")

    def __init__(self) -> None:
        self.uids: list[int | None] = []  # by sequence number - 1; None: not fetched yet
        self.flags: dict[int, frozenset[str]] = {}
        self.resyncing = False
        self.exists_seen: int | None = None

    # --- starting points ---------------------------------------------------------------
    def start_select(self) -> None:
        """A plain SELECT: forget everything; EXISTS says how many placeholders."""
        self.uids, self.flags, self.resyncing = [], {}, False

    def start_resync(self, cache: dict[int, frozenset[str]]) -> None:
        """A QRESYNC SELECT from a cache (uid -> flags) the device kept."""
        self.flags = dict(cache)
        self.uids = []
        self.resyncing = True
        self.exists_seen = None

    def finish_resync(self) -> None:
        self.resyncing = False
        order = sorted(self.flags)
        if self.exists_seen != len(order):
            raise ViewError(f"QRESYNC left {len(order)} messages, EXISTS said {self.exists_seen}")
        self.uids = list(order)

    # --- responses -----------------------------------------------------------------------
    def feed(self, lines: list[str]) -> None:
        for line in lines:
            self._line(line)

    def _line(self, line: str) -> None:
        if m := _EXISTS.fullmatch(line):
            self._exists(int(m.group(1)))
        elif m := _EXPUNGE.fullmatch(line):
            self._expunge(int(m.group(1)))
        elif m := _VANISHED.fullmatch(line):
            self._vanished(parse_uid_set(m.group(2)), earlier=m.group(1) is not None)
        elif m := _FETCH.fullmatch(line):
            self._fetch(int(m.group(1)), m.group(2))
        elif m := _UIDFETCH.fullmatch(line):
            self._uidfetch(int(m.group(1)), m.group(2))

    def _exists(self, count: int) -> None:
        if self.resyncing:
            self.exists_seen = count
            return
        if count < len(self.uids):
            raise ViewError(f"EXISTS {count} shrank the view of {len(self.uids)} messages")
        self.uids.extend([None] * (count - len(self.uids)))

    def _expunge(self, msn: int) -> None:
        if self.resyncing or not 1 <= msn <= len(self.uids):
            raise ViewError(f"EXPUNGE {msn} outside the view of {len(self.uids)} messages")
        uid = self.uids.pop(msn - 1)
        if uid is not None:
            self.flags.pop(uid, None)

    def _vanished(self, uids: list[int], *, earlier: bool) -> None:
        if earlier:
            # RFC 7162 §3.2.10: VANISHED (EARLIER) may name UIDs the client never knew.
            if not self.resyncing:
                raise ViewError("VANISHED (EARLIER) outside a QRESYNC SELECT")
            for uid in uids:
                self.flags.pop(uid, None)
            return
        for uid in uids:
            if uid in self.flags and uid in self.uids:
                self.uids.remove(uid)
                del self.flags[uid]
            elif None in self.uids and uid > max((u for u in self.uids if u), default=0):
                # One of the messages an EXISTS announced and the device has not fetched
                # yet: they are all alike to it, so any one of them goes.
                self.uids.reverse()
                self.uids.remove(None)
                self.uids.reverse()
            else:
                raise ViewError(f"VANISHED {uid}: a UID the device does not know")

    def _fetch(self, msn: int, items: str) -> None:
        uid_m, flags_m = _UID.search(items), _FLAGS.search(items)
        if uid_m is None:
            raise ViewError(f"FETCH {msn} without UID: {items}")
        uid = int(uid_m.group(1))
        if self.resyncing:
            if flags_m is None:
                raise ViewError(f"QRESYNC FETCH of {uid} without FLAGS")
            self.flags[uid] = _flag_set(flags_m.group(1))
            return
        if not 1 <= msn <= len(self.uids):
            raise ViewError(f"FETCH {msn} outside the view of {len(self.uids)} messages")
        known = self.uids[msn - 1]
        if known is None:
            before = [u for u in self.uids[: msn - 1] if u is not None]
            after = [u for u in self.uids[msn:] if u is not None]
            if (before and before[-1] >= uid) or (after and after[0] <= uid):
                raise ViewError(f"FETCH {msn} UID {uid} out of UID order")
            self.uids[msn - 1] = uid
        elif known != uid:
            raise ViewError(f"FETCH {msn} says UID {uid}, the device has {known} there")
        if flags_m is not None:
            self.flags[uid] = _flag_set(flags_m.group(1))
        elif uid not in self.flags:
            raise ViewError(f"first FETCH of {uid} without FLAGS")

    def _uidfetch(self, uid: int, items: str) -> None:
        flags_m = _FLAGS.search(items)
        uid_m = _UID.search(items)
        if uid_m is not None and int(uid_m.group(1)) != uid:
            raise ViewError(f"UIDFETCH {uid} with UID {uid_m.group(1)}")
        if not self.resyncing and uid not in self.flags:
            # New to the device: the first message an EXISTS announced (UIDs ascend).
            first = self.first_unknown()
            known = [u for u in self.uids if u is not None]
            if first is None or (known and known[-1] >= uid):
                raise ViewError(f"UIDFETCH {uid}: not a message the device expects")
            self.uids[first - 1] = uid
        if flags_m is not None:
            self.flags[uid] = _flag_set(flags_m.group(1))
        elif uid not in self.flags:
            raise ViewError(f"first UIDFETCH of {uid} without FLAGS")

    # --- what the device believes ----------------------------------------------------
    def first_unknown(self) -> int | None:
        """The sequence number of the first placeholder, if any."""
        for i, uid in enumerate(self.uids):
            if uid is None:
                return i + 1
        return None

    def apply_silent(self, uid: int, mode: str, flags: frozenset[str]) -> None:
        """STORE .SILENT: the client sets what it asked for on the flags it knows."""
        old = self.flags[uid]
        self.flags[uid] = old | flags if mode == "+" else old - flags if mode == "-" else flags

    def snapshot(self) -> dict[int, frozenset[str]]:
        known = [u for u in self.uids if u is not None]
        if len(known) != len(self.uids):
            raise ViewError("the device still has messages it never fetched")
        if known != sorted(known) or len(set(known)) != len(known):
            raise ViewError(f"UIDs not ascending by sequence number: {known}")
        return {uid: self.flags[uid] for uid in known}


def _flag_set(text: str) -> frozenset[str]:
    return frozenset(f for f in text.split() if f != "\\Recent")
