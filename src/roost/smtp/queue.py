"""The outbound queue runner: delivers queued mail, retries, gives up with a DSN.

Theory of operation
-------------------
The queue lives in the store (roost.store.mail.outbound), one entry per recipient, written
before the client heard 250; this runner only reads and updates it, so a restart or a
kill -9 loses nothing: the next start finds the entries still due.

A pass takes the due entries and groups them by message, sender and recipient domain,
so one SMTP transaction serves all the recipients of a domain. Local recipients (their
account exists now) are delivered directly into INBOX; others go through the relay
(roost.smtp.relay). Per recipient: 2xx removes the entry; 5xx removes it and reports it
to the sender; 4xx schedules a retry with exponential back-off (RFC 5321 §4.5.4.1:
`queue_retry` seconds, doubling, at most 4 hours apart) until the entry is older than
`queue_give_up`, when it is reported too. A report is a delivery status notification
(RFC 3464): into the sender's INBOX if the sender is local, else queued to the sender
from the null reverse-path; nothing is ever reported about a report (sender <>).

`run` waits for the next due entry or a `wake()` (new mail, `roost queue flush`... and
the CLI, which is another process, is seen at the next periodic look).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from roost.config import Config
from roost.sessions import Sessions
from roost.smtp.dsn import Failure, delivery_status_notification
from roost.smtp.local import (
    Group,
    Local,
    Remote,
    classify,
    deliver_to_inbox,
    group_reply,
    members_of,
    tag_mailbox,
)
from roost.smtp.message import message_id
from roost.smtp.relay import Replies
from roost.store.api import QueueEntry, Store

__all__ = ["QueueRunner", "Relay", "backoff"]

log = logging.getLogger("roost.smtp.queue")

MAX_INTERVAL = timedelta(hours=4)
LOOK_INTERVAL = 60.0  # seconds: entries added by another process are seen this late
PARALLEL = 8  # transactions in flight at once


class Relay(Protocol):
    async def send(
        self, mail_from: str, recipients: Sequence[str], data: bytes, domain: str
    ) -> Replies: ...


def backoff(first: int, attempts: int) -> timedelta:
    """The wait after the attempts-th failed attempt (1 for the first)."""
    seconds = first * 2 ** min(max(attempts - 1, 0), 20)
    return min(timedelta(seconds=seconds), max(MAX_INTERVAL, timedelta(seconds=first)))


def _now() -> datetime:
    return datetime.now(UTC)


class QueueRunner:
    def __init__(
        self,
        *,
        store: Store,
        config: Config,
        relay: Relay,
        clock: Callable[[], datetime] = _now,
        sessions: Sessions | None = None,
    ) -> None:
        # Log lines and metrics of deliveries and relay attempts (roost.sessions).
        self.sessions = sessions if sessions is not None else Sessions()
        self.store = store
        self.config = config
        self.relay = relay
        self.clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Delivers until cancelled."""
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("queue pass failed; trying again later")
            await self._sleep()

    async def _sleep(self) -> None:
        entries = await self.store.queue_entries()
        delay = LOOK_INTERVAL
        if entries:
            soonest = min(entry.next_attempt for entry in entries)
            delay = min(delay, max((soonest - self.clock()).total_seconds(), 0.05))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()

    async def run_once(self) -> int:
        """One pass over the due entries; returns how many were attempted."""
        due = await self.store.queue_entries(self.clock())
        groups: dict[tuple[str, str, str], list[QueueEntry]] = defaultdict(list)
        for entry in due:
            domain = entry.recipient.rpartition("@")[2]
            groups[(entry.blob_id, entry.mail_from, domain)].append(entry)
        limit = asyncio.Semaphore(PARALLEL)
        async with asyncio.TaskGroup() as group:
            for entries in groups.values():
                group.create_task(self._attempt_guarded(entries, limit))
        return len(due)

    async def _attempt_guarded(self, entries: list[QueueEntry], limit: asyncio.Semaphore) -> None:
        async with limit:
            try:
                await self._attempt(entries)
            except Exception:
                # A bug must not stop the other groups; the entries stay due.
                log.exception("delivery attempt for %s failed", entries[0].recipient)

    async def _attempt(self, entries: list[QueueEntry]) -> None:
        first = entries[0]
        data = await self.store.read_blob(first.blob_id)
        replies: dict[int, str] = {}
        remote: list[QueueEntry] = []
        for entry in entries:
            match await classify(self.store, entry.recipient, self.config):
                case Local() | Group() as local:
                    replies[entry.id] = await self._deliver_locally(entry, local, data)
                case Remote():
                    remote.append(entry)
                case _:
                    replies[entry.id] = f"550 5.1.1 <{entry.recipient}>: no such user here"
        if remote:
            domain = remote[0].recipient.rpartition("@")[2]
            sent = await self.relay.send(
                first.mail_from, [e.recipient for e in remote], data, domain
            )
            for entry in remote:
                code, text = sent.get(entry.recipient, (451, "4.0.0 No reply"))
                replies[entry.id] = f"{code} {text}"
                self.sessions.relay(
                    sender=entry.mail_from,
                    recipient=entry.recipient,
                    attempt=entry.attempts + 1,
                    reply=replies[entry.id],
                )
        await self._settle(entries, replies, data)

    async def _deliver_locally(
        self, entry: QueueEntry, recipient: Local | Group, data: bytes
    ) -> str:
        """Delivers into the recipient's account, or each account of a group; the group's
        failed accounts are queued anew when the others have the message, so a retry
        gives no one a second copy."""
        outcome: list[tuple[str, str]] = []
        for member in members_of(recipient):
            reply = await deliver_to_inbox(
                self.store, member.account, data, tag_mailbox(member, self.config)
            )
            shown = member.account.address if isinstance(recipient, Group) else entry.recipient
            outcome.append((member.account.address, reply))
            self.sessions.delivery(
                protocol="queue",
                session=None,
                sender=entry.mail_from,
                recipient=shown,
                size=len(data),
                message_id=message_id(data),
                reply=reply,
            )
        if not isinstance(recipient, Group):
            return outcome[0][1]
        reply = group_reply(recipient, [r for _, r in outcome])
        failed = [address for address, r in outcome if not r.startswith("2")]
        if reply.startswith("2") and failed:
            await self.store.enqueue(data, entry.mail_from, failed)
        return reply

    async def _settle(
        self, entries: list[QueueEntry], replies: dict[int, str], data: bytes
    ) -> None:
        now = self.clock()
        done: list[int] = []
        failures: list[Failure] = []
        give_up = timedelta(seconds=self.config.queue_give_up)
        for entry in entries:
            reply = replies[entry.id]
            if reply.startswith("2"):
                log.debug("delivered to %s: %s", entry.recipient, reply)
                done.append(entry.id)
            elif reply.startswith("4") and now - entry.created < give_up:
                when = now + backoff(self.config.queue_retry, entry.attempts + 1)
                log.info("deferred %s until %s: %s", entry.recipient, when.isoformat(), reply)
                await self.store.queue_retry_later(entry.id, when, reply)
            else:
                log.warning("gave up on %s: %s", entry.recipient, reply)
                failures.append(Failure(entry.recipient, reply))
                done.append(entry.id)
        if failures:
            await self._report(entries[0], failures, data)
        if done:
            await self.store.queue_remove(done)

    async def _report(self, entry: QueueEntry, failures: list[Failure], data: bytes) -> None:
        """A DSN to the sender; never for a DSN (the null sender)."""
        if not entry.mail_from:
            log.warning("dropping undeliverable mail from <> (a bounce cannot bounce)")
            return
        report = delivery_status_notification(
            reporting_mta=self.config.hostname,
            sender=entry.mail_from,
            original=data,
            failures=failures,
            arrival=entry.created,
            now=self.clock(),
        )
        sender = await classify(self.store, entry.mail_from)
        if isinstance(sender, Local):
            reply = await deliver_to_inbox(self.store, sender.account, report)
            if reply.startswith("2"):
                return
        await self.store.enqueue(report, "", [entry.mail_from])
        self.wake()
