"""The maildrop: a snapshot of INBOX taken when a POP3 session authenticates.

Theory of operation
-------------------
RFC 1939 numbers the messages 1..n for the whole session and expects the maildrop not to
change under the client. Roost's INBOX changes all the time (new mail, IMAP devices that
expunge), so a session works on a snapshot: the UIDs of INBOX at login, with their sizes.
Mail that arrives later waits for the next session. A message that an IMAP device expunges
meanwhile keeps its number; RETR and TOP ask the store for it and answer -ERR when it is
gone. DELE only marks; QUIT removes the marked UIDs in one store transaction
(`Store.expunge_uids`), which skips those already gone. A UID is never reused under one
UIDVALIDITY, so it names one message for ever: QUIT never removes the wrong message, and
"UIDVALIDITY.UID" is a UIDL value unique and stable across sessions (RFC 1939 §7), which
is what "leave mail on the server" clients key on.

The sizes are what RETR sends before dot-stuffing, CRLF line ends included
(roost.proto.pop3.responses.wire_size). They need the message bytes, so they are measured
once per blob and remembered (`WireSizes`): a blob's bytes never change (it is named by
their hash), so a session after the first one reads no message to list the maildrop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from roost.errors import MailError, MailErrorKind, ProtocolError
from roost.model import AccountId, BlobId, MailboxId, Uid, UidValidity
from roost.proto.pop3.responses import wire_size
from roost.store.api import MessageField, Store

__all__ = ["Entry", "Maildrop", "WireSizes", "open_maildrop"]

FETCH_CHUNK = 1000  # uids per fetch_fields call
READ_BATCH = 256  # blobs per read_blobs call...
READ_BATCH_OCTETS = 16 * 1024 * 1024  # ...and at most this many octets of them


@dataclass(frozen=True, slots=True)
class Entry:
    uid: Uid
    size: int  # octets RETR sends before dot-stuffing


class Maildrop:
    """Message numbers (1-based) over a snapshot of INBOX, and the DELE marks."""

    def __init__(self, *, mailbox: MailboxId, uidvalidity: UidValidity, entries: Sequence[Entry]):
        self.mailbox = mailbox
        self.uidvalidity = uidvalidity
        self.entries = tuple(entries)
        self.deleted: set[int] = set()

    def message(self, msg: int) -> Entry:
        """The message numbered msg; -ERR for no such number or one marked deleted
        (RFC 1939 §5: a deleted message may not be referred to)."""
        if not 1 <= msg <= len(self.entries):
            raise ProtocolError(f"no message {msg}")
        if msg in self.deleted:
            raise ProtocolError(f"message {msg} is deleted")
        return self.entries[msg - 1]

    def present(self) -> Iterator[tuple[int, Entry]]:
        """(number, entry) of every message not marked deleted, in order."""
        for msg, entry in enumerate(self.entries, 1):
            if msg not in self.deleted:
                yield msg, entry

    def totals(self) -> tuple[int, int]:
        """STAT: how many messages are not marked deleted, and their octets."""
        sizes = [entry.size for _, entry in self.present()]
        return len(sizes), sum(sizes)

    def unique_id(self, entry: Entry) -> str:
        return f"{self.uidvalidity}.{entry.uid}"

    def delete(self, msg: int) -> None:
        self.message(msg)
        self.deleted.add(msg)

    def reset(self) -> None:
        self.deleted.clear()

    def marked(self) -> list[Uid]:
        return [self.entries[msg - 1].uid for msg in sorted(self.deleted)]


class WireSizes:
    """Each blob's wire size, remembered: the first `limit` measured are kept, and then
    the oldest go first."""

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._known: dict[BlobId, int] = {}

    async def measure(self, store: Store, blobs: Sequence[tuple[BlobId, int]]) -> dict[BlobId, int]:
        """Wire sizes of (blob, stored size) pairs; a blob that is gone has none."""
        sizes: dict[BlobId, int] = {}
        unknown: list[tuple[BlobId, int]] = []
        for blob, stored in blobs:
            known = self._known.get(blob)
            if known is None:
                unknown.append((blob, stored))
            else:
                sizes[blob] = known
        for batch in _batches(unknown):
            for blob, data in zip(batch, await _read(store, batch), strict=True):
                if data is not None:
                    sizes[blob] = self._remember(blob, wire_size(data))
        return sizes

    def _remember(self, blob: BlobId, size: int) -> int:
        if len(self._known) >= self.limit:
            del self._known[next(iter(self._known))]
        self._known[blob] = size
        return size


async def open_maildrop(store: Store, account: AccountId, sizes: WireSizes) -> Maildrop:
    """The snapshot of the account's INBOX as it is now."""
    inbox = await store.find_mailbox(account, "INBOX")
    uids, _ = await store.uids(inbox.id)
    fields = (MessageField.SIZE, MessageField.BLOB_ID)
    rows = []
    for start in range(0, len(uids), FETCH_CHUNK):
        rows += await store.fetch_fields(inbox.id, uids[start : start + FETCH_CHUNK], fields)
    # A uid missing from rows, or whose blob is gone, was expunged after store.uids.
    measured = await sizes.measure(store, [(blob, size) for _, size, blob in rows])
    entries = [Entry(Uid(uid), measured[blob]) for uid, _, blob in rows if blob in measured]
    return Maildrop(mailbox=inbox.id, uidvalidity=inbox.uidvalidity, entries=entries)


def _batches(blobs: Sequence[tuple[BlobId, int]]) -> Iterator[list[BlobId]]:
    batch: list[BlobId] = []
    octets = 0
    for blob, stored in blobs:
        if batch and (len(batch) >= READ_BATCH or octets + stored > READ_BATCH_OCTETS):
            yield batch
            batch, octets = [], 0
        batch.append(blob)
        octets += stored
    if batch:
        yield batch


async def _read(store: Store, blobs: list[BlobId]) -> list[bytes | None]:
    try:
        return list(await store.read_blobs(blobs))
    except MailError as exc:
        if exc.kind is not MailErrorKind.NONEXISTENT:
            raise
    # One of them is gone (its message expunged and collected): read them one by one.
    out: list[bytes | None] = []
    for blob in blobs:
        try:
            out.append(await store.read_blob(blob))
        except MailError as exc:
            if exc.kind is not MailErrorKind.NONEXISTENT:
                raise
            out.append(None)
    return out
