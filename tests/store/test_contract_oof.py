"""The Store contract for out of office: the setting per account, and at most one
automatic reply per sender in a while (RFC 3834 §2). Runs on every engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from roost.errors import MailErrorKind
from roost.store.api import OofReply, OofState, OutOfOffice, Store
from tests.store.contract import MISSING_ACCOUNT, contract, refused

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAYS = timedelta(days=7)


@contract
async def test_out_of_office_is_kept_per_account(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    alice = await store.create_account("alice@example.org", "h")
    assert await store.get_out_of_office(bob.id) == OutOfOffice()
    away = OutOfOffice(
        state=OofState.SCHEDULED,
        start=T0,
        end=T0 + DAYS,
        internal=OofReply(text="Back Monday, ask Carol."),
        external_unknown=OofReply(text="<p>Away</p>", html=True),
    )
    await store.set_out_of_office(bob.id, away)
    assert await store.get_out_of_office(bob.id) == away
    assert await store.get_out_of_office(alice.id) == OutOfOffice()
    assert away.active(T0 + timedelta(days=1)) and not away.active(T0 + DAYS)
    off = OutOfOffice(state=OofState.OFF, internal=OofReply(text="Back Monday, ask Carol."))
    await store.set_out_of_office(bob.id, off)
    assert await store.get_out_of_office(bob.id) == off
    await refused(MailErrorKind.NONEXISTENT, store.set_out_of_office(MISSING_ACCOUNT, away))
    await store.delete_account("bob@example.org")
    again = await store.create_account("bob@example.org", "h")
    assert await store.get_out_of_office(again.id) == OutOfOffice()


@contract
async def test_a_sender_gets_one_reply_in_a_while(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    alice = await store.create_account("alice@example.org", "h")
    await store.set_out_of_office(bob.id, OutOfOffice(state=OofState.ON))

    async def claim(who: str, now: datetime) -> bool:
        return await store.claim_auto_reply(bob.id, who, now, now - DAYS)

    assert await claim("carol@example.net", T0)
    assert not await claim("Carol@Example.NET", T0 + timedelta(days=1))
    assert await claim("dave@example.net", T0 + timedelta(days=1))
    assert await claim("carol@example.net", T0 + DAYS + timedelta(seconds=1))
    # Another account answers on its own.
    assert await store.claim_auto_reply(alice.id, "carol@example.net", T0, T0 - DAYS)
    # Two at once: one wins.
    both = await asyncio.gather(
        *(store.claim_auto_reply(bob.id, "erin@example.net", T0, T0 - DAYS) for _ in range(2))
    )
    assert sorted(both) == [False, True]
    # A new absence answers everyone again; changing the text of this one does not.
    await store.set_out_of_office(bob.id, OutOfOffice(state=OofState.ON, internal=None))
    assert not await claim("dave@example.net", T0 + timedelta(days=2))
    await store.set_out_of_office(bob.id, OutOfOffice(state=OofState.OFF))
    await store.set_out_of_office(bob.id, OutOfOffice(state=OofState.ON))
    assert await claim("dave@example.net", T0 + timedelta(days=2))
