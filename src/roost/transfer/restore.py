"""Restoring an account, a mailbox or single messages from one store into another (a
backup snapshot opened as a store, into the live one), over the Store interface.

Theory of operation
-------------------
A restore adds back what is missing; it never removes or rewrites what the live store
holds, so mail that arrived since the backup is safe, and so are the devices' caches.

- UIDs are never reused under one UIDVALIDITY (RFC 9051 §2.3.1.1), so a message cannot
  come back under the UID it had. A mailbox that is still the one of the backup (the same
  mailbox id and UIDVALIDITY) keeps its UIDVALIDITY: every UID in it keeps naming the same
  message, and restored messages arrive as new mail, with new UIDs, exactly as a device
  expects new mail to arrive. Its UIDs and contents are unchanged, only added to.
- A mailbox that is gone (deleted since the backup) is created again, and so gets a new
  UIDVALIDITY, as every re-created mailbox does (DESIGN.md): devices forgot the old one
  when it was deleted and fetch the new one whole. A mailbox of the same name that is not
  the backup's (deleted and re-created since) keeps its own UIDVALIDITY and gets the
  missing messages as new mail.
- A message counts as present if the mailbox holds its UID (same mailbox) or the same
  bytes (its blob id) under any UID, so a restore run twice adds nothing the second time.
- Messages come back with their flags and INTERNALDATE, but without \\Deleted: a restore
  is a request to have the message back, not to have it expunged again at the next
  EXPUNGE.
- An account that is gone is created again with its password hash, services, quota
  limits and aliases as they were in the backup.

Each mailbox is filled in batches (one commit each); the store publishes after each
commit, so devices see restored mail as it lands.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime

from roost.delivery import analyse
from roost.errors import MailError, MailErrorKind
from roost.model import DELETED, BlobId, Uid
from roost.store.api import Account, Mailbox, MessageField, MessageMeta, NewMessage, Store
from roost.transfer.appender import Appender
from roost.transfer.progress import Progress
from roost.transfer.walk import chosen_mailboxes, mailbox_messages

__all__ = ["MailboxRestored", "MessageFilter", "RestoreReport", "restore_account"]

BATCH = 200
CHUNK = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageFilter:
    """Which messages to restore (all, when every field is None)."""

    message_id: str | None = None  # with or without its angle brackets
    since: datetime | None = None  # INTERNALDATE at or after
    before: datetime | None = None  # INTERNALDATE before

    def dates(self, meta: MessageMeta) -> bool:
        when = meta.internaldate
        return (self.since is None or when >= self.since) and (
            self.before is None or when < self.before
        )


@dataclass(frozen=True, slots=True)
class MailboxRestored:
    name: str
    added: int
    created: bool  # re-created: it has a new UIDVALIDITY
    same: bool  # the backup's own mailbox: its UIDVALIDITY and UIDs kept, only added to
    uidvalidity: int


@dataclass(slots=True)
class RestoreReport:
    account_created: bool = False
    mailboxes: list[MailboxRestored] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(m.added for m in self.mailboxes)


async def restore_account(
    source: Store,
    target: Store,
    address: str,
    progress: Progress,
    *,
    mailbox: str | None = None,
    only: MessageFilter | None = None,
) -> RestoreReport:
    """Restores the account's mailboxes (or `mailbox` and those below it, or only the
    messages `only` picks) from source into target. ValueError if source lacks them."""
    backed_up = await source.find_account(address)
    if backed_up is None:
        raise ValueError(f"no account {address} in the backup")
    try:
        boxes = await chosen_mailboxes(source, backed_up, mailbox)
    except MailError as exc:
        if exc.kind is MailErrorKind.NONEXISTENT:
            raise ValueError(f"no mailbox {mailbox} of {address} in the backup") from None
        raise
    report = RestoreReport()
    live = await target.find_account(address)
    if live is None:
        live = await _recreate_account(source, target, backed_up)
        report.account_created = True
    for box in sorted(boxes, key=lambda b: b.name):
        restored = await _restore_mailbox(source, target, live, box, only, progress)
        if report.account_created:  # its mailboxes are all new, INBOX too
            restored = dataclasses.replace(restored, created=True)
        report.mailboxes.append(restored)
    return report


async def _recreate_account(source: Store, target: Store, account: Account) -> Account:
    live = await target.create_account(account.address, account.password_hash)
    services = await source.account_services(account.id)
    if services is not None:
        await target.set_account_services(live.id, services)
    quota = await source.get_quota(account.id)
    if quota.storage_limit is not None or quota.message_limit is not None:
        await target.set_quota(live.id, quota.storage_limit, quota.message_limit)
    for alias in await source.list_aliases():
        if account.address in alias.accounts:
            try:
                await target.add_alias(alias.address, [account.address])
            except MailError as exc:
                if exc.kind is not MailErrorKind.ALREADY_EXISTS:
                    raise
    return live


async def _restore_mailbox(
    source: Store,
    target: Store,
    account: Account,
    box: Mailbox,
    only: MessageFilter | None,
    progress: Progress,
) -> MailboxRestored:
    live, created = await _live_mailbox(target, account, box)
    same = not created and (live.id, live.uidvalidity) == (box.id, box.uidvalidity)
    present_uids, present_blobs = await _present(target, live)
    chosen = await _chosen_uids(source, box, only)
    batch: list[NewMessage] = []
    async with Appender(target, progress) as appender:
        async for meta, data in mailbox_messages(source, box.id):
            if chosen is not None and meta.uid not in chosen:
                continue
            if only is not None and not only.dates(meta):
                continue
            if (same and meta.uid in present_uids) or meta.blob_id in present_blobs:
                continue
            present_blobs.add(meta.blob_id)
            flags = frozenset(f for f in meta.flags if f != DELETED)
            parsed = analyse(data)
            batch.append(
                NewMessage(data=data, parsed=parsed, flags=flags, internaldate=meta.internaldate)
            )
            if len(batch) >= BATCH:
                await appender.append(live.id, batch)
                batch = []
        await appender.append(live.id, batch)
    return MailboxRestored(box.name, appender.added, created, same, live.uidvalidity)


async def _live_mailbox(target: Store, account: Account, box: Mailbox) -> tuple[Mailbox, bool]:
    try:
        return await target.find_mailbox(account.id, box.name), False
    except MailError as exc:
        if exc.kind is not MailErrorKind.NONEXISTENT:
            raise
    try:
        live = await target.create_mailbox(account.id, box.name, box.special_use)
    except MailError:
        # The special use may have moved to another mailbox since: the name matters more.
        live = await target.create_mailbox(account.id, box.name)
    if box.subscribed:
        await target.set_subscribed(account.id, live.name, True)
    return live, True


async def _present(target: Store, mailbox: Mailbox) -> tuple[set[Uid], set[BlobId]]:
    uids, _ = await target.uids(mailbox.id)
    blobs: set[BlobId] = set()
    for start in range(0, len(uids), CHUNK):
        chunk: list[Uid] = list(uids[start : start + CHUNK])
        rows = await target.fetch_fields(mailbox.id, chunk, [MessageField.BLOB_ID])
        blobs.update(row[1] for row in rows)
    return set(uids), blobs


async def _chosen_uids(source: Store, box: Mailbox, only: MessageFilter | None) -> set[Uid] | None:
    if only is None or only.message_id is None:
        return None
    wanted = only.message_id.strip()
    if not wanted.startswith("<"):
        wanted = f"<{wanted}>"
    return {uid for uid, _ in await source.find_by_message_id(box.id, wanted, _EPOCH)}
