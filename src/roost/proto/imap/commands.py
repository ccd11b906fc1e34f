"""IMAP commands as frozen dataclasses, one per command (RFC 9051 §6).

The parser (parse.py) produces these; the session dispatches on their type. Mailbox
names are kept as the client sent them (str): whether they are modified UTF-7 (IMAP4rev1)
or UTF-8 (IMAP4rev2 / UTF8=ACCEPT) depends on the session, which decodes them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeAlias

from roost.proto.imap.cursor import SpooledLiteral
from roost.proto.imap.seqset import SeqSet


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    tag: str


# --- any state ---------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Capability(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Noop(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Logout(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Id(Command):
    params: tuple[tuple[str, str | None], ...] | None  # None: "ID NIL"


# --- not authenticated -------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class StartTls(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Authenticate(Command):
    mechanism: str  # upper-case
    initial: bytes | None  # SASL-IR initial response, base64 as sent ("=" for empty)


@dataclass(frozen=True, slots=True, kw_only=True)
class Login(Command):
    user: str
    password: str


# --- authenticated -----------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Enable(Command):
    capabilities: tuple[str, ...]  # upper-case


@dataclass(frozen=True, slots=True, kw_only=True)
class QResync:
    """SELECT's QRESYNC parameter (RFC 7162 §3.2.5): what the client last saw."""

    uidvalidity: int
    modseq: int
    known_uids: SeqSet | None = None
    # seq-match-data: (sequence numbers, their uids) the client still holds
    seq_match: tuple[SeqSet, SeqSet] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Select(Command):
    mailbox: str
    readonly: bool  # EXAMINE
    condstore: bool = False
    qresync: QResync | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Create(Command):
    mailbox: str
    special_use: tuple[str, ...] = ()  # RFC 6154 CREATE (USE (...))


@dataclass(frozen=True, slots=True, kw_only=True)
class Delete(Command):
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Rename(Command):
    old: str
    new: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribe(Command):
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribe(Command):
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class List(Command):
    reference: str
    patterns: tuple[str, ...]
    selection: tuple[str, ...] = ()  # LIST-EXTENDED selection options, upper-case
    returns: tuple[str, ...] = ()  # return options, upper-case ("STATUS" handled apart)
    status_items: tuple[str, ...] = ()  # RETURN (STATUS (...)) — LIST-STATUS
    lsub: bool = False  # the IMAP4rev1 LSUB command


@dataclass(frozen=True, slots=True, kw_only=True)
class Namespace(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Status(Command):
    mailbox: str
    items: tuple[str, ...]  # upper-case


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendMessage:
    flags: tuple[str, ...]
    internaldate: datetime | None
    # the message (in a file when large), or (RFC 4469) the parts to build it from
    data: bytes | SpooledLiteral | Catenate


@dataclass(frozen=True, slots=True, kw_only=True)
class CatenateText:
    data: bytes | SpooledLiteral  # RFC 4469 §5: TEXT literal, taken as it is


@dataclass(frozen=True, slots=True, kw_only=True)
class CatenateUrl:
    url: str  # RFC 4469 §5: URL astring, an IMAP URL (RFC 5092) of a message or its part


@dataclass(frozen=True, slots=True, kw_only=True)
class Catenate:
    parts: tuple[CatenateText | CatenateUrl, ...]  # one or more, in order


@dataclass(frozen=True, slots=True, kw_only=True)
class Append(Command):
    mailbox: str
    messages: tuple[AppendMessage, ...]  # MULTIAPPEND (RFC 3502): one or more


# --- ACL (RFC 4314 §3) -----------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class GetAcl(Command):
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAcl(Command):
    mailbox: str
    identifier: str
    rights: str  # mod-rights: letters, or "+letters" / "-letters"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAcl(Command):
    mailbox: str
    identifier: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRights(Command):
    mailbox: str
    identifier: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MyRights(Command):
    mailbox: str


# --- QUOTA (RFC 9208 §4) -------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class GetQuota(Command):
    root: str  # a quota root name, as sent


@dataclass(frozen=True, slots=True, kw_only=True)
class GetQuotaRoot(Command):
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetQuota(Command):
    root: str
    limits: tuple[tuple[str, int], ...]  # (resource name upper-case, limit); may be empty


@dataclass(frozen=True, slots=True, kw_only=True)
class Replace(Command):
    """REPLACE / UID REPLACE (RFC 8508): append `message` to `mailbox`, expunge the old."""

    uid: bool
    number: int | None  # a sequence number or UID; None is "*", the last message
    mailbox: str
    message: AppendMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class Idle(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Compress(Command):
    mechanism: str  # upper-case; RFC 4978 defines DEFLATE


# --- selected ----------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Check(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Close(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Unselect(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Expunge(Command):
    uids: SeqSet | None = None  # UID EXPUNGE


# --- SEARCH keys (RFC 9051 §6.4.4) ------------------------------------------------
# One type per kind of key, so that whatever turns a key into something else handles every
# kind: a `match` over SearchKey ends in assert_never, and mypy names a forgotten one. A
# key the parser accepts can then never fall through to "every message".


class DateField(enum.Enum):
    INTERNAL = "internal"  # BEFORE ON SINCE: the INTERNALDATE
    SENT = "sent"  # SENTBEFORE SENTON SENTSINCE: the Date: field
    SAVED = "saved"  # SAVEDBEFORE SAVEDON SAVEDSINCE (RFC 8514)


class DateRelation(enum.Enum):
    BEFORE = "before"
    ON = "on"
    SINCE = "since"


class RecentKind(enum.Enum):
    RECENT = "recent"  # IMAP4rev1 \Recent
    NEW = "new"  # recent and not \Seen
    OLD = "old"  # not recent


@dataclass(frozen=True, slots=True, kw_only=True)
class AllKey:
    """ALL, and SAVEDATESUPPORTED (RFC 8514 §4.3: every mailbox here keeps SAVEDATE)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeqKey:
    seqset: SeqSet  # message sequence numbers, or "$" (RFC 5182: the saved result's UIDs)


@dataclass(frozen=True, slots=True, kw_only=True)
class UidKey:
    seqset: SeqSet  # UID set, or "$"


@dataclass(frozen=True, slots=True, kw_only=True)
class FlagKey:
    flag: str  # a system flag (ANSWERED: "\\Answered"...) or a keyword (KEYWORD x)
    present: bool  # UNANSWERED, UNKEYWORD...: False


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentKey:
    kind: RecentKind


@dataclass(frozen=True, slots=True, kw_only=True)
class DateKey:
    field: DateField
    relation: DateRelation
    day: date


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderKey:
    field: str  # lower-case: FROM is HEADER from
    text: str  # "" matches every message that has the field


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyKey:
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TextKey:
    text: str  # header or body


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeKey:
    larger: bool  # LARGER n, else SMALLER n
    octets: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AgeKey:
    younger: bool  # RFC 5032 YOUNGER n, else OLDER n
    seconds: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ModSeqKey:
    modseq: int  # RFC 7162 §3.1.5 MODSEQ (its per-flag entry is ignored)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailIdKey:
    id: str  # RFC 8474 §6


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadIdKey:
    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NotKey:
    key: SearchKey


@dataclass(frozen=True, slots=True, kw_only=True)
class OrKey:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True, slots=True, kw_only=True)
class AndKey:
    keys: tuple[SearchKey, ...]  # a parenthesised list, or the keys of a search program


SearchKey: TypeAlias = (
    AllKey
    | SeqKey
    | UidKey
    | FlagKey
    | RecentKey
    | DateKey
    | HeaderKey
    | BodyKey
    | TextKey
    | SizeKey
    | AgeKey
    | ModSeqKey
    | EmailIdKey
    | ThreadIdKey
    | NotKey
    | OrKey
    | AndKey
)


def subkeys(key: SearchKey) -> tuple[SearchKey, ...]:
    """The keys directly inside NOT, OR and AND; () for every other key."""
    if isinstance(key, NotKey):
        return (key.key,)
    if isinstance(key, OrKey):
        return (key.left, key.right)
    if isinstance(key, AndKey):
        return key.keys
    return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Search(Command):
    uid: bool
    charset: str | None
    key: SearchKey  # an AND of the top-level keys
    returns: tuple[str, ...] | None = None  # ESEARCH RETURN (...) options; None: plain SEARCH
    partial: tuple[int, int] | None = None  # RFC 9394 PARTIAL range as sent (-1: the last)


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelUpdate(Command):
    tags: tuple[str, ...]  # RFC 5267 §4.2: the SEARCH RETURN (UPDATE) commands to forget


@dataclass(frozen=True, slots=True, kw_only=True)
class SortCriterion:
    key: str  # ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO
    reverse: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Sort(Command):
    """SORT and UID SORT (RFC 5256), with ESORT return options (RFC 5267)."""

    uid: bool
    criteria: tuple[SortCriterion, ...]
    charset: str  # upper-case; mandatory in SORT
    key: SearchKey
    returns: tuple[str, ...] | None = None  # None: the SORT response
    partial: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Thread(Command):
    uid: bool
    algorithm: str  # ORDEREDSUBJECT or REFERENCES
    charset: str
    key: SearchKey


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """BODY[section]<partial> / BINARY[section]<partial> (RFC 9051 §6.4.5)."""

    path: tuple[int, ...] = ()
    specifier: str = ""  # "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, MIME
    fields: tuple[str, ...] = ()  # for HEADER.FIELDS (NOT), as sent


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchBody:
    section: Section
    peek: bool = False
    binary: bool = False
    partial: tuple[int, int] | None = None  # (start, length)
    size_only: bool = False  # BINARY.SIZE[section]


class FetchAttr(enum.StrEnum):
    """A fetch-att without a section (RFC 9051 §6.4.5). A str, so that "FLAGS" in items
    reads as it should; the FETCH code has an entry for every member (a test checks)."""

    ENVELOPE = "ENVELOPE"
    FLAGS = "FLAGS"
    INTERNALDATE = "INTERNALDATE"
    RFC822 = "RFC822"
    RFC822_HEADER = "RFC822.HEADER"
    RFC822_SIZE = "RFC822.SIZE"
    RFC822_TEXT = "RFC822.TEXT"
    BODY = "BODY"
    BODYSTRUCTURE = "BODYSTRUCTURE"
    UID = "UID"
    MODSEQ = "MODSEQ"  # RFC 7162 §3.1.4
    PREVIEW = "PREVIEW"  # RFC 8970
    SAVEDATE = "SAVEDATE"  # RFC 8514
    EMAILID = "EMAILID"  # RFC 8474
    THREADID = "THREADID"


FetchItem: TypeAlias = FetchAttr | FetchBody


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetch(Command):
    uid: bool
    seqset: SeqSet
    items: tuple[FetchItem, ...]
    changedsince: int | None = None
    vanished: bool = False  # QRESYNC: UID FETCH ... (CHANGEDSINCE n VANISHED)
    partial: tuple[int, int] | None = None  # RFC 9394 §3.3: UID FETCH ... (PARTIAL m:n)


@dataclass(frozen=True, slots=True, kw_only=True)
class Store(Command):
    uid: bool
    seqset: SeqSet
    mode: str  # "+", "-" or "" (replace)
    silent: bool
    flags: tuple[str, ...]
    unchangedsince: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy(Command):
    uid: bool
    seqset: SeqSet
    mailbox: str
    move: bool = False


# --- NOTIFY (RFC 5465) and MULTISEARCH (RFC 7377) ------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxFilter:
    """RFC 5465 §6 filter-mailboxes, with RFC 7377's subtree-one: which mailboxes.

    `kind` is upper-case: SELECTED, SELECTED-DELAYED, INBOXES, PERSONAL, SUBSCRIBED,
    SUBTREE, SUBTREE-ONE or MAILBOXES; the last three name their mailboxes (as sent)."""

    kind: str
    mailboxes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyEvent:
    name: str  # the RFC 5465 spelling for known events ("MessageNew"), as sent otherwise
    fetch: tuple[FetchItem, ...] = ()  # MessageNew (fetch-att ...), SELECTED filters only


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyGroup:
    filter: MailboxFilter
    events: tuple[NotifyEvent, ...]  # (): NONE, nothing for these mailboxes


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify(Command):
    groups: tuple[NotifyGroup, ...] | None  # None: NOTIFY NONE
    status: bool = False  # NOTIFY SET STATUS: report the watched mailboxes at once


@dataclass(frozen=True, slots=True, kw_only=True)
class Esearch(Command):
    """RFC 7377 ESEARCH: SEARCH over several mailboxes; results are always UIDs."""

    sources: tuple[MailboxFilter, ...]  # (): no IN, the selected mailbox
    charset: str | None
    key: SearchKey
    returns: tuple[str, ...] = ()  # (): ALL
