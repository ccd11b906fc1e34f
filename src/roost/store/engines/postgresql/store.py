"""The store on PostgreSQL: the mail semantics over PostgresEngine, bodies in the database.

Several Roost nodes share one database, and a change made through one must reach the
sessions of every other at once. Each write announces its hints inside its own transaction
with NOTIFY (`_announce`), which PostgreSQL delivers to every listening connection when,
and only if, the transaction commits, in commit order; each node LISTENs on one connection
of its own (`follow`) and publishes what other nodes (or the roost CLI) announced to its
sessions. A node's own writes were published at their commit; their announcements carry
the node's token and are skipped. A hint lost while the listening connection is down
(it reconnects) delays a push, never loses a change: the change log is the truth.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

import psycopg

from roost.model import AccountId, MailboxId, ModSeq
from roost.notify.api import Hint, Publisher
from roost.store.engines.api import Tx
from roost.store.engines.postgresql.blobs import DatabaseBlobStore
from roost.store.engines.postgresql.engine import PostgresEngine
from roost.store.mail.journal import Journal
from roost.store.mail.store import MailStore

__all__ = ["CHANNEL", "PostgresStore", "parse_announcement"]

log = logging.getLogger("roost.store")

CHANNEL = "roost_hints"
RECONNECT_SECONDS = 1.0


def announcement(token: str, hint: Hint) -> str:
    mailbox = "-" if hint.mailbox is None else str(hint.mailbox)
    return f"{token} {hint.account} {mailbox} {hint.modseq}"


def parse_announcement(payload: str, own: str) -> Hint | None:
    """The hint of another process's announcement; None for this process's own or junk."""
    parts = payload.split(" ")
    if len(parts) != 4 or parts[0] == own:
        return None
    try:
        account, modseq = AccountId(int(parts[1])), ModSeq(int(parts[3]))
        mailbox = None if parts[2] == "-" else MailboxId(int(parts[2]))
    except ValueError:
        return None
    return Hint(account, mailbox, modseq)


class PostgresStore(MailStore):
    """Everything in one PostgreSQL database, named by a libpq URL (postgresql://...)."""

    __slots__ = ("_token", "_url")

    def __init__(
        self, engine: PostgresEngine, url: str, publisher: Publisher | None = None
    ) -> None:
        super().__init__(engine, DatabaseBlobStore(engine), publisher)
        self._url = url
        self._token = secrets.token_hex(8)  # this process's announcements

    @classmethod
    async def open(cls, url: str, publisher: Publisher | None = None) -> PostgresStore:
        """Connects and migrates the database (which must exist). Hints of what it commits
        go to publisher (none: nobody in this process listens)."""
        return cls(await PostgresEngine.open(url), url, publisher)

    def _announce(self, tx: Tx, journal: Journal) -> None:
        for hint in journal.hints():
            tx.all("SELECT pg_notify(?, ?)", (CHANNEL, announcement(self._token, hint)))

    async def follow(self, interval: float = RECONNECT_SECONDS) -> None:
        """Publishes what other nodes announce, until cancelled; reconnects after
        `interval` seconds when the listening connection fails."""
        while True:
            try:
                await self._listen()
            except psycopg.OperationalError as exc:
                log.warning("listening for other nodes' changes failed (%s); retrying", exc)
            await asyncio.sleep(interval)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            async for note in conn.notifies():
                hint = parse_announcement(note.payload, self._token)
                if hint is not None:
                    self._publisher.publish(hint)
