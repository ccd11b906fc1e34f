"""The Store contract for fetch_fields: the values of only the fields asked for, the same
as fetch_meta's, for the existing messages among the uids, ascending by uid. Part of the
contract suite of test_contract.py (its fixture and helpers, run once per engine). And, for
SQLite, that migration 9's covering index is what the sync read uses."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from roost.errors import MailErrorKind
from roost.model import MailboxId, Uid
from roost.store.api import FlagMode, MessageField, MessageMeta, Store
from roost.store.messages import field_columns
from roost.store.query import select_uids
from roost.store.sqlite import DATABASE, SqliteStore, SqliteTx
from tests.store.test_contract import (
    MISSING_MAILBOX,
    account_inbox,
    contract,
    make,
    open_store,
    refused,
)

__all__ = ["open_store"]  # the fixture, re-used from test_contract

F = MessageField


def meta_value(meta: MessageMeta, field: MessageField) -> object:
    return getattr(meta, field.value)


@contract
async def test_fetch_fields_reads_what_fetch_meta_reads(store: Store) -> None:
    _, inbox = await account_inbox(store)
    zone = timezone(timedelta(hours=5, minutes=30))
    messages = [
        make(f"Message {n}", f"Body {n}", flags=flags, internaldate=when)
        for n, (flags, when) in enumerate(
            itertools.product(
                [(), ["\\Seen"], ["\\Flagged", "$Work"]],
                [None, datetime(2024, 7, 17, 2, 44, 25, tzinfo=zone)],
            )
        )
    ]
    uids = list((await store.append(inbox.id, messages)).uids)
    await store.store_flags(inbox.id, uids[:2], FlagMode.ADD, frozenset({"Later"}))
    wanted = [uids[4], uids[0], Uid(99), uids[2], uids[0]]
    metas = await store.fetch_meta(inbox.id, wanted)
    assert [m.uid for m in metas] == sorted({uids[0], uids[2], uids[4]})
    every = list(MessageField)
    for fields in [[], every, every[::-1], [F.FLAGS], [F.ENVELOPE, F.FLAGS, F.ENVELOPE]]:
        rows = await store.fetch_fields(inbox.id, wanted, fields)
        assert rows == [(m.uid, *(meta_value(m, f) for f in fields)) for m in metas], fields
    for a, b in itertools.combinations(every, 2):
        rows = await store.fetch_fields(inbox.id, uids, [a, b])
        assert rows == [
            (m.uid, meta_value(m, a), meta_value(m, b))
            for m in await store.fetch_meta(inbox.id, uids)
        ]
    [row] = await store.fetch_fields(inbox.id, [uids[5]], [F.INTERNALDATE, F.FLAGS])
    assert row[1].utcoffset() == timedelta(hours=5, minutes=30)
    assert row[2] == {"\\Flagged", "$Work"}
    assert await store.fetch_fields(inbox.id, [Uid(99)], every) == []
    await refused(MailErrorKind.NONEXISTENT, store.fetch_fields(MISSING_MAILBOX, uids, every))


def test_sqlite_sync_reads_use_the_covering_index(tmp_path: Path) -> None:
    """Migration 9: what the sync FETCH reads comes from two covering indexes, never from
    the wide rows: the fixed columns from messages_sync, flags and modseq from
    messages_flags."""

    async def fill() -> MailboxId:
        store = await SqliteStore.open(tmp_path)
        try:
            _, inbox = await account_inbox(store)
            await store.append(inbox.id, [make(f"M{n}") for n in range(20)])
            return inbox.id
        finally:
            await store.close()

    inbox = asyncio.run(fill())
    fixed = field_columns([F.ENVELOPE, F.BODYSTRUCTURE, F.SIZE, F.INTERNALDATE])
    changing = field_columns([F.FLAGS, F.MODSEQ])
    with sqlite3.connect(tmp_path / DATABASE) as conn:
        assert len(select_uids(SqliteTx(conn), fixed, inbox, [Uid(u) for u in range(30)])) == 20
        assert "COVERING INDEX messages_sync" in plan(conn, inbox, fixed)
        assert "COVERING INDEX messages_flags" in plan(conn, inbox, changing)


def plan(conn: sqlite3.Connection, mailbox: MailboxId, columns: str) -> str:
    rows = conn.execute(
        f"EXPLAIN QUERY PLAN SELECT {columns} FROM messages "
        "WHERE mailbox_id = ? AND (uid BETWEEN ? AND ?) ORDER BY uid",
        (mailbox, 1, 300),
    ).fetchall()
    return " ".join(str(row[-1]) for row in rows)
