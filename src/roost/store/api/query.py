"""A protocol-neutral query tree for searching a mailbox, and the keys of SORT and THREAD.

The IMAP layer turns SEARCH keys (with sequence numbers already resolved to uids) into these;
JMAP filters will map here too. roost.store.mail.query_sql compiles them to SQL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from roost.model import AccountId, Uid

__all__ = [
    "All",
    "And",
    "ArrivedAfter",
    "BodyContains",
    "DateBefore",
    "DateField",
    "DateOnOrAfter",
    "EmailIs",
    "HasFlag",
    "HeaderContains",
    "ModSeqAtLeast",
    "Not",
    "Or",
    "PlainQuery",
    "Query",
    "SeenBy",
    "SizeLarger",
    "SizeSmaller",
    "SortField",
    "SortKey",
    "TextContains",
    "TextQuery",
    "ThreadInfo",
    "ThreadIs",
    "UidIn",
    "reads_text",
]


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
class SeenBy:
    """The messages this account has read in a team mailbox: their own \\Seen (issue 15;
    what a viewer's \\Seen key becomes, roost.store.mail.private)."""

    account: AccountId


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
    | SeenBy
)
TextQuery = HeaderContains | BodyContains | TextContains
Query = PlainQuery | TextQuery | Not | And | Or


def reads_text(query: Query) -> bool:
    """Whether answering query reads messages' texts (TEXT, BODY, a header): the searches
    whose cost can grow with the mailbox's size, unlike those the message rows answer."""
    pending: list[Query] = [query]
    while pending:  # a loop, not recursion: a query may nest deeply
        match pending.pop():
            case HeaderContains() | BodyContains() | TextContains():
                return True
            case Not(query=inner):
                pending.append(inner)
            case And(queries=inner) | Or(queries=inner):
                pending.extend(inner)
            case _:
                pass
    return False


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
