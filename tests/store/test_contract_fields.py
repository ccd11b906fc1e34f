"""The Store contract for fetch_fields: the values of only the fields asked for, the same
as fetch_meta's, for the existing messages among the uids, ascending by uid. Part of the
contract suite (tests/store/contract.py, run once per engine)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from roost.errors import MailErrorKind
from roost.model import Uid
from roost.store.api import FlagMode, MessageField, MessageMeta, Store
from tests.store.contract import (
    MISSING_MAILBOX,
    account_inbox,
    contract,
    make,
    refused,
)

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
