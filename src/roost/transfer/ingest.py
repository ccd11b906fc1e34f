"""Filing imported messages: into which mailbox, whether already there, in batches.

See roost.transfer for why a message already imported is recognised by its content hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from roost.delivery import analyse
from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, BlobId, MailboxId, Uid
from roost.store.api import MessageField, NewMessage, Store
from roost.store.blobs import blob_id_of
from roost.transfer.appender import Appender
from roost.transfer.progress import Progress

__all__ = [
    "ImportReport",
    "Incoming",
    "Unreadable",
    "crlf",
    "file_messages",
    "mailbox_blobs",
    "target_name",
    "valid_keyword",
]

# One commit files this many messages (or this many octets), whichever comes first.
BATCH = 200
BATCH_OCTETS = 16 * 1024 * 1024
CHUNK = 1000  # uids per fetch_fields when reading what a mailbox holds

# RFC 9051 §9: flag-keyword = atom; ATOM-CHAR is any CHAR except atom-specials.
_KEYWORD = re.compile(r"[!#$&'+,\-./0-9:;<=>?@A-Z\[^_`a-z|}~]+")
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")


@dataclass(frozen=True, slots=True, kw_only=True)
class Incoming:
    """One message read from a source."""

    folder: tuple[str, ...]  # its folder below the target mailbox; () is the target itself
    data: bytes
    flags: frozenset[str]
    internaldate: datetime | None  # None: now
    origin: str  # where it came from, for reports (a file name, "mbox message 12")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Something in a source that is no message: reported and skipped."""

    origin: str
    reason: str


@dataclass(slots=True)
class ImportReport:
    added: int = 0
    present: int = 0  # already in their mailbox (an earlier run, or a duplicate)
    skipped: list[Unreadable] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # mailboxes made for the import
    dropped_keywords: set[str] = field(default_factory=set)  # not IMAP atoms


def crlf(data: bytes) -> bytes:
    """Lines ended by CRLF (RFC 5322 §2.1): what IMAP serves, and what Roost stores. A
    bare LF becomes CRLF; a CRLF stays (two replaces: many times faster than a regex)."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def valid_keyword(word: str) -> bool:
    return bool(_KEYWORD.fullmatch(word))


def target_name(target: str, folder: tuple[str, ...]) -> str:
    """The mailbox a source folder goes to: below the target, except that the folders of
    a whole account (target INBOX) become top-level mailboxes, as they were."""
    if not folder:
        return target
    if target.upper() == "INBOX":
        return "/".join(folder)
    return "/".join((target, *folder))


def problem(data: bytes, max_size: int) -> str | None:
    """Why data is no message worth importing, or None."""
    if not data.strip():
        return "empty"
    if len(data) > max_size:
        return f"larger than max_message_size ({len(data)} > {max_size} octets)"
    if b"\0" in data:
        return "contains NUL bytes"
    if not _HEADER_LINE.match(data):
        return "does not begin with a header field"
    return None


async def mailbox_blobs(store: Store, mailbox: MailboxId) -> set[BlobId]:
    """The blob id (content hash) of every message in mailbox."""
    uids, _ = await store.uids(mailbox)
    found: set[BlobId] = set()
    for start in range(0, len(uids), CHUNK):
        chunk: list[Uid] = list(uids[start : start + CHUNK])
        rows = await store.fetch_fields(mailbox, chunk, [MessageField.BLOB_ID])
        found.update(row[1] for row in rows)
    return found


@dataclass(slots=True)
class _Target:
    mailbox: MailboxId
    present: set[BlobId]
    batch: list[NewMessage] = field(default_factory=list)
    octets: int = 0


async def file_messages(
    store: Store,
    account: AccountId,
    target: str,
    source: Iterable[Incoming | Unreadable],
    progress: Progress,
    *,
    max_size: int,
) -> ImportReport:
    """Appends every message of source not yet in its mailbox, creating mailboxes as
    needed; returns what it did. While one batch commits, the next is read and analysed
    (roost.transfer.appender)."""
    async with Appender(store) as appender:
        filer = _Filer(store, appender, account, target, max_size)
        for item in source:
            await filer.take(item)
            progress.advance(octets=len(item.data) if isinstance(item, Incoming) else 0)
        for box in filer.targets.values():
            await filer.flush(box)
    filer.report.added = appender.added
    return filer.report


class _Filer:
    __slots__ = ("account", "appender", "max_size", "report", "store", "target", "targets")

    def __init__(
        self, store: Store, appender: Appender, account: AccountId, target: str, max_size: int
    ) -> None:
        self.store = store
        self.appender = appender
        self.account = account
        self.target = target
        self.max_size = max_size
        self.report = ImportReport()
        self.targets: dict[str, _Target] = {}

    async def take(self, item: Incoming | Unreadable) -> None:
        if isinstance(item, Unreadable):
            self.report.skipped.append(item)
            return
        data = crlf(item.data)
        why = problem(data, self.max_size)
        if why is not None:
            self.report.skipped.append(Unreadable(item.origin, why))
            return
        box = await self._target(target_name(self.target, item.folder))
        blob = blob_id_of(data)
        if blob in box.present:
            self.report.present += 1
            return
        box.present.add(blob)
        flags = frozenset(self._keep(item.flags))
        message = NewMessage(
            data=data, parsed=analyse(data), flags=flags, internaldate=item.internaldate
        )
        box.batch.append(message)
        box.octets += len(data)
        if len(box.batch) >= BATCH or box.octets >= BATCH_OCTETS:
            await self.flush(box)

    async def _target(self, name: str) -> _Target:
        if name not in self.targets:
            try:
                box = await self.store.find_mailbox(self.account, name)
            except MailError as exc:
                if exc.kind is not MailErrorKind.NONEXISTENT:
                    raise
                box = await self.store.create_mailbox(self.account, name)
                self.report.created.append(box.name)
            self.targets[name] = _Target(box.id, await mailbox_blobs(self.store, box.id))
        return self.targets[name]

    def _keep(self, flags: frozenset[str]) -> Iterator[str]:
        for flag in flags:
            if flag.startswith("\\") or valid_keyword(flag):
                yield flag
            else:
                self.report.dropped_keywords.add(flag)

    async def flush(self, box: _Target) -> None:
        await self.appender.append(box.mailbox, box.batch)
        box.batch = []
        box.octets = 0
