"""What the store hands out and takes in: records of accounts, mailboxes, messages, changes
and the outbound queue (frozen dataclasses and enums, nothing of any protocol)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost.model import (
    AccountId,
    BlobId,
    MailboxId,
    ModSeq,
    ParsedMessage,
    Uid,
    UidValidity,
)

__all__ = [
    "ALL_RIGHTS",
    "IMAP_CLIENT",
    "IMAP_CLIENT_TYPE",
    "MEMBER_RIGHTS",
    "TEAM_PASSWORD_HASH",
    "Account",
    "AccountChanges",
    "AclEntry",
    "Alias",
    "AppendResult",
    "Changes",
    "CopyResult",
    "Device",
    "DevicePolicy",
    "FieldRow",
    "FlagMode",
    "FlagResult",
    "Mailbox",
    "MailboxChange",
    "MailboxChangeKind",
    "MailboxStatus",
    "MessageField",
    "MessageFlags",
    "MessageMeta",
    "NewMessage",
    "OofReply",
    "OofState",
    "OutOfOffice",
    "QueueEntry",
    "Quota",
    "ReplaceResult",
    "SharedMailbox",
    "changed_rights",
]


IMAP_CLIENT = "imap:"
IMAP_CLIENT_TYPE = "IMAP"


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    id: AccountId
    address: str  # full address, lower-cased domain
    password_hash: str

    @property
    def is_team(self) -> bool:
        """A team account (issue 15): it owns team mailboxes, receives its address's mail
        and nobody logs in to it; its members hold rights on its mailboxes (AclEntry)."""
        return self.password_hash == TEAM_PASSWORD_HASH


# A team account's password hash: no password verifies against it (it is no hash at all),
# so nobody logs in to a team, over any protocol.
TEAM_PASSWORD_HASH = "!team"

# RFC 4314 §2.1, in its order: lookup, read, seen, write, insert, post, create (k), delete
# mailbox (x), delete messages (t), expunge, administer. A mailbox's owner holds them all.
ALL_RIGHTS = "lrswipkxtea"
# What a team's member holds on each team mailbox: everything but administering the rights
# themselves ("a"), which stays with the operator (`roost acl`).
MEMBER_RIGHTS = "lrswipkxte"


def changed_rights(current: str, change: str) -> str:
    """RFC 4314 §3.1 SETACL's mod-rights: "+xy" adds to current, "-xy" takes away, plain
    "xy" replaces. Letters are kept as given (the store checks and orders them)."""
    if change.startswith("+"):
        return current + change[1:]
    if change.startswith("-"):
        return "".join(ch for ch in current if ch not in change[1:])
    return change


@dataclass(frozen=True, slots=True, kw_only=True)
class AclEntry:
    """Rights one account holds on a mailbox of another (RFC 4314 §2); rights are letters
    of ALL_RIGHTS in that order."""

    address: str
    rights: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedMailbox:
    """A mailbox of another account that an account holds rights on: who owns it (a team
    or a person) and what the account may do with it."""

    mailbox: Mailbox
    owner: str  # the owner's address
    team: bool
    rights: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Alias:
    address: str  # the alias, lower-cased domain
    accounts: tuple[str, ...]  # the addresses of the accounts it delivers to, sorted


@dataclass(frozen=True, slots=True, kw_only=True)
class Quota:
    """An account's limits (None: unlimited) and what it uses now, exact at the read.
    Storage is in octets: the sum of RFC822.SIZE over every message of the account."""

    storage_limit: int | None
    message_limit: int | None
    storage_used: int
    messages_used: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Mailbox:
    """A mailbox as it is now. Counters are exact at the moment of the read."""

    id: MailboxId
    account_id: AccountId
    name: str
    uidvalidity: UidValidity
    uidnext: Uid
    highestmodseq: ModSeq
    special_use: str | None  # "\\Sent", "\\Trash", ... or None
    subscribed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxStatus:
    mailbox: Mailbox
    messages: int
    unseen: int  # messages without \Seen
    deleted: int  # messages with \Deleted
    size: int  # sum of message sizes (STATUS=SIZE)
    recent: int  # uids >= first_recent_uid (IMAP4rev1 \Recent)
    deleted_size: int = 0  # sum of the sizes of messages with \Deleted


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageFlags:
    """The part of a message that changes: enough to replay a flag change."""

    uid: Uid
    modseq: ModSeq
    flags: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageMeta:
    """Everything FETCH needs except the message bytes themselves."""

    uid: Uid
    modseq: ModSeq
    flags: frozenset[str]
    internaldate: datetime  # timezone-aware
    savedate: datetime  # when it arrived in this mailbox (RFC 8514)
    size: int
    blob_id: BlobId
    email_id: str  # stable across copies/moves of the same blob in one account (RFC 8474)
    thread_id: str
    header_size: int
    envelope: bytes
    bodystructure: bytes
    body: bytes
    parts: bytes
    preview: str
    envelope_fields: bytes | None  # the protocol-neutral envelope (ParsedMessage)


class MessageField(enum.Enum):
    """A value `fetch_fields` can read; each is typed as the MessageMeta attribute of the
    same name (FLAGS a frozenset, the dates timezone-aware datetimes, ENVELOPE... bytes)."""

    MODSEQ = "modseq"
    FLAGS = "flags"
    INTERNALDATE = "internaldate"
    SAVEDATE = "savedate"
    SIZE = "size"
    BLOB_ID = "blob_id"
    EMAIL_ID = "email_id"
    THREAD_ID = "thread_id"
    HEADER_SIZE = "header_size"
    ENVELOPE = "envelope"
    BODYSTRUCTURE = "bodystructure"
    BODY = "body"
    PARTS = "parts"
    PREVIEW = "preview"
    ENVELOPE_FIELDS = "envelope_fields"


# One message as fetch_fields reads it: (uid, value of each field asked for, in order).
FieldRow = tuple[Any, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMessage:
    data: bytes
    parsed: ParsedMessage
    flags: frozenset[str] = frozenset()
    internaldate: datetime | None = None  # None: now
    # A migration's: the UID the message had at its source, kept so that devices synced
    # with the source keep their caches (see MessageStore.append). None: the next UID.
    uid: Uid | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendResult:
    uidvalidity: UidValidity
    uids: tuple[Uid, ...]
    modseq: ModSeq


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceResult:
    """REPLACE: where the new message went, and the modseq of the old one's expunge."""

    appended: AppendResult
    source_modseq: ModSeq


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyResult:
    """COPY/MOVE: source uids and the uids they got in the destination, in the same order."""

    uidvalidity: UidValidity  # of the destination
    source_uids: tuple[Uid, ...]
    dest_uids: tuple[Uid, ...]
    dest_modseq: ModSeq
    source_modseq: ModSeq | None  # MOVE: the modseq of the expunge in the source


class FlagMode(enum.Enum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"


@dataclass(frozen=True, slots=True, kw_only=True)
class FlagResult:
    changed: tuple[MessageFlags, ...]  # messages whose flags changed, with their new modseq
    # CONDSTORE: uids not changed because their modseq was above unchangedsince
    modified: tuple[Uid, ...] = ()
    # the modseq each message of `changed` had before this call, in the same order
    previous: tuple[ModSeq, ...] = ()


_NO_FLOOR = ModSeq(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """What happened in one mailbox after a modseq; cost follows the number of changes."""

    highestmodseq: ModSeq
    uidnext: Uid
    changed: tuple[MessageFlags, ...]  # new or re-flagged messages still present, by uid
    expunged: tuple[Uid, ...]  # tombstones after the modseq, ascending
    keywords: tuple[str, ...] = ()  # every keyword defined in the mailbox (Store.keywords)
    # Expunges up to this modseq are no longer listed (retention folded their tombstones):
    # asked from below it, `expunged` may miss some, and any UID below uidnext that is not
    # present may have been expunged (RFC 7162 §3.2.5.2 lets QRESYNC say so as a range).
    vanished_floor: ModSeq = _NO_FLOOR

    def complete_since(self, modseq: int) -> bool:
        """Whether `expunged` lists every expunge after modseq."""
        return modseq >= self.vanished_floor


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountChanges:
    """What happened in a whole account after one of its MODSEQs (JMAP /changes,
    ActiveSync FolderSync and Sync, NOTIFY): cost follows the number of changes."""

    modseq: ModSeq  # the account's MODSEQ now: the state to ask from next time
    mailboxes: tuple[MailboxChange, ...]  # created, renamed, deleted, (un)subscribed
    messages: Mapping[MailboxId, Changes]  # per existing mailbox whose messages changed


class DevicePolicy(enum.Enum):
    """Where a device stands in provisioning ([MS-ASPROV] §3.1.5.1)."""

    NONE = ""  # it never asked for the policy
    TEMPORARY = "temporary"  # it was given the policy and a temporary key
    FINAL = "final"  # it acknowledged the policy and holds the final key


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """An ActiveSync device of an account, as it identified itself on its last request; or
    an IMAP client that named itself (IMAP ID), device id IMAP_CLIENT + its name and type
    IMAP_CLIENT_TYPE, which an ActiveSync DeviceId (letters and digits) never looks like."""

    account_id: AccountId
    address: str  # the account's address
    device_id: str  # [MS-ASHTTP] DeviceId, unique per account
    device_type: str
    user_agent: str
    policy: DevicePolicy
    first_seen: datetime
    last_seen: datetime
    last_sync: datetime | None  # its last Sync of a folder (None: none yet)
    wipe_requested: datetime | None  # an administrator asked for a remote wipe
    wipe_acknowledged: datetime | None  # the device reported that it wiped itself

    @property
    def wipe_pending(self) -> bool:
        """A wipe was asked for: every request of the device is answered with it."""
        return self.wipe_requested is not None


class OofState(enum.IntEnum):
    """[MS-ASCMD] §2.2.3.120 OofState."""

    OFF = 0
    ON = 1
    SCHEDULED = 2  # on between start and end


@dataclass(frozen=True, slots=True, kw_only=True)
class OofReply:
    text: str
    html: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OutOfOffice:
    """An account's out-of-office setting: whether it is on, and the reply each audience
    gets (None: none)."""

    state: OofState = OofState.OFF
    start: datetime | None = None
    end: datetime | None = None
    internal: OofReply | None = None  # senders in this server's domains
    external_known: OofReply | None = None
    external_unknown: OofReply | None = None

    def active(self, now: datetime) -> bool:
        if self.state is OofState.ON:
            return True
        if self.state is OofState.SCHEDULED and self.start and self.end:
            return self.start <= now < self.end
        return False

    def reply_for(self, *, internal: bool) -> OofReply | None:
        """What a sender gets: an outside sender the reply for unknown senders (the server
        keeps no contacts), else the one for known ones."""
        if internal:
            return self.internal
        return self.external_unknown or self.external_known


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEntry:
    """One recipient of a message in the outbound queue."""

    id: int
    blob_id: BlobId
    mail_from: str  # "" is the null reverse-path <>
    recipient: str
    created: datetime
    next_attempt: datetime
    attempts: int
    last_error: str


class MailboxChangeKind(enum.Enum):
    CREATED = "created"
    RENAMED = "renamed"
    DELETED = "deleted"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxChange:
    modseq: ModSeq  # the account's modseq
    kind: MailboxChangeKind
    mailbox_id: MailboxId | None
    name: str
    old_name: str | None = None
