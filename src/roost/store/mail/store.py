"""Mail semantics written once, over a small engine adapter (DESIGN.md "The store").

Theory of operation
-------------------
`MailStore` implements the `Store` protocol of roost.store.api. Each public method hands one
synchronous unit of work to the engine (`Engine.run`), which runs it inside one transaction
on the engine's own thread: the work either commits entirely or raises and changes nothing.

The units of work are plain functions over a `Tx` (roost.store.engines.api, the adapter
boundary), one module per concept:

    names.py      mailbox-name and address rules
    flags.py      how flags are stored and compared
    instants.py   how instants are stored
    query_sql.py  Query -> SQL WHERE, UID ranges
    texts.py      the folded search texts of a blob and the exact text tests
    lookup.py     the mailbox and account rows every unit of work starts from
    journal.py    what a unit of work changed, published after the commit
    changes.py    UID/MODSEQ counters, tombstones, the change logs and the account log
    accounts.py   domains and accounts
    mailboxes.py  create, delete, rename, subscribe, status
    messages.py   append, fetch, store flags, expunge, copy/move, search
    threads.py    THREADID per conversation
    quota.py      per-account limits, checked where mail is added
    devices.py    ActiveSync devices, their folder positions and remote wipe
    oof.py        out of office, and whom it answered
    aliases.py, services.py, outbound.py, message_ids.py, sorting.py, uidcache.py
    retention.py  tombstones and change logs folded past the horizon
    check.py      the store checked against itself (roost check)
    upkeep.py     the maintenance side of MailStore (retention, check, blob collection)

Every write runs inside a Journal (roost.store.mail.journal): the units that number changes
record what they changed there, and once the engine has committed, the store publishes
one hint per changed mailbox (and per account whose mailboxes changed) to its Publisher.
Writes made by other processes (the roost CLI, other workers) reach this process's
sessions through `follow`, which reads the account log past the last row it saw (the
PostgreSQL store overrides it with LISTEN/NOTIFY: roost.store.engines.postgresql.store).

Mail that is added is written as a blob and fsync'd on a thread of its own (the blobs of
concurrent deliveries are written side by side, not one after another in the engine's
queue) while its transaction runs; the transaction waits for the blob before it commits,
so a committed row never references a blob a crash could lose, and the commit is the
acknowledgement (`_with_blobs`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, TypeVar, cast

from roost.model import AccountId, BlobId, MailboxId, ModSeq, Uid, UidValidity
from roost.notify.api import Publisher
from roost.store.api import (
    Account,
    AccountChanges,
    AclEntry,
    Alias,
    AppendResult,
    Changes,
    CopyResult,
    Device,
    DevicePolicy,
    FieldRow,
    FlagMode,
    FlagResult,
    Mailbox,
    MailboxChange,
    MailboxStatus,
    MessageField,
    MessageFlags,
    MessageMeta,
    NewMessage,
    OutOfOffice,
    Query,
    QueueEntry,
    Quota,
    ReplaceResult,
    SharedMailbox,
    SortKey,
    Store,
    ThreadInfo,
    reads_text,
)
from roost.store.blobs import BlobStore, blob_id_of
from roost.store.engines.api import Engine, Row, Tx
from roost.store.mail import (
    accounts,
    acl,
    aliases,
    changes,
    devices,
    mailboxes,
    message_ids,
    oof,
    outbound,
    private,
    quota,
    services,
    sorting,
)
from roost.store.mail import messages as msgs  # "messages" is a parameter name of the Store API
from roost.store.mail.instants import now_utc
from roost.store.mail.journal import Journal
from roost.store.mail.lookup import get_mailbox, require_mailbox
from roost.store.mail.uidcache import UidCache
from roost.store.mail.upkeep import Upkeep

__all__ = ["Engine", "MailStore", "Row", "Tx"]

T = TypeVar("T")

BLOB_WRITERS = 8
# Reads that match messages' texts (SEARCH, SORT and THREAD with TEXT, BODY or a header)
# can take seconds on a large mailbox; at most this many run at once in a process, so that
# the engine's other readers stay free for everybody else's commands (issue 9: four such
# searches in parallel stalled another user's reads for 10 s). The others wait their turn.
TEXT_READS = 1
# ...and each may take this long (seconds); past it the engine stops it and the client is
# told to ask for less (IMAP NO [LIMIT]), so no search holds the turn for ever.
TEXT_READ_SECONDS = 60.0
# How often `follow` looks for other processes' writes (seconds), and how many account-log
# rows it reads at once.
FOLLOW_INTERVAL = 0.1
FOLLOW_BATCH = 1000


class _Silent:
    """The publisher of a store nobody listens to in this process (the roost CLI)."""

    def publish(self, hint: object) -> None:
        pass


_set_services = services.set_account_services  # the method's parameter shadows the module
_set_oof = oof.set_out_of_office  # likewise


class MailStore(Upkeep):
    """The Store protocol over an Engine and a BlobStore."""

    __slots__ = ("_blobs", "_engine", "_own", "_publisher", "_text_reads", "_uids", "_writer")

    def __init__(
        self, engine: Engine, blobs: BlobStore, publisher: Publisher | None = None
    ) -> None:
        self._engine = engine
        self._blobs = blobs
        self._publisher: Publisher = publisher or _Silent()
        # Account-log rows this process wrote and published itself (`follow` skips them).
        self._own: set[int] = set()
        # Blob writes are mostly waiting for fsync: several at once keep the disk busy.
        self._writer = ThreadPoolExecutor(max_workers=BLOB_WRITERS, thread_name_prefix="roost-blob")
        self._uids = UidCache()
        self._text_reads = asyncio.Semaphore(TEXT_READS)

    async def _read(self, work: Callable[[Tx], T], *, seconds: float | None = None) -> T:
        return await self._engine.run(work, seconds=seconds)

    async def _read_query(self, work: Callable[[Tx], T], query: Query) -> T:
        """A read answering query: one that reads messages' texts takes its turn among
        TEXT_READS. The turn is held until the engine has finished the work, also when the
        caller stops waiting (its client went away): a read already running goes on."""
        if not reads_text(query):
            return await self._read(work)
        await self._text_reads.acquire()
        try:
            running = asyncio.ensure_future(self._read(work, seconds=TEXT_READ_SECONDS))
        except BaseException:
            self._text_reads.release()
            raise
        running.add_done_callback(self._text_read_done)
        return await asyncio.shield(running)

    def _text_read_done(self, running: asyncio.Future[Any]) -> None:
        self._text_reads.release()
        if not running.cancelled():
            running.exception()  # seen here: its caller may have stopped waiting

    async def _write(self, work: Callable[[Tx], T], *, durable: bool = True) -> T:
        """Runs work as a write in a Journal; after the commit, publishes what it changed."""

        def unit(tx: Tx) -> tuple[T, Journal]:
            journal = Journal(tx)
            result = work(journal)
            self._announce(tx, journal)
            return result, journal

        result, journal = await self._engine.run(unit, write=True, durable=durable)
        # After the commit: a session woken by a hint must find what it names.
        self._own.update(journal.seqs)
        for hint in journal.hints():
            self._publisher.publish(hint)
        if journal.seqs:
            self._committed()
        return result

    def _committed(self) -> None:
        """After the commit of a write that logged changes: what an engine whose other
        processes learn of them from outside the transaction (SQLite's wake-ups) sends.
        Here, nothing."""

    def _announce(self, tx: Tx, journal: Journal) -> None:
        """Inside a write's transaction, once its work is done: what an engine that tells
        other processes itself (PostgreSQL's NOTIFY) sends them. Here, nothing: `follow`
        reads the account log."""

    async def follow(self, interval: float = FOLLOW_INTERVAL) -> None:
        """Publishes the writes other processes commit (the roost CLI, other workers) as
        they appear in the account log; runs until cancelled. This process's own writes
        were published at their commit and are skipped (one published twice, when the log
        is read before its writer heard back, costs its listeners one empty pull)."""
        seq = await self._read(changes.last_seq)
        while True:
            await asyncio.sleep(interval)
            seq = await self.publish_others(seq)

    async def publish_others(self, seq: int) -> int:
        """Publishes the account-log rows after seq that other processes wrote; returns
        the last seq read."""
        while True:
            rows = await self._read(partial(changes.log_since, seq=seq, limit=FOLLOW_BATCH))
            for row_seq, hint in rows:
                if row_seq not in self._own:
                    self._publisher.publish(hint)
            if rows:
                seq = rows[-1][0]
                self._own = {own for own in self._own if own > seq}
            if len(rows) < FOLLOW_BATCH:
                return seq

    async def _with_blobs(self, datas: list[bytes], work: Callable[[Tx, list[BlobId]], T]) -> T:
        """Runs work(tx, the blob ids of datas) as a write while the blobs are written on a
        thread of their own; the transaction waits for them before it commits (DESIGN.md:
        the blob is durable first), so the fsyncs of the blob and of the rows overlap with
        the work in between."""
        blobs = [blob_id_of(data) for data in datas]
        written = self._writer.submit(self._blobs.write_all, datas, blobs)

        def unit(tx: Tx) -> T:
            result = work(tx, blobs)
            written.result()
            # A collection since the write cannot take a blob referenced from here to
            # COMMIT (roost.store.blobs.BlobStore.keep).
            self._blobs.keep(tx, blobs, datas)
            return result

        return await self._write(unit)

    async def close(self) -> None:
        try:
            await self._engine.close()
        finally:
            self._writer.shutdown(wait=False)

    # --- domains and accounts

    async def create_team(self, address: str, members: Sequence[str]) -> Account:
        return await self._write(partial(accounts.create_team, address=address, members=members))

    async def mailbox_rights(self, account: AccountId, mailbox: MailboxId) -> str:
        return await self._read(partial(acl.rights, account=account, mailbox=mailbox))

    async def get_acl(self, mailbox: MailboxId) -> list[AclEntry]:
        return await self._read(partial(acl.get_acl, mailbox=mailbox))

    async def set_rights(self, mailbox: MailboxId, address: str, rights: str) -> str:
        return await self._write(
            partial(acl.set_rights, mailbox_id=mailbox, address=address, new=rights)
        )

    async def delete_rights(self, mailbox: MailboxId, address: str) -> None:
        await self._write(partial(acl.delete_rights, mailbox_id=mailbox, address=address))

    async def shared_mailboxes(self, account: AccountId) -> list[SharedMailbox]:
        return await self._read(partial(acl.shared_mailboxes, account=account))

    async def add_domain(self, domain: str) -> None:
        await self._write(partial(accounts.add_domain, domain=domain))

    async def list_domains(self) -> list[str]:
        return await self._read(accounts.list_domains)

    async def is_local_domain(self, domain: str) -> bool:
        return await self._read(partial(accounts.is_local_domain, domain=domain))

    async def delete_domain(self, domain: str) -> None:
        await self._write(partial(accounts.delete_domain, domain=domain))

    async def create_account(self, address: str, password_hash: str) -> Account:
        return await self._write(
            partial(accounts.create_account, address=address, password_hash=password_hash)
        )

    async def find_account(self, address: str) -> Account | None:
        return await self._read(partial(accounts.find_account, address=address))

    async def list_accounts(self) -> list[Account]:
        return await self._read(accounts.list_accounts)

    async def set_password(self, address: str, password_hash: str) -> None:
        await self._write(
            partial(accounts.set_password, address=address, password_hash=password_hash)
        )

    async def delete_account(self, address: str) -> None:
        await self._write(partial(accounts.delete_account, address=address))

    # --- aliases

    async def add_alias(self, alias: str, targets: Sequence[str]) -> Alias:
        return await self._write(partial(aliases.add_alias, alias=alias, targets=targets))

    async def delete_alias(self, alias: str, targets: Sequence[str] = ()) -> None:
        await self._write(partial(aliases.delete_alias, alias=alias, targets=targets))

    async def list_aliases(self) -> list[Alias]:
        return await self._read(aliases.list_aliases)

    async def find_recipients(self, address: str) -> list[Account]:
        return await self._read(partial(aliases.find_recipients, address=address))

    async def set_catch_all(self, domain: str, targets: Sequence[str]) -> None:
        await self._write(partial(aliases.set_catch_all, domain=domain, targets=targets))

    async def catch_all(self, domain: str) -> list[Account]:
        return await self._read(partial(aliases.catch_all, domain=domain))

    async def owns_address(self, account: AccountId, address: str) -> bool:
        return await self._read(partial(aliases.owns_address, account=account, address=address))

    # --- services an account may use

    async def account_services(self, account: AccountId) -> frozenset[str] | None:
        return await self._read(partial(services.account_services, account=account))

    async def set_account_services(
        self, account: AccountId, services: frozenset[str] | None
    ) -> None:
        work = partial(_set_services, account=account, services=services)
        await self._write(work)

    # --- out of office

    async def get_out_of_office(self, account: AccountId) -> OutOfOffice:
        return await self._read(partial(oof.get_out_of_office, account=account))

    async def set_out_of_office(self, account: AccountId, oof: OutOfOffice) -> None:
        await self._write(partial(_set_oof, account=account, oof=oof))

    async def claim_auto_reply(
        self, account: AccountId, sender: str, now: datetime, since: datetime
    ) -> bool:
        work = partial(oof.claim_auto_reply, account=account, sender=sender)
        return await self._write(partial(work, now=now, since=since))

    # --- quotas

    async def get_quota(self, account: AccountId) -> Quota:
        return await self._read(partial(quota.get_quota, account=account))

    async def set_quota(
        self, account: AccountId, storage_limit: int | None, message_limit: int | None
    ) -> None:
        work = partial(
            quota.set_quota,
            account=account,
            storage_limit=storage_limit,
            message_limit=message_limit,
        )
        await self._write(work)

    # --- ActiveSync devices (not durable: a crash loses at most a "last seen")

    async def device_seen(
        self, account: AccountId, device_id: str, device_type: str, user_agent: str
    ) -> Device:
        work = partial(
            devices.device_seen,
            account=account,
            device_id=device_id,
            device_type=device_type,
            user_agent=user_agent,
        )
        return await self._write(work, durable=False)

    async def list_devices(self, account: AccountId | None = None) -> list[Device]:
        return await self._read(partial(devices.list_devices, account=account))

    async def set_device_policy(
        self, account: AccountId, device_id: str, policy: DevicePolicy
    ) -> None:
        work = partial(devices.set_device_policy, account=account, device_id=device_id)
        await self._write(partial(work, policy=policy))

    async def request_wipe(self, account: AccountId, device_id: str) -> Device:
        work = partial(devices.request_wipe, account=account, device_id=device_id)
        return await self._write(work)

    async def acknowledge_wipe(self, account: AccountId, device_id: str) -> None:
        work = partial(devices.acknowledge_wipe, account=account, device_id=device_id)
        await self._write(work)

    async def delete_device(self, account: AccountId, device_id: str) -> None:
        await self._write(partial(devices.delete_device, account=account, device_id=device_id))

    async def set_synced(
        self, account: AccountId, device_id: str, mailbox: MailboxId, modseq: ModSeq
    ) -> None:
        work = partial(devices.set_synced, account=account, device_id=device_id)
        await self._write(partial(work, mailbox=mailbox, modseq=modseq), durable=False)

    async def synced(self, account: AccountId, device_id: str) -> dict[MailboxId, ModSeq]:
        return await self._read(partial(devices.synced, account=account, device_id=device_id))

    async def claim_client_id(
        self, account: AccountId, client_id: str, now: datetime, since: datetime
    ) -> bool:
        work = partial(devices.claim_client_id, account=account, client_id=client_id)
        return await self._write(partial(work, now=now, since=since))

    async def release_client_id(self, account: AccountId, client_id: str) -> None:
        work = partial(devices.release_client_id, account=account, client_id=client_id)
        await self._write(work)

    # --- mailboxes

    async def list_mailboxes(self, account: AccountId) -> list[Mailbox]:
        return await self._read(partial(mailboxes.list_mailboxes, account=account))

    async def list_subscriptions(self, account: AccountId) -> list[str]:
        return await self._read(partial(mailboxes.list_subscriptions, account=account))

    async def find_mailbox(self, account: AccountId, name: str) -> Mailbox:
        return await self._read(partial(require_mailbox, account=account, name=name))

    async def get_mailbox(self, mailbox: MailboxId) -> Mailbox:
        return await self._read(partial(get_mailbox, mailbox=mailbox))

    async def create_mailbox(
        self, account: AccountId, name: str, special_use: str | None = None
    ) -> Mailbox:
        return await self._write(
            partial(mailboxes.create_mailbox, account=account, name=name, special_use=special_use)
        )

    async def set_uidvalidity(
        self, mailbox: MailboxId, uidvalidity: UidValidity, highestmodseq: ModSeq | None = None
    ) -> Mailbox:
        work = partial(
            mailboxes.set_uidvalidity,
            mailbox_id=mailbox,
            uidvalidity=uidvalidity,
            highestmodseq=highestmodseq,
        )
        return await self._write(work)

    async def delete_mailbox(self, account: AccountId, name: str) -> None:
        await self._write(partial(mailboxes.delete_mailbox, account=account, name=name))

    async def rename_mailbox(self, account: AccountId, old: str, new: str) -> None:
        await self._write(partial(mailboxes.rename_mailbox, account=account, old=old, new=new))

    async def set_subscribed(self, account: AccountId, name: str, subscribed: bool) -> None:
        await self._write(
            partial(mailboxes.set_subscribed, account=account, name=name, subscribed=subscribed)
        )

    async def status(self, mailbox: MailboxId, *, viewer: AccountId | None = None) -> MailboxStatus:
        def work(tx: Tx) -> MailboxStatus:
            status = mailboxes.status(tx, mailbox)
            if viewer is None:
                return status
            return dataclasses.replace(
                status, unseen=private.unseen(tx, mailbox, viewer, status.messages)
            )

        return await self._read(work)

    async def mailbox_changes_since(
        self, account: AccountId, modseq: ModSeq
    ) -> tuple[ModSeq, list[MailboxChange]]:
        return await self._read(
            partial(changes.mailbox_changes_since, account=account, modseq=modseq)
        )

    # --- messages

    async def append(self, mailbox: MailboxId, messages: Sequence[NewMessage]) -> AppendResult:
        messages = list(messages)

        def work(tx: Tx, blobs: list[BlobId]) -> AppendResult:
            return msgs.append(tx, mailbox, messages, blobs, self._engine.text_index)

        return await self._with_blobs([message.data for message in messages], work)

    async def uids(self, mailbox: MailboxId) -> tuple[Sequence[Uid], ModSeq]:
        uids, highest = await self._read(partial(self._uids.uids, mailbox=mailbox))
        return cast(Sequence[Uid], uids), highest

    async def claim_recent(self, mailbox: MailboxId) -> tuple[Uid, Uid]:
        # \Recent is advisory (and gone from IMAP4rev2): a claim lost to a power cut makes a
        # message recent once more, so it need not wait for an fsync of its own.
        return await self._write(partial(msgs.claim_recent, mailbox=mailbox), durable=False)

    async def fetch_flags(
        self, mailbox: MailboxId, uids: Sequence[Uid], *, viewer: AccountId | None = None
    ) -> list[MessageFlags]:
        def work(tx: Tx) -> list[MessageFlags]:
            found = msgs.fetch_flags(tx, mailbox, uids)
            return found if viewer is None else private.overlay(tx, mailbox, viewer, found)

        return await self._read(work)

    async def keywords(self, mailbox: MailboxId) -> list[str]:
        return await self._read(partial(msgs.keywords, mailbox=mailbox))

    async def fetch_meta(
        self, mailbox: MailboxId, uids: Sequence[Uid], *, viewer: AccountId | None = None
    ) -> list[MessageMeta]:
        def work(tx: Tx) -> list[MessageMeta]:
            found = msgs.fetch_meta(tx, mailbox, uids)
            return found if viewer is None else private.overlay(tx, mailbox, viewer, found)

        return await self._read(work)

    async def fetch_fields(
        self,
        mailbox: MailboxId,
        uids: Sequence[Uid],
        fields: Sequence[MessageField],
        *,
        viewer: AccountId | None = None,
    ) -> list[FieldRow]:
        def work(tx: Tx) -> list[FieldRow]:
            found = msgs.fetch_fields(tx, mailbox, uids, fields)
            if viewer is None:
                return found
            return private.overlay_fields(tx, mailbox, viewer, fields, found)

        return await self._read(work)

    async def read_blob(self, blob: BlobId) -> bytes:
        return (await self._blobs.load([blob]))[0]

    async def read_blobs(
        self, blobs: Sequence[BlobId], *, prefixes: Sequence[int] | None = None
    ) -> list[bytes]:
        return await self._blobs.load(blobs, prefixes)

    async def store_flags(
        self,
        mailbox: MailboxId,
        uids: Sequence[Uid],
        mode: FlagMode,
        flags: frozenset[str],
        unchangedsince: ModSeq | None = None,
        *,
        viewer: AccountId | None = None,
    ) -> FlagResult:
        if viewer is not None:
            return await self._write(
                partial(
                    private.store_flags,
                    mailbox=mailbox,
                    viewer=viewer,
                    uids=uids,
                    mode=mode,
                    flags=flags,
                    unchangedsince=unchangedsince,
                )
            )
        work = partial(
            msgs.store_flags,
            mailbox=mailbox,
            uids=uids,
            mode=mode,
            flags=flags,
            unchangedsince=unchangedsince,
        )
        return await self._write(work)

    async def expunge(self, mailbox: MailboxId, uids: Sequence[Uid] | None = None) -> list[Uid]:
        return await self._write(partial(msgs.expunge, mailbox=mailbox, uids=uids))

    async def expunge_uids(self, mailbox: MailboxId, uids: Sequence[Uid]) -> list[Uid]:
        return await self._write(partial(msgs.expunge_uids, mailbox=mailbox, uids=uids))

    async def copy(
        self, source: MailboxId, uids: Sequence[Uid], dest: MailboxId, *, move: bool = False
    ) -> CopyResult:
        work = partial(msgs.copy, source=source, uids=uids, dest=dest, move=move, now=now_utc())
        return await self._write(work)

    async def replace(
        self, source: MailboxId, uid: Uid, dest: MailboxId, message: NewMessage
    ) -> ReplaceResult:
        def work(tx: Tx, blobs: list[BlobId]) -> ReplaceResult:
            return msgs.replace(tx, source, uid, dest, message, blobs[0], self._engine.text_index)

        return await self._with_blobs([message.data], work)

    async def search(
        self,
        mailbox: MailboxId,
        query: Query,
        *,
        limit: int | None = None,
        viewer: AccountId | None = None,
    ) -> list[Uid]:
        def work(tx: Tx) -> list[Uid]:
            mine = query if viewer is None else private.seen_query(query, viewer)
            return msgs.search(tx, mailbox, mine, self._engine.text_index, limit)

        return await self._read_query(work, query)

    async def sort(
        self,
        mailbox: MailboxId,
        query: Query,
        keys: Sequence[SortKey],
        *,
        viewer: AccountId | None = None,
    ) -> list[Uid]:
        def work(tx: Tx) -> list[Uid]:
            mine = query if viewer is None else private.seen_query(query, viewer)
            return sorting.sort(tx, mailbox, mine, keys)

        return await self._read_query(work, query)

    async def thread_info(
        self, mailbox: MailboxId, query: Query, *, viewer: AccountId | None = None
    ) -> list[ThreadInfo]:
        def work(tx: Tx) -> list[ThreadInfo]:
            mine = query if viewer is None else private.seen_query(query, viewer)
            return sorting.thread_info(tx, mailbox, mine)

        return await self._read_query(work, query)

    async def changes_since(
        self, mailbox: MailboxId, modseq: ModSeq, *, viewer: AccountId | None = None
    ) -> Changes:
        if viewer is not None:
            work = partial(private.changes_since, mailbox=mailbox, modseq=modseq, viewer=viewer)
            return await self._read(work)
        return await self._read(partial(changes.changes_since, mailbox_id=mailbox, modseq=modseq))

    async def account_changes_since(self, account: AccountId, modseq: ModSeq) -> AccountChanges:
        work = partial(changes.account_changes_since, account=account, modseq=modseq)
        return await self._read(work)

    async def find_by_message_id(
        self, mailbox: MailboxId, message_id: str, since: datetime
    ) -> list[tuple[Uid, BlobId]]:
        work = partial(
            message_ids.by_message_id, mailbox=mailbox, message_id=message_id, since=since
        )
        return await self._read(work)

    # --- the outbound queue

    async def enqueue(self, data: bytes, mail_from: str, recipients: Sequence[str]) -> list[int]:
        def work(tx: Tx, blobs: list[BlobId]) -> list[int]:
            return outbound.enqueue(tx, blobs[0], mail_from, recipients, now_utc())

        return await self._with_blobs([data], work)

    async def queue_entries(self, due: datetime | None = None) -> list[QueueEntry]:
        return await self._read(partial(outbound.entries, due=due))

    async def queue_retry_later(self, entry: int, when: datetime, error: str) -> None:
        await self._write(partial(outbound.retry_later, entry=entry, when=when, error=error))

    async def queue_remove(self, entries: Sequence[int]) -> int:
        return await self._write(partial(outbound.remove, ids=list(entries)))

    async def queue_flush(self) -> int:
        return await self._write(partial(outbound.flush, now=now_utc()))


def _conforms(store: MailStore) -> Store:
    # Lets mypy prove that MailStore implements every method of the Store protocol.
    return store
