"""ActiveSync state a device carries: policy keys, FolderSync and Sync keys.

Theory of operation
-------------------
Every key Roost hands a device *is* the state it stands for, derived from the store's
change log, so the server keeps no table of them and any key it ever issued can be
answered again (a device that retries a request with its previous key, after a lost
response, gets the changes since that key once more; a Sync key carries no more than a
position in the log):

    FolderSync key   "F<account modseq>"   the device knows the folder list as of that
                                           account MODSEQ; the next FolderSync replays
                                           mailbox_changes_since(it).
    Sync key         "S<uidvalidity>.<modseq>.<low>.<high>.<resume>.<pass>"
                     the device holds every message of the mailbox with low <= uid < high,
                     as of the mailbox's MODSEQ modseq. Changes and deletes come from
                     changes_since(modseq), for the uids held; new mail (from high up) and
                     older mail (from low down, newest first, as far as the device's
                     FilterType reaches) are sent as Add, widening the range. When changes
                     fill a window, resume is the uid they go on from and pass the MODSEQ
                     that pass started at (0 otherwise).
    Policy key       HMAC of the account's password hash, the device id and the policy
                     version: the temporary key of a Provision's first step and the final
                     key of its acknowledgement differ, so a device must finish the
                     exchange ([MS-ASPROV] §3.1.5.1), and a changed password or policy
                     makes devices provision again.

A key that does not parse, or names another UIDVALIDITY (the mailbox was re-created), or a
MODSEQ beyond the mailbox's or below what its log still holds, is refused with the
status that makes the device start that collection over.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from roost.model import ModSeq, Uid, UidValidity

__all__ = [
    "POLICY_VERSION",
    "SyncState",
    "folder_key",
    "parse_folder_key",
    "parse_sync_key",
    "policy_key",
    "sync_key",
]

POLICY_VERSION = "1"  # bump when the policy document changes: devices provision again


def policy_key(password_hash: str, device_id: str, *, final: bool) -> str:
    """A policy key: a decimal number below 2^31 (clients keep it as a 32-bit integer)."""
    stage = "final" if final else "temporary"
    message = f"{stage}\x00{device_id}\x00{POLICY_VERSION}".encode()
    digest = hmac.new(password_hash.encode(), message, hashlib.sha256).digest()
    return str(int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF or 1)


def folder_key(modseq: ModSeq) -> str:
    return f"F{modseq}"


_FOLDER_KEY = re.compile(r"F(\d{1,19})")


def parse_folder_key(key: str) -> ModSeq | None:
    """The account MODSEQ of a FolderSync key (None: not one of ours)."""
    found = _FOLDER_KEY.fullmatch(key)
    return ModSeq(int(found.group(1))) if found else None


_NO_UID = Uid(0)
_NO_MODSEQ = ModSeq(0)


@dataclass(frozen=True, slots=True)
class SyncState:
    """The device holds every message of the mailbox with low <= uid < high, as of the
    mailbox's MODSEQ modseq (and none outside it)."""

    uidvalidity: UidValidity
    modseq: ModSeq  # changes after it are still to be sent for the held uids
    low: Uid
    high: Uid
    resume: Uid = _NO_UID  # a pass over changes goes on from this uid (0: no pass)
    pass_start: ModSeq = _NO_MODSEQ  # the MODSEQ that pass is bringing the device to

    @property
    def holds_any(self) -> bool:
        return self.low < self.high

    def holds(self, uid: int) -> bool:
        return self.low <= uid < self.high


def sync_key(state: SyncState) -> str:
    numbers = (
        state.uidvalidity,
        state.modseq,
        state.low,
        state.high,
        state.resume,
        state.pass_start,
    )
    return "S" + ".".join(str(n) for n in numbers)


_SYNC_KEY = re.compile(r"S(\d{1,10})\.(\d{1,19})\.(\d{1,10})\.(\d{1,10})\.(\d{1,10})\.(\d{1,19})")


def parse_sync_key(key: str) -> SyncState | None:
    found = _SYNC_KEY.fullmatch(key)
    if found is None:
        return None
    v, modseq, low, high, resume, pass_start = (int(g) for g in found.groups())
    if not 1 <= low <= high:
        return None
    return SyncState(
        UidValidity(v), ModSeq(modseq), Uid(low), Uid(high), Uid(resume), ModSeq(pass_start)
    )
