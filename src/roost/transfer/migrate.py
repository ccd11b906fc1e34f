"""Moving an account from another IMAP server, keeping what devices know: UIDVALIDITY and
UIDs, flags and keywords, INTERNALDATE, subscriptions and special use.

Theory of operation
-------------------
A device that was synced with the old server holds, per mailbox, a UIDVALIDITY and the
UIDs of the messages it cached. If the new server shows the same mailbox with the same
UIDVALIDITY and each message under the same UID, the device's cache stays valid and it
downloads nothing again (RFC 9051 §2.3.1.1: the pair (UIDVALIDITY, UID) names a message
for good). So a mailbox that is new on Roost, or that never held a message (the default
mailboxes of a fresh account), takes the source mailbox's UIDVALIDITY
(Store.set_uidvalidity), and messages are appended under their source UIDs, ascending
(NewMessage.uid): UIDNEXT follows, and the gaps the source's expunges left stay gaps.

Devices that use CONDSTORE/QRESYNC (RFC 7162) also hold the source's HIGHESTMODSEQ; the
mailbox here starts above it (EXAMINE reports it once CONDSTORE is enabled), so a device
resyncing from its old MODSEQ hears of every message's flags once, rather than of nothing.

A mailbox that already holds mail of its own (with another UIDVALIDITY) cannot do that:
the source's messages are added as new mail, each recognised by its content hash so that
none is added twice.

Resuming: each batch is one commit, in ascending UID order, so after an interruption (a
crash, SIGKILL) everything below the target's UIDNEXT is there and the next run starts
from UIDNEXT: nothing is copied twice and nothing is missed. Run again, the migration also
brings over the flag changes made at the source since (for mailboxes that kept their
UIDs), so it can be repeated until the cut-over. A message counts as copied under its UID
when the message here under that UID has the source's size and INTERNALDATE: if mail was
delivered here meanwhile (the MX moved before the last run) and took a UID the source then
gave to its own next message, the source's message arrives as new mail instead of being
taken for the one here. Expunges at the source are not mirrored: a migration never
deletes mail.

The source is read with imaplib (the standard library): LIST with SPECIAL-USE and
SUBSCRIBED (LIST-EXTENDED, RFC 5258) when offered, EXAMINE (never changes \\Seen), UID
FETCH of FLAGS, INTERNALDATE and BODY.PEEK[] in batches. Names are asked for in UTF-8
(ENABLE UTF8=ACCEPT) when the source offers it, else decoded from modified UTF-7, and the
source's hierarchy separator becomes "/".
"""

from __future__ import annotations

import imaplib
import re
import ssl
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from roost.delivery import analyse
from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, BlobId, ModSeq, Uid, UidValidity
from roost.store.api import FlagMode, Mailbox, MessageField, NewMessage, Store
from roost.store.blobs import blob_id_of
from roost.transfer.appender import Appender
from roost.transfer.ingest import mailbox_blobs, valid_keyword
from roost.transfer.maildir import decode_mutf7
from roost.transfer.progress import Progress

__all__ = ["MigrateReport", "Source", "SourceError", "migrate_account", "parse_source"]

BATCH = 100  # messages per UID FETCH and per commit, at most
BATCH_OCTETS = 16 * 1024 * 1024  # and octets (a bigger message goes alone)
SPECIAL_USES = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
_LIST = re.compile(rb'\((?P<attrs>[^)]*)\) (?P<delim>NIL|"(?:[^"\\]|\\.)*") ?(?P<name>.*)$', re.S)
_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_INTERNALDATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class SourceError(Exception):
    """The source server refused or said something this cannot use."""


@dataclass(frozen=True, slots=True)
class Source:
    host: str
    port: int
    user: str
    tls: bool  # imaps: TLS from the first byte; imap: plain (for a server on this machine)


def parse_source(url: str) -> Source:
    """imaps://user@host[:port] (993) or imap://user@host[:port] (143, no TLS: only for a
    server reached over loopback or a trusted link). The user may be %-escaped."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ValueError(f"not imaps://user@host[:port]: {url}")
    tls = parts.scheme == "imaps"
    port = parts.port or (993 if tls else 143)
    return Source(parts.hostname, port, urllib.parse.unquote(parts.username), tls)


@dataclass(frozen=True, slots=True)
class _Folder:
    wire: bytes  # the name as the source spells it, for EXAMINE
    name: str  # Roost's name: decoded, "/" between levels
    special_use: str | None
    subscribed: bool
    selectable: bool


@dataclass(slots=True)
class MailboxMigrated:
    name: str
    copied: int
    kept_uids: bool
    flags_updated: int = 0


@dataclass(slots=True)
class MigrateReport:
    mailboxes: list[MailboxMigrated] = field(default_factory=list)

    @property
    def copied(self) -> int:
        return sum(m.copied for m in self.mailboxes)


def connect(source: Source, password: str, *, verify: bool = True) -> imaplib.IMAP4:
    try:
        if source.tls:
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(source.host, source.port, ssl_context=context)
        else:
            imap = imaplib.IMAP4(source.host, source.port)
        imap.login(source.user, password)
        # A server may list more once logged in (Dovecot does); imaplib keeps the first.
        typ, data = imap.capability()
        if typ == "OK" and data and isinstance(data[-1], bytes):
            imap.capabilities = tuple(data[-1].decode().upper().split())
    except (OSError, imaplib.IMAP4.error) as exc:
        raise SourceError(f"{source.host}:{source.port}: {exc}") from None
    if "UTF8=ACCEPT" in imap.capabilities:
        imap.enable("UTF8=ACCEPT")
    if "CONDSTORE" in imap.capabilities and "ENABLE" in imap.capabilities:
        imap.enable("CONDSTORE")  # so that EXAMINE says HIGHESTMODSEQ (RFC 7162 §3.1.1)
    return imap


async def migrate_account(
    imap: imaplib.IMAP4, store: Store, account: AccountId, progress: Progress
) -> MigrateReport:
    """Copies every mailbox of the logged-in source into the account (see the module's
    docstring); run again, it resumes, and brings over what changed since."""
    report = MigrateReport()
    folders = _folders(imap)
    await _make_way(store, account, folders)
    for folder in folders:
        if not folder.selectable:
            continue
        box = await _target(store, account, folder)
        report.mailboxes.append(await _migrate_mailbox(imap, store, box, folder, progress))
    return report


# ----- the source's mailboxes ---------------------------------------------------------


def _folders(imap: imaplib.IMAP4) -> list[_Folder]:
    extended = "LIST-EXTENDED" in imap.capabilities
    if extended:
        # imaplib has no LIST-EXTENDED of its own: its generic command path.
        typ, data = imap._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE SUBSCRIBED)")
        _, data = imap._untagged_response(typ, data, "LIST")
        subscribed: set[bytes] | None = None
    else:
        typ, data = imap.list()
        subscribed = {wire for _, _, wire in _parse_list(imap.lsub()[1])}
    if typ != "OK":
        raise SourceError(f"LIST failed: {data!r}")
    folders: list[_Folder] = []
    for attrs, delimiter, wire in _parse_list(data):
        words = {a.decode().casefold() for a in attrs.split()}
        use = next((u for u in SPECIAL_USES if u.casefold() in words), None)
        folders.append(
            _Folder(
                wire=wire,
                name=_roost_name(wire, delimiter, imap),
                special_use=use,
                subscribed="\\subscribed" in words if subscribed is None else wire in subscribed,
                selectable=not words & {"\\noselect", "\\nonexistent"},
            )
        )
    return sorted(folders, key=lambda f: f.name)


def _parse_list(data: list[object]) -> Iterator[tuple[bytes, bytes | None, bytes]]:
    """(attributes, delimiter, name as sent) of each LIST/LSUB response."""
    for item in data:
        if item is None:
            continue
        literal = None
        if isinstance(item, tuple):  # the name came as a literal
            line, literal = item[0], item[1]
        else:
            assert isinstance(item, bytes)
            line = item
        match = _LIST.match(line)
        if match is None:
            raise SourceError(f"cannot read LIST response {line!r}")
        delim = match.group("delim")
        delimiter = None if delim == b"NIL" else _unquote(delim)
        name = literal if literal is not None else _unquote(match.group("name").strip())
        yield match.group("attrs"), delimiter, name


def _unquote(text: bytes) -> bytes:
    if text.startswith(b'"') and text.endswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", text[1:-1])
    return text


def _roost_name(wire: bytes, delimiter: bytes | None, imap: imaplib.IMAP4) -> str:
    text = wire.decode("utf-8", errors="replace")
    if not getattr(imap, "utf8_enabled", False):
        text = decode_mutf7(text)
    parts = text.split(delimiter.decode()) if delimiter else [text]
    name = "/".join(parts)
    return "INBOX" if name.upper() == "INBOX" else name


# ----- one mailbox ----------------------------------------------------------------------


async def _make_way(store: Store, account: AccountId, folders: list[_Folder]) -> None:
    """Deletes the mailboxes here that never held a message and hold a special use that a
    source folder of another name has ("Sent" made with the account, "Sent Items" at the
    source): the source's folder takes the special use, and devices find their mail where
    they found it before."""
    uses = {f.special_use for f in folders if f.special_use is not None}
    names = {f.name.casefold() for f in folders}
    for box in await store.list_mailboxes(account):
        if box.special_use not in uses or box.name.casefold() in names or box.uidnext != 1:
            continue
        try:
            await store.delete_mailbox(account, box.name)
        except MailError as exc:
            if exc.kind not in (MailErrorKind.HAS_CHILDREN, MailErrorKind.CANNOT):
                raise


async def _target(store: Store, account: AccountId, folder: _Folder) -> Mailbox:
    """The mailbox here for folder, created if missing, subscribed as it is there."""
    try:
        box = await store.find_mailbox(account, folder.name)
    except MailError as exc:
        if exc.kind is not MailErrorKind.NONEXISTENT:
            raise
        try:
            box = await store.create_mailbox(account, folder.name, folder.special_use)
        except MailError:  # that special use is another mailbox's here already
            box = await store.create_mailbox(account, folder.name)
    if box.subscribed != folder.subscribed:
        await store.set_subscribed(account, box.name, folder.subscribed)
    return box


async def _migrate_mailbox(
    imap: imaplib.IMAP4, store: Store, box: Mailbox, folder: _Folder, progress: Progress
) -> MailboxMigrated:
    typ, data = imap.select(_quote(folder.wire), readonly=True)
    if typ != "OK":
        raise SourceError(f"EXAMINE {folder.name}: {data!r}")
    validity = int(imap.response("UIDVALIDITY")[1][0] or 0)
    exists = int(data[0] or 0) if data and isinstance(data[0], bytes) else 0
    highest = imap.response("HIGHESTMODSEQ")[1][0]
    modseq = ModSeq(int(highest)) if isinstance(highest, bytes) and highest.isdigit() else None
    # A mailbox that never held a message takes the source's UIDVALIDITY and starts above
    # its HIGHESTMODSEQ, also when its UIDVALIDITY happens to be the source's already (two
    # servers that made the mailbox in the same second).
    behind = modseq is not None and box.highestmodseq < modseq
    if box.uidnext == 1 and validity and (box.uidvalidity != validity or behind):
        box = await store.set_uidvalidity(box.id, UidValidity(validity), modseq)
    kept = box.uidvalidity == validity
    result = MailboxMigrated(box.name, 0, kept)
    theirs = _listing(imap) if exists else {}
    if not kept:
        result.copied += await _copy(imap, store, box, theirs, sorted(theirs), progress, False)
    elif theirs:
        same = await _copies_here(store, box, theirs)
        fresh = [u for u in sorted(theirs) if u >= box.uidnext]
        # Below UIDNEXT and not here as the same message: expunged here, or another
        # message took the UID here (mail delivered to Roost before the last run).
        others = [u for u in sorted(theirs) if u < box.uidnext and u not in same]
        result.copied += await _copy(imap, store, box, theirs, fresh, progress, True)
        result.copied += await _copy(imap, store, box, theirs, others, progress, False)
        result.flags_updated = await _update_flags(store, box, {u: theirs[u][0] for u in same})
    imap.close()
    return result


def _listing(imap: imaplib.IMAP4) -> dict[int, tuple[frozenset[str], int, datetime | None]]:
    """(flags, size, INTERNALDATE) of every message of the selected mailbox, by UID."""
    typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
    if typ != "OK":
        raise SourceError(f"UID FETCH 1:*: {data!r}")
    found: dict[int, tuple[frozenset[str], int, datetime | None]] = {}
    for line in data:
        uid = _UID.search(line) if isinstance(line, bytes) else None
        size = _SIZE.search(line) if isinstance(line, bytes) else None
        if uid is not None and size is not None and isinstance(line, bytes):
            found[int(uid.group(1))] = (_flags(line), int(size.group(1)), _internaldate(line))
    return found


async def _copies_here(
    store: Store, box: Mailbox, theirs: dict[int, tuple[frozenset[str], int, datetime | None]]
) -> set[Uid]:
    """The source's UIDs that name the same message here (same size and INTERNALDATE: what
    an earlier run copied under that UID)."""
    here, _ = await store.uids(box.id)
    candidates = sorted(Uid(u) for u in set(here) & set(theirs))
    same: set[Uid] = set()
    fields = [MessageField.SIZE, MessageField.INTERNALDATE]
    for start in range(0, len(candidates), 1000):
        for uid, size, internaldate in await store.fetch_fields(
            box.id, candidates[start : start + 1000], fields
        ):
            _, their_size, their_date = theirs[uid]
            if size == their_size and (their_date is None or internaldate == their_date):
                same.add(uid)
    return same


async def _copy(
    imap: imaplib.IMAP4,
    store: Store,
    box: Mailbox,
    listing: dict[int, tuple[frozenset[str], int, datetime | None]],
    uids: list[int],
    progress: Progress,
    keep_uids: bool,
) -> int:
    """Appends the source's messages uids, under their own UIDs or (not keep_uids) as new
    mail unless the same bytes are there already; returns how many it added."""
    present: set[BlobId] = set() if keep_uids else await mailbox_blobs(store, box.id)
    async with Appender(store, progress) as appender:
        for chunk in _batches(uids, listing):
            batch: list[NewMessage] = []
            for uid, flags, internaldate, data in _fetch(imap, chunk):
                blob = blob_id_of(data)
                if not keep_uids and blob in present:
                    continue
                present.add(blob)
                batch.append(
                    NewMessage(
                        data=data,
                        parsed=analyse(data),
                        flags=flags,
                        internaldate=internaldate,
                        uid=Uid(uid) if keep_uids else None,
                    )
                )
            await appender.append(box.id, batch)
    return appender.added


def _batches(
    uids: list[int], listing: dict[int, tuple[frozenset[str], int, datetime | None]]
) -> Iterator[list[int]]:
    """uids in batches of at most BATCH messages and BATCH_OCTETS (by the source's sizes;
    a bigger message goes alone), so memory stays bounded whatever the mail."""
    batch: list[int] = []
    octets = 0
    for uid in uids:
        size = listing[uid][1]
        if batch and (len(batch) >= BATCH or octets + size > BATCH_OCTETS):
            yield batch
            batch, octets = [], 0
        batch.append(uid)
        octets += size
    if batch:
        yield batch


def _fetch(
    imap: imaplib.IMAP4, uids: list[int]
) -> Iterator[tuple[int, frozenset[str], datetime | None, bytes]]:
    if not uids:
        return
    typ, data = imap.uid("FETCH", ",".join(map(str, uids)), "(UID FLAGS INTERNALDATE BODY.PEEK[])")
    if typ != "OK":
        raise SourceError(f"UID FETCH: {data!r}")
    found = []
    for item in data:
        if not isinstance(item, tuple):
            continue  # the ")" closing a response that carried a literal
        head, body = item[0], item[1]
        uid = _UID.search(head)
        if uid is None:
            raise SourceError(f"FETCH response without UID: {head[:200]!r}")
        found.append((int(uid.group(1)), _flags(head), _internaldate(head), body))
    found.sort(key=lambda f: f[0])
    yield from found


def _flags(head: bytes) -> frozenset[str]:
    match = _FLAGS.search(head)
    if match is None:
        return frozenset()
    words = match.group(1).decode("utf-8", errors="replace").split()
    # \Recent is the session's, never stored; keywords must be atoms to be stored.
    return frozenset(
        w for w in words if w.casefold() != "\\recent" and (w.startswith("\\") or valid_keyword(w))
    )


def _internaldate(head: bytes) -> datetime | None:
    match = _INTERNALDATE.search(head)
    if match is None:
        return None
    text = match.group(1).decode().strip()
    try:
        return datetime.strptime(text, "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


async def _update_flags(store: Store, box: Mailbox, theirs: dict[Uid, frozenset[str]]) -> int:
    """Brings the source's current flags to the messages copied by an earlier run."""
    if not theirs:
        return 0
    mine = {f.uid: f.flags for f in await store.fetch_flags(box.id, sorted(theirs))}
    groups: dict[frozenset[str], list[Uid]] = {}
    for uid, flags in theirs.items():
        if uid in mine and _folded(mine[uid]) != _folded(flags):
            groups.setdefault(flags, []).append(uid)
    for flags, uids in groups.items():
        await store.store_flags(box.id, sorted(uids), FlagMode.REPLACE, flags)
    return sum(len(u) for u in groups.values())


def _folded(flags: frozenset[str]) -> frozenset[str]:
    return frozenset(f.casefold() for f in flags)


def _quote(name: bytes) -> str:
    text = name.decode("utf-8", errors="surrogateescape")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
