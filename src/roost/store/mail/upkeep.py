"""The store's upkeep: what MailStore does besides the Store protocol (the server's
scheduled maintenance, `roost check`, blob collection).

`Upkeep` is a mixin of MailStore: it runs its units of work through the store's `_read`
and `_write` and reaches its blobs and engine, so the protocol side (store.py) and the
maintenance side each stay a module of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TypeVar

from roost.errors import MailError
from roost.model import BlobId
from roost.store.blobs import REFERENCED, BlobStore
from roost.store.engines.api import Engine, Tx
from roost.store.mail import check as check_units
from roost.store.mail import messages as msgs
from roost.store.mail import retention as retention_units
from roost.store.mail.instants import now_utc, to_micros

__all__ = ["Maintenance", "Upkeep"]

T = TypeVar("T")

FOLD_BATCH = 100  # mailboxes (or accounts) one unit of retention work handles at most
CHECK_BATCH = 64  # blobs `check` reads at once


@dataclass(frozen=True, slots=True, kw_only=True)
class Maintenance:
    """What one run of `maintain` removed."""

    tombstones: int
    log_rows: int
    blobs: int


class Upkeep:
    """The maintenance side of MailStore (not part of the Store protocol)."""

    __slots__ = ()
    _blobs: BlobStore
    _engine: Engine

    async def _read(self, work: Callable[[Tx], T]) -> T:
        raise NotImplementedError  # MailStore's

    async def _write(self, work: Callable[[Tx], T], *, durable: bool = True) -> T:
        raise NotImplementedError  # MailStore's

    async def maintain(
        self, *, retention: timedelta, blob_grace_seconds: float = 3600.0
    ) -> Maintenance:
        """The scheduled upkeep: folds tombstones and account-log rows older than
        retention (roost.store.mail.retention), then collects unreferenced blobs."""
        before = to_micros(now_utc() - retention)
        tombstones = await self._fold(retention_units.fold_tombstones, before)
        log_rows = await self._fold(retention_units.fold_account_log, before)
        blobs = await self.collect_blobs(blob_grace_seconds)
        return Maintenance(tombstones=tombstones, log_rows=log_rows, blobs=blobs)

    async def check(self, *, repair: bool = False) -> check_units.Report:
        """`roost check`: the rows checked against each other (roost.store.mail.check),
        then every blob read whole and checked against its name; with repair, what can be
        mended without losing mail is mended, and the rows are checked again."""
        report = check_units.Report(findings=await self._read(check_units.find_problems))
        blobs = await self._read(_referenced_blobs)
        for start in range(0, len(blobs), CHECK_BATCH):
            for blob in await self._damaged(blobs[start : start + CHECK_BATCH]):
                users = await self._read(partial(_blob_users, blob=blob))
                text = f"message file {blob} is missing or damaged; it holds {', '.join(users)}"
                report.findings.append(check_units.Finding(text, False))
        report.blobs_checked = len(blobs)
        if repair and any(f.repairable for f in report.findings):
            await self._write(check_units.repair_counters)
            report.repaired = True
            rows = await self._read(check_units.find_problems)
            report.findings = rows + [f for f in report.findings if not f.repairable]
        return report

    async def _damaged(self, blobs: list[BlobId]) -> list[BlobId]:
        try:
            await self._blobs.load(blobs)
            return []
        except MailError:  # one of them, at least: look at each
            pass
        damaged = []
        for blob in blobs:
            try:
                await self._blobs.load([blob])
            except MailError:
                damaged.append(blob)
        return damaged

    async def _fold(self, unit: Callable[[Tx, int, int], int], before: int) -> int:
        total = 0
        while dropped := await self._write(lambda tx: unit(tx, before, FOLD_BATCH)):
            total += dropped
        return total

    async def collect_blobs(self, grace_seconds: float = 3600.0) -> int:
        """Deletes unreferenced blobs older than grace_seconds; returns how many. Drops
        their search documents first (a blob delivered again is indexed again)."""
        await self._write(self._engine.text_index.prune)

        def collect(tx: Tx) -> int:
            # A write: the BlobStore keeps what a concurrent write comes to reference.
            msgs.forget_texts(tx)
            return self._blobs.collect_unreferenced(tx, grace_seconds)

        return await self._write(collect)


def _referenced_blobs(tx: Tx) -> list[BlobId]:
    rows = tx.all(f"{REFERENCED} ORDER BY 1")
    return [BlobId(row[0]) for row in rows]


def _blob_users(tx: Tx, blob: BlobId) -> list[str]:
    """Where a blob is used, in words: "alice@example.org 'INBOX' UID 7", queued mail."""
    rows = tx.all(
        "SELECT a.address, b.name, m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id "
        "JOIN accounts a ON a.id = b.account_id WHERE m.blob_id = ? ORDER BY 1, 2, 3",
        (blob,),
    )
    users = [f"{address} {name!r} UID {uid}" for address, name, uid in rows]
    queued = tx.one("SELECT COUNT(*) FROM outbound WHERE blob_id = ?", (blob,))
    if queued and queued[0]:
        users.append(f"{queued[0]} queued recipient(s)")
    return users
