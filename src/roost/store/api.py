"""The store interface every protocol uses; the only store module protocol code imports.

Theory of operation
-------------------
The store keeps the master copy: accounts, domains, mailboxes, messages (metadata rows
pointing at immutable, content-addressed blobs) and a change log. Every change to a mailbox
(append, flag change, expunge) takes the next MODSEQ of that mailbox and is recorded so it
can be replayed: `changes_since(mailbox, modseq)` answers with work proportional to the
number of changes, never to the size of the mailbox. Expunged messages leave a tombstone
(mailbox, uid, modseq). Mailbox-level changes (created, renamed, deleted, subscription)
are recorded per account with the account's own modseq (`mailbox_changes_since`).

Acknowledgement: a method that adds mail returns only after the blob is fsync'd and the
transaction that references it has committed. Every method either completes entirely or
raises and changes nothing.

The store knows nothing of IMAP: mailbox names are UTF-8 strings with "/" as hierarchy
separator ("INBOX" is stored in that spelling and matched case-insensitively by
`find_mailbox`), flags are strings (system flags in the canonical spelling of
roost.model.SYSTEM_FLAGS, keywords as given, compared case-insensitively), refusals are
MailError(kind).

Isolation between accounts: every mailbox lookup by name is scoped to an account; protocol
code only ever uses the MailboxIds the store gave it for that account.

All methods are coroutines so that an engine with a native async driver (PostgreSQL) fits
the same interface; the SQLite engine runs its work on a dedicated thread.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from roost.model import (
    AccountId,
    BlobId,
    MailboxId,
    ModSeq,
    ParsedMessage,
    Uid,
    UidValidity,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    id: AccountId
    address: str  # full address, lower-cased domain
    password_hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Alias:
    address: str  # the alias, lower-cased domain
    account: str  # the address of the account it delivers to


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


# One message as fetch_fields reads it: (uid, value of each field asked for, in order).
FieldRow = tuple[Any, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMessage:
    data: bytes
    parsed: ParsedMessage
    flags: frozenset[str] = frozenset()
    internaldate: datetime | None = None  # None: now


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """What happened in one mailbox after a modseq; cost follows the number of changes."""

    highestmodseq: ModSeq
    uidnext: Uid
    changed: tuple[MessageFlags, ...]  # new or re-flagged messages still present, by uid
    expunged: tuple[Uid, ...]  # tombstones after the modseq, ascending
    keywords: tuple[str, ...] = ()  # every keyword defined in the mailbox (Store.keywords)


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


# ----- search -----------------------------------------------------------------
# A protocol-neutral query tree. The IMAP layer turns SEARCH keys (with sequence
# numbers already resolved to uids) into these; JMAP filters will map here too.


@dataclass(frozen=True, slots=True)
class All:
    pass


@dataclass(frozen=True, slots=True)
class UidIn:
    uids: tuple[tuple[int, int], ...]  # inclusive ranges


@dataclass(frozen=True, slots=True)
class HasFlag:
    flag: str


@dataclass(frozen=True, slots=True)
class HeaderContains:
    name: str  # header field name, case-insensitive
    text: str  # substring, case-insensitive; "" matches any message having the field


@dataclass(frozen=True, slots=True)
class BodyContains:
    text: str


@dataclass(frozen=True, slots=True)
class TextContains:  # header or body
    text: str


class DateField(enum.Enum):
    INTERNAL = "internal"
    SENT = "sent"
    SAVED = "saved"


@dataclass(frozen=True, slots=True)
class DateBefore:
    """`when` is a calendar day's midnight written as UTC; each message's date compares as
    wall-clock time in its own zone, so 7 Feb 21:52 -0800 is on 7 Feb (RFC 9051 §6.4.4)."""

    field: DateField
    when: datetime


@dataclass(frozen=True, slots=True)
class DateOnOrAfter:
    """See DateBefore for how days compare."""

    field: DateField
    when: datetime


@dataclass(frozen=True, slots=True)
class ArrivedAfter:
    """INTERNALDATE later than an instant (time zones do not matter: RFC 5032 WITHIN)."""

    when: datetime


@dataclass(frozen=True, slots=True)
class SizeLarger:
    size: int


@dataclass(frozen=True, slots=True)
class SizeSmaller:
    size: int


@dataclass(frozen=True, slots=True)
class ModSeqAtLeast:
    modseq: int


@dataclass(frozen=True, slots=True)
class EmailIs:
    """The message with this EMAILID (RFC 8474 §5.1)."""

    email_id: str


@dataclass(frozen=True, slots=True)
class ThreadIs:
    """The messages with this THREADID (RFC 8474 §5.2)."""

    thread_id: str


@dataclass(frozen=True, slots=True)
class Not:
    query: Query


@dataclass(frozen=True, slots=True)
class And:
    queries: tuple[Query, ...]


@dataclass(frozen=True, slots=True)
class Or:
    queries: tuple[Query, ...]


# The predicates SQL answers from the message row, and those over a message's text.
PlainQuery = (
    All
    | UidIn
    | HasFlag
    | DateBefore
    | DateOnOrAfter
    | ArrivedAfter
    | SizeLarger
    | SizeSmaller
    | ModSeqAtLeast
    | EmailIs
    | ThreadIs
)
TextQuery = HeaderContains | BodyContains | TextContains
Query = PlainQuery | TextQuery | Not | And | Or


# ----- sort and thread -----------------------------------------------------------------


class SortField(enum.Enum):
    """What messages can be ordered by (RFC 5256 §3, RFC 5957): text keys compare in the
    i;ascii-casemap collation; DATE is the sent date, else the arrival (RFC 5256 §2.2)."""

    ARRIVAL = "arrival"
    CC = "cc"
    DATE = "date"
    FROM = "from"
    SIZE = "size"
    SUBJECT = "subject"
    TO = "to"
    DISPLAYFROM = "displayfrom"
    DISPLAYTO = "displayto"


@dataclass(frozen=True, slots=True)
class SortKey:
    field: SortField
    reverse: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadInfo:
    """One message as threading sees it (roost.model.SortFields, stored at delivery)."""

    uid: Uid
    sent: datetime  # the sent date, else the arrival (RFC 5256 §2.2)
    subject: str  # base subject, folded
    reply: bool
    message_id: str | None  # without angle brackets
    references: tuple[str, ...]


class Store(Protocol):
    """The mail store. See the module docstring for the guarantees."""

    # --- lifecycle
    async def close(self) -> None: ...

    # --- domains and accounts
    async def add_domain(self, domain: str) -> None: ...
    async def list_domains(self) -> list[str]: ...
    async def is_local_domain(self, domain: str) -> bool: ...

    async def create_account(self, address: str, password_hash: str) -> Account:
        """Creates the account with INBOX and DEFAULT_MAILBOXES (subscribed); makes its
        domain local. ALREADY_EXISTS if the address is taken."""
        ...

    async def find_account(self, address: str) -> Account | None: ...
    async def list_accounts(self) -> list[Account]: ...
    async def set_password(self, address: str, password_hash: str) -> None: ...
    async def delete_account(self, address: str) -> None:
        """Removes the account, its aliases, mailboxes and messages (blobs collected later)."""
        ...

    # --- aliases: more addresses of an account, for delivery and for sending
    async def add_alias(self, alias: str, address: str) -> Alias:
        """NONEXISTENT if address is no account; ALREADY_EXISTS if alias is taken (as an
        account or an alias). Makes the alias's domain local."""
        ...

    async def delete_alias(self, alias: str) -> None: ...
    async def list_aliases(self) -> list[Alias]: ...
    async def find_recipient(self, address: str) -> Account | None:
        """The account that receives mail for address: by its own address or an alias."""
        ...

    async def owns_address(self, account: AccountId, address: str) -> bool:
        """Whether the account may send as address (its own or one of its aliases)."""
        ...

    async def get_quota(self, account: AccountId) -> Quota: ...
    async def set_quota(
        self, account: AccountId, storage_limit: int | None, message_limit: int | None
    ) -> None:
        """Sets both limits (None: unlimited). Mail already stored stays; an account over
        its new limit may only shrink. append, copy and move refuse mail that would take
        the account past a limit with OVER_QUOTA, inside their transaction, storing nothing
        (a MOVE within one account never grows it)."""
        ...

    # --- mailboxes
    async def list_mailboxes(self, account: AccountId) -> list[Mailbox]:
        """All mailboxes of the account, sorted by name."""
        ...

    async def list_subscriptions(self, account: AccountId) -> list[str]:
        """Subscribed names (a subscription may name a mailbox that does not exist)."""
        ...

    async def find_mailbox(self, account: AccountId, name: str) -> Mailbox:
        """NONEXISTENT if there is none. "inbox" in any case means INBOX."""
        ...

    async def get_mailbox(self, mailbox: MailboxId) -> Mailbox: ...

    async def create_mailbox(
        self, account: AccountId, name: str, special_use: str | None = None
    ) -> Mailbox:
        """Creates missing superiors too (RFC 9051 §6.3.4). ALREADY_EXISTS if it exists."""
        ...

    async def delete_mailbox(self, account: AccountId, name: str) -> None:
        """INBOX: CANNOT. Inferior names exist: HAS_CHILDREN. Messages become tombstones;
        a mailbox re-created under the same name is new, with a new UIDVALIDITY."""
        ...

    async def rename_mailbox(self, account: AccountId, old: str, new: str) -> None:
        """Renames inferiors too. Renaming INBOX moves its messages into a new mailbox
        named `new` and leaves INBOX empty (RFC 9051 §6.3.6)."""
        ...

    async def set_subscribed(self, account: AccountId, name: str, subscribed: bool) -> None: ...

    async def status(self, mailbox: MailboxId) -> MailboxStatus: ...

    async def mailbox_changes_since(
        self, account: AccountId, modseq: ModSeq
    ) -> tuple[ModSeq, list[MailboxChange]]:
        """The account's mailbox-level changes after modseq, and its current modseq."""
        ...

    # --- messages
    async def append(self, mailbox: MailboxId, messages: Sequence[NewMessage]) -> AppendResult:
        """Adds all or none (MULTIAPPEND is atomic). One modseq for the whole batch."""
        ...

    async def uids(self, mailbox: MailboxId) -> tuple[Sequence[Uid], ModSeq]:
        """Every uid in the mailbox, ascending (the caller's own copy, an array of them), and
        the highestmodseq they reflect. Cost follows the changes since the last call."""
        ...

    async def claim_recent(self, mailbox: MailboxId) -> tuple[Uid, Uid]:
        """IMAP4rev1 \\Recent: returns (first, end), the uids [first, end) that are recent
        for the caller (whenever it learns of them), and marks every current message as no
        longer recent for later callers."""
        ...

    async def fetch_flags(self, mailbox: MailboxId, uids: Sequence[Uid]) -> list[MessageFlags]:
        """Flags of the existing messages among uids, ascending by uid."""
        ...

    async def keywords(self, mailbox: MailboxId) -> list[str]:
        """Every keyword ever set on a message of the mailbox (RFC 9051 §7.3.5: FLAGS only
        grows), each once (compared case-insensitively), sorted case-insensitively."""
        ...

    async def fetch_meta(self, mailbox: MailboxId, uids: Sequence[Uid]) -> list[MessageMeta]:
        """Metadata of the existing messages among uids, ascending by uid. Callers chunk."""
        ...

    async def fetch_fields(
        self, mailbox: MailboxId, uids: Sequence[Uid], fields: Sequence[MessageField]
    ) -> list[FieldRow]:
        """(uid, *values of fields in the order given) of the existing messages among uids,
        ascending by uid. Reads only what those fields need, so that reading a few of them
        for many messages costs little more than the rows themselves. Callers chunk."""
        ...

    async def read_blob(self, blob: BlobId) -> bytes: ...

    async def read_blobs(
        self, blobs: Sequence[BlobId], *, prefixes: Sequence[int] | None = None
    ) -> list[bytes]:
        """The bytes of each blob, read together; with prefixes, only the first
        prefixes[i] bytes of blobs[i] (a message's header, say). NONEXISTENT if one is gone."""
        ...

    async def store_flags(
        self,
        mailbox: MailboxId,
        uids: Sequence[Uid],
        mode: FlagMode,
        flags: frozenset[str],
        unchangedsince: ModSeq | None = None,
    ) -> FlagResult:
        """Changes flags; every message whose flags actually change gets one new modseq
        (the same for the whole call). Messages that no longer exist are skipped."""
        ...

    async def expunge(self, mailbox: MailboxId, uids: Sequence[Uid] | None = None) -> list[Uid]:
        """Removes messages flagged \\Deleted (only those among uids, if given); returns the
        expunged uids ascending. Leaves tombstones with the new modseq."""
        ...

    async def copy(
        self, source: MailboxId, uids: Sequence[Uid], dest: MailboxId, *, move: bool = False
    ) -> CopyResult:
        """Copies (or moves: copy + expunge in one transaction) the existing messages among
        uids, in uid order. Flags are kept (RFC 9051 §6.4.7)."""
        ...

    async def replace(
        self, source: MailboxId, uid: Uid, dest: MailboxId, message: NewMessage
    ) -> ReplaceResult:
        """Appends message to dest and removes uid from source in one transaction; raises
        MailError(NONEXISTENT) and changes nothing if uid is gone (RFC 8508)."""
        ...

    async def search(
        self, mailbox: MailboxId, query: Query, *, limit: int | None = None
    ) -> list[Uid]:
        """Uids of the messages matching query, ascending; only the first `limit` if given."""
        ...

    async def sort(self, mailbox: MailboxId, query: Query, keys: Sequence[SortKey]) -> list[Uid]:
        """The uids matching query, ordered by keys, ties in uid order (RFC 5256 §3)."""
        ...

    async def thread_info(self, mailbox: MailboxId, query: Query) -> list[ThreadInfo]:
        """What threading needs of the messages matching query, in uid order."""
        ...

    async def changes_since(self, mailbox: MailboxId, modseq: ModSeq) -> Changes:
        """What changed after modseq. A modseq of 0 returns every message."""
        ...

    async def find_by_message_id(
        self, mailbox: MailboxId, message_id: str, since: datetime
    ) -> list[tuple[Uid, BlobId]]:
        """(uid, blob) of the messages in mailbox with this Message-ID (as analysed, with
        its angle brackets) that arrived there at or after `since`, ascending by uid."""
        ...

    # --- the outbound queue (one entry per recipient; see roost.store.outbound)
    async def enqueue(self, data: bytes, mail_from: str, recipients: Sequence[str]) -> list[int]:
        """Queues data for each recipient, due now; returns the entry ids. Durable on
        return, like append."""
        ...

    async def queue_entries(self, due: datetime | None = None) -> list[QueueEntry]:
        """Every entry by id, or (with due) those due at or before it, soonest first."""
        ...

    async def queue_retry_later(self, entry: int, when: datetime, error: str) -> None:
        """Counts a failed attempt and sets the next one."""
        ...

    async def queue_remove(self, entries: Sequence[int]) -> int:
        """Removes entries (delivered, given up or deleted); returns how many existed."""
        ...

    async def queue_flush(self) -> int:
        """Makes every entry due now; returns how many."""
        ...
