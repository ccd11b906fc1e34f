"""Mail semantics written once, over a small engine adapter (DESIGN.md "The store").

Theory of operation
-------------------
`MailStore` implements the `Store` protocol of roost.store.api. Each public method hands one
synchronous unit of work to the engine (`Engine.run`), which runs it inside one transaction
on the engine's own thread: the work either commits entirely or raises and changes nothing.

Counters live on the mailbox row. A mutating call takes `highestmodseq + 1` as the modseq of
every row it touches and allocates consecutive UIDs from `uidnext`, in one UPDATE; a call that
changes nothing allocates nothing, so HIGHESTMODSEQ moves exactly when something observable
happened. UIDNEXT only grows and mailbox ids are never reused, so a UID is never reused
under one UIDVALIDITY. Expunged messages leave tombstones carrying the expunge's modseq;
`changes_since` reads rows and tombstones with modseq above the client's through the
(mailbox_id, modseq) indexes: cost follows the number of changes.

Mailbox-level changes (created, renamed, deleted, (un)subscribed) are logged per account
with the account's own modseq, one per call.

Mail that is added is first written as a blob and fsync'd, in `Engine.run(before=...)` on
the engine's thread just before its transaction begins: the commit is the acknowledgement.

The SQL is the dialect SQLite and PostgreSQL share (RETURNING, ON CONFLICT) with "?"
placeholders, which an engine translates if its driver needs another style. The search
predicates on text call SQL functions the engine registers from SQL_FUNCTIONS.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any, Protocol, TypeVar

from roost.errors import MailError, MailErrorKind
from roost.model import (
    DEFAULT_MAILBOXES,
    DELETED,
    SEEN,
    SYSTEM_FLAGS,
    AccountId,
    BlobId,
    MailboxId,
    ModSeq,
    Uid,
    UidValidity,
)
from roost.store.api import (
    Account,
    All,
    And,
    AppendResult,
    BodyContains,
    Changes,
    CopyResult,
    DateBefore,
    DateField,
    DateOnOrAfter,
    FlagMode,
    FlagResult,
    HasFlag,
    HeaderContains,
    Mailbox,
    MailboxChange,
    MailboxChangeKind,
    MailboxStatus,
    MessageFlags,
    MessageMeta,
    ModSeqAtLeast,
    NewMessage,
    Not,
    Or,
    Query,
    SizeLarger,
    SizeSmaller,
    Store,
    TextContains,
    UidIn,
)
from roost.store.blobs import BlobStore

__all__ = ["SQL_FUNCTIONS", "Engine", "MailStore", "Row", "Tx"]

T = TypeVar("T")
Row = tuple[Any, ...]


class Tx(Protocol):
    """One open transaction of an engine."""

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...
    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None: ...
    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Runs a statement; returns the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...


class Engine(Protocol):
    async def run(
        self,
        work: Callable[[Tx], T],
        *,
        write: bool = False,
        before: Callable[[], object] | None = None,
    ) -> T:
        """Runs before() (outside any transaction), then work(tx) in one transaction that
        commits if work returns and rolls back if it raises. write=True takes the write
        lock up front. Both run on the same thread, after every earlier call."""
        ...

    async def close(self) -> None: ...


# ----- names ------------------------------------------------------------------
# The store's hierarchy separator is "/" (api.py); INBOX is case-insensitive (RFC 9051
# §5.1), and so is the INBOX level of its inferiors, so "inbox/x" lives under INBOX.

SEP = "/"
INBOX = "INBOX"


def canonical_name(name: str) -> str:
    """The stored spelling of a mailbox name. CANNOT for an empty level."""
    levels = name.split(SEP)
    if len(levels) > 1 and levels[-1] == "":
        # RFC 9051 §6.3.4: a trailing separator only declares the intent to add inferiors.
        levels.pop()
    if any(level == "" for level in levels):
        raise MailError(MailErrorKind.CANNOT, "invalid mailbox name")
    if levels[0].isascii() and levels[0].upper() == INBOX:
        levels[0] = INBOX
    return SEP.join(levels)


def superiors(name: str) -> list[str]:
    """Superior names: "a/b/c" -> ["a", "a/b"]."""
    levels = name.split(SEP)
    return [SEP.join(levels[:i]) for i in range(1, len(levels))]


# ----- flags ------------------------------------------------------------------
# Stored as a bitmask of the system flags (in SYSTEM_FLAGS order) plus keywords as given,
# space-separated; keywords compare case-insensitively (RFC 9051 §2.3.2).

_SYSTEM_BITS = {flag.casefold(): 1 << i for i, flag in enumerate(SYSTEM_FLAGS)}
BIT_SEEN = _SYSTEM_BITS[SEEN.casefold()]
BIT_DELETED = _SYSTEM_BITS[DELETED.casefold()]


@dataclass(frozen=True, slots=True)
class Flags:
    bits: int = 0
    keywords: tuple[str, ...] = ()  # unique case-insensitively, sorted by casefold

    @classmethod
    def parse(cls, flags: frozenset[str] | set[str]) -> Flags:
        bits = 0
        keywords: dict[str, str] = {}
        for flag in flags:
            folded = flag.casefold()
            if flag.startswith("\\") and folded in _SYSTEM_BITS:
                bits |= _SYSTEM_BITS[folded]
                continue
            if not flag or any(c.isspace() for c in flag):
                # The protocol layers only pass atoms; anything else is a bug upstream.
                raise ValueError(f"invalid keyword {flag!r}")
            keywords.setdefault(folded, flag)
        return cls(bits, tuple(keywords[k] for k in sorted(keywords)))

    @classmethod
    def load(cls, bits: int, keywords: str) -> Flags:
        return cls(bits, tuple(keywords.split()))

    def dump(self) -> str:
        return " ".join(self.keywords)

    def as_set(self) -> frozenset[str]:
        system = (flag for flag in SYSTEM_FLAGS if self.bits & _SYSTEM_BITS[flag.casefold()])
        return frozenset((*system, *self.keywords))

    def _folded(self) -> frozenset[str]:
        return frozenset(k.casefold() for k in self.keywords)

    def same(self, other: Flags) -> bool:
        return self.bits == other.bits and self._folded() == other._folded()

    def apply(self, mode: FlagMode, other: Flags) -> Flags:
        if mode is FlagMode.ADD:
            mine = self._folded()
            extra = tuple(k for k in other.keywords if k.casefold() not in mine)
            merged = sorted((*self.keywords, *extra), key=str.casefold)
            return Flags(self.bits | other.bits, tuple(merged))
        if mode is FlagMode.REMOVE:
            gone = other._folded()
            kept = tuple(k for k in self.keywords if k.casefold() not in gone)
            return Flags(self.bits & ~other.bits, kept)
        # REPLACE: equal sets keep their stored spelling, so nothing counts as a change.
        return self if self.same(other) else other


# ----- instants -----------------------------------------------------------------
# Stored as integer unix microseconds (UTC) so that SQL compares integers; INTERNALDATE
# also keeps its UTC offset because IMAP returns it as given.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _MICROSECOND


def from_micros(micros: int, offset_seconds: int = 0) -> datetime:
    zone = UTC if offset_seconds == 0 else timezone(timedelta(seconds=offset_seconds))
    return (_EPOCH + micros * _MICROSECOND).astimezone(zone)


def utc_offset(when: datetime) -> int:
    offset = when.utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _now() -> datetime:
    # IMAP dates have second granularity; keeping it avoids surprises in SEARCH.
    return datetime.now(UTC).replace(microsecond=0)


# ----- search -------------------------------------------------------------------
# The Query tree compiles to one WHERE clause. Text predicates call SQL functions that do
# case-insensitive substring matching row by row: correct but a scan of the mailbox; the
# FTS5 index that makes them cost what they match comes with the benchmark issue.


def text_contains(haystack: str | None, needle: str) -> bool:
    return haystack is not None and needle.casefold() in haystack.casefold()


def header_contains(headers: str | None, name: str, needle: str) -> bool:
    """headers_text has one "name: value" line per field; "" matches a present field."""
    if headers is None:
        return False
    wanted, folded = name.casefold(), needle.casefold()
    for line in headers.splitlines():
        field, colon, value = line.partition(":")
        if colon and field.strip().casefold() == wanted and folded in value.casefold():
            return True
    return False


def has_keyword(keywords: str | None, keyword: str) -> bool:
    return keywords is not None and keyword.casefold() in keywords.casefold().split()


# name -> (number of arguments, implementation); every engine must provide these.
SQL_FUNCTIONS: dict[str, tuple[int, Callable[..., bool]]] = {
    "roost_contains": (2, text_contains),
    "roost_header_contains": (3, header_contains),
    "roost_has_keyword": (2, has_keyword),
}

_DATE_COLUMNS = {
    DateField.INTERNAL: "internaldate",
    # A message without a Date: field is treated as sent when it arrived, so that NOT
    # never meets an SQL NULL.
    DateField.SENT: "COALESCE(sent_date, internaldate)",
    DateField.SAVED: "savedate",
}


def compile_query(query: Query) -> tuple[str, list[object]]:
    """A WHERE clause (never NULL-valued) and its parameters."""
    match query:
        case All():
            return "1 = 1", []
        case UidIn(uids=ranges):
            return _uid_ranges_sql(ranges)
        case HasFlag(flag=flag):
            parsed = Flags.parse({flag})
            if parsed.bits:
                return "(system_flags & ?) != 0", [parsed.bits]
            return "roost_has_keyword(keywords, ?)", [flag]
        case HeaderContains(name=name, text=text):
            return "roost_header_contains(headers_text, ?, ?)", [name, text]
        case BodyContains(text=text):
            return "roost_contains(body_text, ?)", [text]
        case TextContains(text=text):
            sql = "(roost_contains(headers_text, ?) OR roost_contains(body_text, ?))"
            return sql, [text, text]
        case DateBefore(field=field, when=when):
            return f"{_DATE_COLUMNS[field]} < ?", [to_micros(when)]
        case DateOnOrAfter(field=field, when=when):
            return f"{_DATE_COLUMNS[field]} >= ?", [to_micros(when)]
        case SizeLarger(size=size):
            return "size > ?", [size]
        case SizeSmaller(size=size):
            return "size < ?", [size]
        case ModSeqAtLeast(modseq=modseq):
            return "modseq >= ?", [modseq]
        case Not(query=inner):
            sql, params = compile_query(inner)
            return f"NOT ({sql})", params
        case And(queries=queries):
            return _join(queries, " AND ", "1 = 1")
        case Or(queries=queries):
            return _join(queries, " OR ", "1 = 0")


def _join(queries: tuple[Query, ...], op: str, empty: str) -> tuple[str, list[object]]:
    if not queries:
        return empty, []
    parts, params = [], []
    for query in queries:
        sql, more = compile_query(query)
        parts.append(f"({sql})")
        params.extend(more)
    return op.join(parts), params


def _uid_ranges_sql(ranges: Sequence[tuple[int, int]]) -> tuple[str, list[object]]:
    if not ranges:
        return "1 = 0", []
    params: list[object] = []
    for first, last in ranges:
        params.extend((min(first, last), max(first, last)))
    return " OR ".join(["uid BETWEEN ? AND ?"] * len(ranges)), params


def uid_ranges(uids: Sequence[Uid]) -> list[tuple[int, int]]:
    """Ascending, merged inclusive ranges: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    ranges: list[tuple[int, int]] = []
    for uid in sorted(set(uids)):
        if ranges and ranges[-1][1] == uid - 1:
            ranges[-1] = (ranges[-1][0], uid)
        else:
            ranges.append((uid, uid))
    return ranges


# ----- rows -------------------------------------------------------------------------

_MAILBOX_SELECT = """
    SELECT m.id, m.account_id, m.name, m.uidvalidity, m.uidnext, m.highestmodseq,
           m.special_use,
           EXISTS (SELECT 1 FROM subscriptions s
                   WHERE s.account_id = m.account_id AND s.name = m.name)
    FROM mailboxes m"""

_ACCOUNT_SELECT = "SELECT id, address, password_hash FROM accounts"

# The columns a message carries from one mailbox to another (COPY/MOVE), after mailbox_id
# and uid/modseq/savedate/email_id/thread_id, which the destination decides.
_CARRIED = (
    "system_flags, keywords, internaldate, internaldate_tz, size, blob_id, header_size, "
    "envelope, bodystructure, body, parts, preview, headers_text, body_text, sent_date, "
    "message_id"
)
_INSERT_MESSAGE = (
    "INSERT INTO messages (mailbox_id, uid, modseq, savedate, email_id, thread_id, "
    f"{_CARRIED}) VALUES ({', '.join(['?'] * 22)})"
)
_META = (
    "uid, modseq, system_flags, keywords, internaldate, internaldate_tz, savedate, size, "
    "blob_id, email_id, thread_id, header_size, envelope, bodystructure, body, parts, preview"
)

# Uid ranges per statement: keeps the number of SQL parameters well under engine limits.
_RANGES_PER_QUERY = 200


def _mailbox(row: Row) -> Mailbox:
    return Mailbox(
        id=MailboxId(row[0]),
        account_id=AccountId(row[1]),
        name=row[2],
        uidvalidity=UidValidity(row[3]),
        uidnext=Uid(row[4]),
        highestmodseq=ModSeq(row[5]),
        special_use=row[6],
        subscribed=bool(row[7]),
    )


def _account(row: Row) -> Account:
    return Account(id=AccountId(row[0]), address=row[1], password_hash=row[2])


def _flags(row: Row) -> MessageFlags:
    """(uid, modseq, system_flags, keywords, ...) -> MessageFlags."""
    flags = Flags.load(row[2], row[3]).as_set()
    return MessageFlags(uid=Uid(row[0]), modseq=ModSeq(row[1]), flags=flags)


def _meta(row: Row) -> MessageMeta:
    return MessageMeta(
        uid=Uid(row[0]),
        modseq=ModSeq(row[1]),
        flags=Flags.load(row[2], row[3]).as_set(),
        internaldate=from_micros(row[4], row[5]),
        savedate=from_micros(row[6]),
        size=row[7],
        blob_id=BlobId(row[8]),
        email_id=row[9],
        thread_id=row[10],
        header_size=row[11],
        envelope=bytes(row[12]),
        bodystructure=bytes(row[13]),
        body=bytes(row[14]),
        parts=bytes(row[15]),
        preview=row[16],
    )


def email_id(account: AccountId, blob: BlobId) -> str:
    """RFC 8474 EMAILID: the same blob in one account is the same email, wherever it is."""
    return "M" + hashlib.sha256(f"{account}:{blob}".encode()).hexdigest()[:24]


def thread_id(email: str) -> str:
    # Every message is its own thread until real threading arrives; deterministic so the
    # id can be recomputed for a copy.
    return "T" + email[1:]


def _select_uids(
    tx: Tx, columns: str, mailbox: MailboxId, uids: Sequence[Uid], where: str = "1 = 1"
) -> list[Row]:
    """Rows of the existing messages among uids, ascending by uid."""
    ranges = uid_ranges(uids)
    rows: list[Row] = []
    for start in range(0, len(ranges), _RANGES_PER_QUERY):
        chunk = ranges[start : start + _RANGES_PER_QUERY]
        uid_sql, params = _uid_ranges_sql(chunk)
        sql = (
            f"SELECT {columns} FROM messages WHERE mailbox_id = ? AND ({uid_sql}) "
            f"AND ({where}) ORDER BY uid"
        )
        rows.extend(tx.all(sql, (mailbox, *params)))
    return rows


# ----- accounts and domains ---------------------------------------------------------


def normalise_address(address: str) -> str:
    """Lower-cases the domain only; CANNOT without a local part and a domain."""
    local, at, domain = address.strip().rpartition("@")
    if not (at and local and domain):
        raise MailError(MailErrorKind.CANNOT, "an address needs a local part and a domain")
    return f"{local}@{domain.lower()}"


def _add_domain(tx: Tx, domain: str) -> None:
    tx.execute("INSERT INTO domains (name) VALUES (?) ON CONFLICT DO NOTHING", (domain.lower(),))


def _find_account(tx: Tx, address: str) -> Account | None:
    try:
        address = normalise_address(address)
    except MailError:
        return None
    row = tx.one(f"{_ACCOUNT_SELECT} WHERE address = ?", (address,))
    return None if row is None else _account(row)


def _require_account(tx: Tx, account: AccountId) -> None:
    if tx.one("SELECT 1 FROM accounts WHERE id = ?", (account,)) is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")


def _create_account(tx: Tx, address: str, password_hash: str) -> Account:
    address = normalise_address(address)
    if _find_account(tx, address) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, "address taken")
    _add_domain(tx, address.rpartition("@")[2])
    row = tx.one(
        "INSERT INTO accounts (address, password_hash) VALUES (?, ?) RETURNING id",
        (address, password_hash),
    )
    assert row is not None
    account = AccountId(row[0])
    modseq = _bump_account(tx, account)
    for name, special_use in ((INBOX, None), *DEFAULT_MAILBOXES):
        mailbox = _insert_mailbox(tx, account, name, special_use, modseq)
        tx.execute("INSERT INTO subscriptions (account_id, name) VALUES (?, ?)", (account, name))
        _log(tx, account, modseq, MailboxChangeKind.SUBSCRIBED, mailbox, name)
    return Account(id=account, address=address, password_hash=password_hash)


def _set_password(tx: Tx, address: str, password_hash: str) -> None:
    account = _find_account(tx, address)
    if account is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    tx.execute("UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account.id))


def _delete_account(tx: Tx, address: str) -> None:
    account = _find_account(tx, address)
    if account is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    owned = "SELECT id FROM mailboxes WHERE account_id = ?"
    for table in ("messages", "tombstones"):
        tx.execute(f"DELETE FROM {table} WHERE mailbox_id IN ({owned})", (account.id,))
    for table in ("mailboxes", "subscriptions", "mailbox_changes"):
        tx.execute(f"DELETE FROM {table} WHERE account_id = ?", (account.id,))
    tx.execute("DELETE FROM accounts WHERE id = ?", (account.id,))


# ----- mailboxes ----------------------------------------------------------------------


def _bump_account(tx: Tx, account: AccountId) -> ModSeq:
    row = tx.one(
        "UPDATE accounts SET modseq = modseq + 1 WHERE id = ? RETURNING modseq", (account,)
    )
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    return ModSeq(row[0])


def _log(
    tx: Tx,
    account: AccountId,
    modseq: ModSeq,
    kind: MailboxChangeKind,
    mailbox: MailboxId | None,
    name: str,
    old_name: str | None = None,
) -> None:
    tx.execute(
        "INSERT INTO mailbox_changes (account_id, modseq, kind, mailbox_id, name, old_name) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (account, modseq, kind.value, mailbox, name, old_name),
    )


def _next_uidvalidity(tx: Tx) -> UidValidity:
    # Unique and increasing across the store, also across deleted mailboxes; the clock
    # keeps values apart from those of a store restored from an older backup.
    row = tx.one("SELECT value FROM counters WHERE name = 'uidvalidity'")
    assert row is not None
    value = max(int(time.time()), row[0] + 1)
    tx.execute("UPDATE counters SET value = ? WHERE name = 'uidvalidity'", (value,))
    return UidValidity(value)


def _insert_mailbox(
    tx: Tx, account: AccountId, name: str, special_use: str | None, modseq: ModSeq
) -> MailboxId:
    row = tx.one(
        "INSERT INTO mailboxes (account_id, name, uidvalidity, special_use) "
        "VALUES (?, ?, ?, ?) RETURNING id",
        (account, name, _next_uidvalidity(tx), special_use),
    )
    assert row is not None
    mailbox = MailboxId(row[0])
    _log(tx, account, modseq, MailboxChangeKind.CREATED, mailbox, name)
    return mailbox


def _find_mailbox(tx: Tx, account: AccountId, name: str) -> Mailbox | None:
    sql = f"{_MAILBOX_SELECT} WHERE m.account_id = ? AND m.name = ?"
    row = tx.one(sql, (account, canonical_name(name)))
    return None if row is None else _mailbox(row)


def _require_mailbox(tx: Tx, account: AccountId, name: str) -> Mailbox:
    mailbox = _find_mailbox(tx, account, name)
    if mailbox is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    return mailbox


def _get_mailbox(tx: Tx, mailbox: MailboxId) -> Mailbox:
    row = tx.one(f"{_MAILBOX_SELECT} WHERE m.id = ?", (mailbox,))
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    return _mailbox(row)


def _list_mailboxes(tx: Tx, account: AccountId) -> list[Mailbox]:
    rows = tx.all(f"{_MAILBOX_SELECT} WHERE m.account_id = ? ORDER BY m.name", (account,))
    return [_mailbox(row) for row in rows]


def _create_superiors(tx: Tx, account: AccountId, name: str, modseq: ModSeq) -> None:
    # RFC 9051 §6.3.4 and §6.3.6: CREATE and RENAME create missing superior names.
    for superior in superiors(name):
        if _find_mailbox(tx, account, superior) is None:
            _insert_mailbox(tx, account, superior, None, modseq)


def _create_mailbox(tx: Tx, account: AccountId, name: str, special_use: str | None) -> Mailbox:
    name = canonical_name(name)
    _require_account(tx, account)
    if _find_mailbox(tx, account, name) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, "mailbox exists")
    modseq = _bump_account(tx, account)
    _create_superiors(tx, account, name, modseq)
    return _get_mailbox(tx, _insert_mailbox(tx, account, name, special_use, modseq))


def _inferiors(tx: Tx, account: AccountId, name: str) -> list[Mailbox]:
    prefix = name + SEP
    # substr rather than LIKE: mailbox names may contain "%" and "_".
    sql = f"{_MAILBOX_SELECT} WHERE m.account_id = ? AND substr(m.name, 1, ?) = ?"
    return [_mailbox(row) for row in tx.all(sql, (account, len(prefix), prefix))]


def _delete_mailbox(tx: Tx, account: AccountId, name: str) -> None:
    name = canonical_name(name)
    if name == INBOX:
        raise MailError(MailErrorKind.CANNOT, "INBOX cannot be deleted")
    mailbox = _require_mailbox(tx, account, name)
    if _inferiors(tx, account, name):
        raise MailError(MailErrorKind.HAS_CHILDREN, "mailbox has inferiors")
    # The mailbox id is never reused, so its messages need no tombstones: a client that
    # knew it sees a new UIDVALIDITY (or no mailbox) and starts over.
    for table in ("messages", "tombstones"):
        tx.execute(f"DELETE FROM {table} WHERE mailbox_id = ?", (mailbox.id,))
    tx.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox.id,))
    modseq = _bump_account(tx, account)
    _log(tx, account, modseq, MailboxChangeKind.DELETED, mailbox.id, name)


def _rename_mailbox(tx: Tx, account: AccountId, old: str, new: str) -> None:
    old, new = canonical_name(old), canonical_name(new)
    source = _require_mailbox(tx, account, old)
    if _find_mailbox(tx, account, new) is not None:
        raise MailError(MailErrorKind.ALREADY_EXISTS, "target mailbox exists")
    # INBOX's inferiors stay where they are when it is renamed, so only other mailboxes
    # cannot move below themselves.
    if old != INBOX and new.startswith(old + SEP):
        raise MailError(MailErrorKind.CANNOT, "cannot rename a mailbox into itself")
    modseq = _bump_account(tx, account)
    _create_superiors(tx, account, new, modseq)
    if old == INBOX:
        _rename_inbox(tx, source, new, modseq)
        return
    moves = [(source, new)]
    moves += [(m, new + m.name[len(old) :]) for m in _inferiors(tx, account, old)]
    for mailbox, target in moves:
        if _find_mailbox(tx, account, target) is not None:
            raise MailError(MailErrorKind.ALREADY_EXISTS, f"{target} exists")
        tx.execute("UPDATE mailboxes SET name = ? WHERE id = ?", (target, mailbox.id))
        _log(tx, account, modseq, MailboxChangeKind.RENAMED, mailbox.id, target, mailbox.name)


def _rename_inbox(tx: Tx, inbox: Mailbox, new: str, modseq: ModSeq) -> None:
    # RFC 9051 §6.3.6: renaming INBOX moves its messages into a new mailbox and leaves
    # INBOX empty; its inferiors are not renamed.
    dest = _insert_mailbox(tx, inbox.account_id, new, None, modseq)
    uids = [
        Uid(row[0])
        for row in tx.all("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", (inbox.id,))
    ]
    _copy(tx, inbox.id, uids, dest, move=True, now=_now())


def _set_subscribed(tx: Tx, account: AccountId, name: str, subscribed: bool) -> None:
    name = canonical_name(name)
    _require_account(tx, account)
    if subscribed:
        sql = "INSERT INTO subscriptions (account_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING"
    else:
        sql = "DELETE FROM subscriptions WHERE account_id = ? AND name = ?"
    if tx.execute(sql, (account, name)) == 0:
        return  # no change, nothing to log
    mailbox = _find_mailbox(tx, account, name)
    kind = MailboxChangeKind.SUBSCRIBED if subscribed else MailboxChangeKind.UNSUBSCRIBED
    modseq = _bump_account(tx, account)
    _log(tx, account, modseq, kind, None if mailbox is None else mailbox.id, name)


def _status(tx: Tx, mailbox_id: MailboxId) -> MailboxStatus:
    mailbox = _get_mailbox(tx, mailbox_id)
    recent = tx.one("SELECT first_recent_uid FROM mailboxes WHERE id = ?", (mailbox_id,))
    assert recent is not None
    row = tx.one(
        "SELECT COUNT(*), "
        "COALESCE(SUM(CASE WHEN system_flags & ? = 0 THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN system_flags & ? != 0 THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(size), 0), "
        "COALESCE(SUM(CASE WHEN uid >= ? THEN 1 ELSE 0 END), 0) "
        "FROM messages WHERE mailbox_id = ?",
        (BIT_SEEN, BIT_DELETED, recent[0], mailbox_id),
    )
    assert row is not None
    messages, unseen, deleted, size, recent_count = row
    return MailboxStatus(
        mailbox=mailbox,
        messages=messages,
        unseen=unseen,
        deleted=deleted,
        size=size,
        recent=recent_count,
    )


def _mailbox_changes_since(
    tx: Tx, account: AccountId, modseq: ModSeq
) -> tuple[ModSeq, list[MailboxChange]]:
    row = tx.one("SELECT modseq FROM accounts WHERE id = ?", (account,))
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    rows = tx.all(
        "SELECT modseq, kind, mailbox_id, name, old_name FROM mailbox_changes "
        "WHERE account_id = ? AND modseq > ? ORDER BY modseq, id",
        (account, modseq),
    )
    changes = [
        MailboxChange(
            modseq=ModSeq(r[0]),
            kind=MailboxChangeKind(r[1]),
            mailbox_id=None if r[2] is None else MailboxId(r[2]),
            name=r[3],
            old_name=r[4],
        )
        for r in rows
    ]
    return ModSeq(row[0]), changes


# ----- messages -----------------------------------------------------------------------


def _advance(tx: Tx, mailbox: MailboxId, new_uids: int) -> tuple[Uid, ModSeq]:
    """Takes the next modseq and new_uids consecutive uids; returns (first uid, modseq)."""
    row = tx.one(
        "UPDATE mailboxes SET uidnext = uidnext + ?, highestmodseq = highestmodseq + 1 "
        "WHERE id = ? RETURNING uidnext - ?, highestmodseq",
        (new_uids, mailbox, new_uids),
    )
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    return Uid(row[0]), ModSeq(row[1])


def _append(
    tx: Tx, mailbox_id: MailboxId, messages: Sequence[NewMessage], blobs: Sequence[BlobId]
) -> AppendResult:
    mailbox = _get_mailbox(tx, mailbox_id)
    if not messages:
        return AppendResult(uidvalidity=mailbox.uidvalidity, uids=(), modseq=mailbox.highestmodseq)
    first, modseq = _advance(tx, mailbox_id, len(messages))
    now = _now()
    rows = []
    for offset, (message, blob) in enumerate(zip(messages, blobs, strict=True)):
        flags = Flags.parse(message.flags)
        internaldate = message.internaldate or now
        email = email_id(mailbox.account_id, blob)
        parsed = message.parsed
        # RFC822.SIZE is the length of what BODY[] returns: the blob itself.
        rows.append((
            mailbox_id, first + offset, modseq, to_micros(now), email, thread_id(email),
            flags.bits, flags.dump(), to_micros(internaldate), utc_offset(internaldate),
            len(message.data), blob, parsed.header_size, parsed.envelope,
            parsed.bodystructure, parsed.body, parsed.parts, parsed.preview,
            parsed.headers_text, parsed.body_text,
            None if parsed.sent_date is None else to_micros(parsed.sent_date),
            parsed.message_id,
        ))  # fmt: skip
    tx.executemany(_INSERT_MESSAGE, rows)
    uids = tuple(Uid(first + i) for i in range(len(messages)))
    return AppendResult(uidvalidity=mailbox.uidvalidity, uids=uids, modseq=modseq)


def _uids(tx: Tx, mailbox: MailboxId) -> tuple[list[Uid], ModSeq]:
    highest = _get_mailbox(tx, mailbox).highestmodseq
    rows = tx.all("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", (mailbox,))
    return [Uid(row[0]) for row in rows], highest


def _claim_recent(tx: Tx, mailbox: MailboxId) -> Uid:
    row = tx.one("SELECT first_recent_uid FROM mailboxes WHERE id = ?", (mailbox,))
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such mailbox")
    tx.execute("UPDATE mailboxes SET first_recent_uid = uidnext WHERE id = ?", (mailbox,))
    return Uid(row[0])


def _fetch_flags(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid]) -> list[MessageFlags]:
    _get_mailbox(tx, mailbox)
    rows = _select_uids(tx, "uid, modseq, system_flags, keywords", mailbox, uids)
    return [_flags(row) for row in rows]


def _fetch_meta(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid]) -> list[MessageMeta]:
    _get_mailbox(tx, mailbox)
    return [_meta(row) for row in _select_uids(tx, _META, mailbox, uids)]


def _store_flags(
    tx: Tx,
    mailbox: MailboxId,
    uids: Sequence[Uid],
    mode: FlagMode,
    flags: frozenset[str],
    unchangedsince: ModSeq | None,
) -> FlagResult:
    _get_mailbox(tx, mailbox)
    wanted = Flags.parse(flags)
    modified: list[Uid] = []
    updates: list[tuple[Uid, Flags]] = []
    for uid, modseq, bits, keywords in _select_uids(
        tx, "uid, modseq, system_flags, keywords", mailbox, uids
    ):
        if unchangedsince is not None and modseq > unchangedsince:
            # RFC 7162 §3.1.3: changed since the client looked; report, do not touch.
            modified.append(Uid(uid))
            continue
        old = Flags.load(bits, keywords)
        new = old.apply(mode, wanted)
        if not new.same(old):
            updates.append((Uid(uid), new))
    if not updates:
        return FlagResult(changed=(), modified=tuple(modified))
    _, modseq = _advance(tx, mailbox, 0)
    tx.executemany(
        "UPDATE messages SET system_flags = ?, keywords = ?, modseq = ? "
        "WHERE mailbox_id = ? AND uid = ?",
        [(new.bits, new.dump(), modseq, mailbox, uid) for uid, new in updates],
    )
    changed = tuple(
        MessageFlags(uid=uid, modseq=modseq, flags=new.as_set()) for uid, new in updates
    )
    return FlagResult(changed=changed, modified=tuple(modified))


def _remove(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid], modseq: ModSeq) -> None:
    """Deletes the messages and leaves tombstones carrying modseq."""
    rows = [(mailbox, uid) for uid in uids]
    tx.executemany("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?", rows)
    tx.executemany(
        "INSERT INTO tombstones (mailbox_id, uid, modseq) VALUES (?, ?, ?)",
        [(mailbox, uid, modseq) for uid in uids],
    )


def _expunge(tx: Tx, mailbox: MailboxId, uids: Sequence[Uid] | None) -> list[Uid]:
    _get_mailbox(tx, mailbox)
    deleted = f"system_flags & {BIT_DELETED} != 0"
    if uids is None:
        rows = tx.all(
            f"SELECT uid FROM messages WHERE mailbox_id = ? AND {deleted} ORDER BY uid",
            (mailbox,),
        )
    else:
        rows = _select_uids(tx, "uid", mailbox, uids, deleted)
    gone = [Uid(row[0]) for row in rows]
    if gone:
        _, modseq = _advance(tx, mailbox, 0)
        _remove(tx, mailbox, gone, modseq)
    return gone


def _copy(
    tx: Tx, source: MailboxId, uids: Sequence[Uid], dest: MailboxId, *, move: bool, now: datetime
) -> CopyResult:
    _get_mailbox(tx, source)
    target = _get_mailbox(tx, dest)
    rows = _select_uids(tx, f"uid, {_CARRIED}", source, uids)
    if not rows:
        return CopyResult(
            uidvalidity=target.uidvalidity,
            source_uids=(),
            dest_uids=(),
            dest_modseq=target.highestmodseq,
            source_modseq=None,
        )
    first, dest_modseq = _advance(tx, dest, len(rows))
    inserts = []
    for offset, (_uid, *carried) in enumerate(rows):
        # EMAILID follows the blob within an account (RFC 8474), so recomputing it keeps
        # it across copies and gives a copy into another account that account's id.
        email = email_id(target.account_id, BlobId(carried[5]))
        head = (dest, first + offset, dest_modseq, to_micros(now), email, thread_id(email))
        inserts.append((*head, *carried))
    tx.executemany(_INSERT_MESSAGE, inserts)
    source_uids = tuple(Uid(row[0]) for row in rows)
    source_modseq: ModSeq | None = None
    if move:
        # One modseq per mailbox per call, also when moving within one mailbox.
        source_modseq = dest_modseq if source == dest else _advance(tx, source, 0)[1]
        _remove(tx, source, source_uids, source_modseq)
    return CopyResult(
        uidvalidity=target.uidvalidity,
        source_uids=source_uids,
        dest_uids=tuple(Uid(first + i) for i in range(len(rows))),
        dest_modseq=dest_modseq,
        source_modseq=source_modseq,
    )


def _search(tx: Tx, mailbox: MailboxId, query: Query) -> list[Uid]:
    _get_mailbox(tx, mailbox)
    where, params = compile_query(query)
    rows = tx.all(
        f"SELECT uid FROM messages WHERE mailbox_id = ? AND ({where}) ORDER BY uid",
        (mailbox, *params),
    )
    return [Uid(row[0]) for row in rows]


def _changes_since(tx: Tx, mailbox_id: MailboxId, modseq: ModSeq) -> Changes:
    mailbox = _get_mailbox(tx, mailbox_id)
    changed = tx.all(
        "SELECT uid, modseq, system_flags, keywords FROM messages "
        "WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
        (mailbox_id, modseq),
    )
    expunged = tx.all(
        "SELECT uid FROM tombstones WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
        (mailbox_id, modseq),
    )
    return Changes(
        highestmodseq=mailbox.highestmodseq,
        uidnext=mailbox.uidnext,
        changed=tuple(_flags(row) for row in changed),
        expunged=tuple(Uid(row[0]) for row in expunged),
    )


def _referenced_blobs(tx: Tx) -> set[str]:
    return {row[0] for row in tx.all("SELECT DISTINCT blob_id FROM messages")}


# ----- the store ----------------------------------------------------------------------


class MailStore:
    """The Store protocol over an Engine and a BlobStore."""

    __slots__ = ("_blobs", "_engine")

    def __init__(self, engine: Engine, blobs: BlobStore) -> None:
        self._engine = engine
        self._blobs = blobs

    async def _read(self, work: Callable[[Tx], T]) -> T:
        return await self._engine.run(work)

    async def _write(self, work: Callable[[Tx], T]) -> T:
        return await self._engine.run(work, write=True)

    async def close(self) -> None:
        await self._engine.close()

    # --- domains and accounts

    async def add_domain(self, domain: str) -> None:
        await self._write(partial(_add_domain, domain=domain))

    async def list_domains(self) -> list[str]:
        rows = await self._read(lambda tx: tx.all("SELECT name FROM domains ORDER BY name"))
        return [row[0] for row in rows]

    async def is_local_domain(self, domain: str) -> bool:
        sql = "SELECT 1 FROM domains WHERE name = ?"
        return await self._read(lambda tx: tx.one(sql, (domain.lower(),)) is not None)

    async def create_account(self, address: str, password_hash: str) -> Account:
        return await self._write(
            partial(_create_account, address=address, password_hash=password_hash)
        )

    async def find_account(self, address: str) -> Account | None:
        return await self._read(partial(_find_account, address=address))

    async def list_accounts(self) -> list[Account]:
        rows = await self._read(lambda tx: tx.all(f"{_ACCOUNT_SELECT} ORDER BY address"))
        return [_account(row) for row in rows]

    async def set_password(self, address: str, password_hash: str) -> None:
        await self._write(partial(_set_password, address=address, password_hash=password_hash))

    async def delete_account(self, address: str) -> None:
        await self._write(partial(_delete_account, address=address))

    # --- mailboxes

    async def list_mailboxes(self, account: AccountId) -> list[Mailbox]:
        return await self._read(partial(_list_mailboxes, account=account))

    async def list_subscriptions(self, account: AccountId) -> list[str]:
        sql = "SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name"
        rows = await self._read(lambda tx: tx.all(sql, (account,)))
        return [row[0] for row in rows]

    async def find_mailbox(self, account: AccountId, name: str) -> Mailbox:
        return await self._read(partial(_require_mailbox, account=account, name=name))

    async def get_mailbox(self, mailbox: MailboxId) -> Mailbox:
        return await self._read(partial(_get_mailbox, mailbox=mailbox))

    async def create_mailbox(
        self, account: AccountId, name: str, special_use: str | None = None
    ) -> Mailbox:
        return await self._write(
            partial(_create_mailbox, account=account, name=name, special_use=special_use)
        )

    async def delete_mailbox(self, account: AccountId, name: str) -> None:
        await self._write(partial(_delete_mailbox, account=account, name=name))

    async def rename_mailbox(self, account: AccountId, old: str, new: str) -> None:
        await self._write(partial(_rename_mailbox, account=account, old=old, new=new))

    async def set_subscribed(self, account: AccountId, name: str, subscribed: bool) -> None:
        await self._write(
            partial(_set_subscribed, account=account, name=name, subscribed=subscribed)
        )

    async def status(self, mailbox: MailboxId) -> MailboxStatus:
        return await self._read(partial(_status, mailbox_id=mailbox))

    async def mailbox_changes_since(
        self, account: AccountId, modseq: ModSeq
    ) -> tuple[ModSeq, list[MailboxChange]]:
        return await self._read(partial(_mailbox_changes_since, account=account, modseq=modseq))

    # --- messages

    async def append(self, mailbox: MailboxId, messages: Sequence[NewMessage]) -> AppendResult:
        messages = list(messages)
        blobs: list[BlobId] = []

        def write_blobs() -> None:
            # Durable before the transaction that references them begins (DESIGN.md).
            blobs.extend(self._blobs.write(message.data) for message in messages)

        work = partial(_append, mailbox_id=mailbox, messages=messages, blobs=blobs)
        return await self._engine.run(work, write=True, before=write_blobs)

    async def uids(self, mailbox: MailboxId) -> tuple[list[Uid], ModSeq]:
        return await self._read(partial(_uids, mailbox=mailbox))

    async def claim_recent(self, mailbox: MailboxId) -> Uid:
        return await self._write(partial(_claim_recent, mailbox=mailbox))

    async def fetch_flags(self, mailbox: MailboxId, uids: Sequence[Uid]) -> list[MessageFlags]:
        return await self._read(partial(_fetch_flags, mailbox=mailbox, uids=uids))

    async def fetch_meta(self, mailbox: MailboxId, uids: Sequence[Uid]) -> list[MessageMeta]:
        return await self._read(partial(_fetch_meta, mailbox=mailbox, uids=uids))

    async def read_blob(self, blob: BlobId) -> bytes:
        # Blobs are immutable, so reads need neither the engine's thread nor a transaction.
        return await asyncio.to_thread(self._blobs.read, blob)

    async def store_flags(
        self,
        mailbox: MailboxId,
        uids: Sequence[Uid],
        mode: FlagMode,
        flags: frozenset[str],
        unchangedsince: ModSeq | None = None,
    ) -> FlagResult:
        work = partial(
            _store_flags,
            mailbox=mailbox,
            uids=uids,
            mode=mode,
            flags=flags,
            unchangedsince=unchangedsince,
        )
        return await self._write(work)

    async def expunge(self, mailbox: MailboxId, uids: Sequence[Uid] | None = None) -> list[Uid]:
        return await self._write(partial(_expunge, mailbox=mailbox, uids=uids))

    async def copy(
        self, source: MailboxId, uids: Sequence[Uid], dest: MailboxId, *, move: bool = False
    ) -> CopyResult:
        work = partial(_copy, source=source, uids=uids, dest=dest, move=move, now=_now())
        return await self._write(work)

    async def search(self, mailbox: MailboxId, query: Query) -> list[Uid]:
        return await self._read(partial(_search, mailbox=mailbox, query=query))

    async def changes_since(self, mailbox: MailboxId, modseq: ModSeq) -> Changes:
        return await self._read(partial(_changes_since, mailbox_id=mailbox, modseq=modseq))

    # --- maintenance (not part of the Store protocol: admin and CLI use)

    async def collect_blobs(self, grace_seconds: float = 3600.0) -> int:
        """Deletes unreferenced blobs older than grace_seconds; returns how many."""

        def collect(tx: Tx) -> int:
            # On the engine's thread, so no append of this process can interleave; the
            # grace period covers writers in other processes.
            return self._blobs.collect(_referenced_blobs(tx), grace_seconds=grace_seconds)

        return await self._read(collect)


def _conforms(store: MailStore) -> Store:
    # Lets mypy prove that MailStore implements every method of the Store protocol.
    return store
