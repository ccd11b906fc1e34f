"""The Store contract for ActiveSync devices: what they are, the MODSEQ each last synced
each folder to (what Ping compares with, whichever process serves it) and remote wipe.
Runs on every engine (tests/store/contract.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from roost.errors import MailErrorKind
from roost.model import ModSeq
from roost.store.api import DevicePolicy, Store
from tests.store.contract import MISSING_ACCOUNT, MISSING_MAILBOX, contract, refused


@contract
async def test_a_device_is_recorded_on_each_request(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    alice = await store.create_account("alice@example.org", "h")
    first = await store.device_seen(bob.id, "PHONE1", "iPhone", "Apple-iPhone/1")
    assert (first.device_id, first.device_type, first.user_agent) == (
        "PHONE1",
        "iPhone",
        "Apple-iPhone/1",
    )
    assert first.address == "bob@example.org"
    assert first.policy is DevicePolicy.NONE
    assert first.first_seen == first.last_seen
    assert first.wipe_requested is None and not first.wipe_pending
    again = await store.device_seen(bob.id, "PHONE1", "iPhone", "Apple-iPhone/2")
    assert again.user_agent == "Apple-iPhone/2"
    assert again.first_seen == first.first_seen and again.last_seen >= first.last_seen
    await store.device_seen(alice.id, "PHONE1", "Android", "Samsung")  # same id, another account
    await store.device_seen(bob.id, "ANDROID", "Android", "Samsung")
    assert [d.device_id for d in await store.list_devices(bob.id)] == ["ANDROID", "PHONE1"]
    everyone = [(d.address, d.device_id) for d in await store.list_devices()]
    assert everyone == [
        ("alice@example.org", "PHONE1"),
        ("bob@example.org", "ANDROID"),
        ("bob@example.org", "PHONE1"),
    ]
    await store.set_device_policy(bob.id, "PHONE1", DevicePolicy.FINAL)
    [phone] = [d for d in await store.list_devices(bob.id) if d.device_id == "PHONE1"]
    assert phone.policy is DevicePolicy.FINAL
    await refused(
        MailErrorKind.NONEXISTENT, store.set_device_policy(bob.id, "NONE", DevicePolicy.FINAL)
    )


@contract
async def test_the_positions_a_device_synced_are_kept_per_device(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    inbox = await store.find_mailbox(bob.id, "INBOX")
    work = await store.create_mailbox(bob.id, "Work")
    await store.device_seen(bob.id, "PHONE", "iPhone", "")
    await store.device_seen(bob.id, "TABLET", "iPad", "")
    assert await store.synced(bob.id, "PHONE") == {}
    assert [d.last_sync for d in await store.list_devices(bob.id)] == [None, None]
    await store.set_synced(bob.id, "PHONE", inbox.id, ModSeq(5))
    await store.set_synced(bob.id, "PHONE", work.id, ModSeq(2))
    await store.set_synced(bob.id, "PHONE", inbox.id, ModSeq(7))  # the latest counts
    await store.set_synced(bob.id, "TABLET", inbox.id, ModSeq(3))
    assert await store.synced(bob.id, "PHONE") == {inbox.id: 7, work.id: 2}
    assert await store.synced(bob.id, "TABLET") == {inbox.id: 3}
    phone, tablet = await store.list_devices(bob.id)
    assert phone.last_sync is not None and phone.last_sync >= phone.first_seen
    assert tablet.last_sync is not None
    # Unknown devices, other accounts' mailboxes and missing mailboxes record nothing.
    alice = await store.create_account("alice@example.org", "h")
    await store.device_seen(alice.id, "PHONE", "iPhone", "")
    await store.set_synced(alice.id, "PHONE", inbox.id, ModSeq(9))
    await store.set_synced(bob.id, "GHOST", inbox.id, ModSeq(9))
    await store.set_synced(bob.id, "PHONE", MISSING_MAILBOX, ModSeq(9))
    assert await store.synced(alice.id, "PHONE") == {}
    assert await store.synced(bob.id, "GHOST") == {}
    # A deleted mailbox's position goes with it; a deleted device's with the device.
    await store.delete_mailbox(bob.id, "Work")
    assert await store.synced(bob.id, "PHONE") == {inbox.id: 7}
    await store.delete_device(bob.id, "PHONE")
    assert await store.synced(bob.id, "PHONE") == {}
    assert [d.device_id for d in await store.list_devices(bob.id)] == ["TABLET"]
    await refused(MailErrorKind.NONEXISTENT, store.delete_device(bob.id, "PHONE"))


@contract
async def test_a_remote_wipe_is_asked_for_then_acknowledged(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    await store.device_seen(bob.id, "PHONE", "iPhone", "")
    await store.acknowledge_wipe(bob.id, "PHONE")  # none asked for: nothing recorded
    assert (await store.device_seen(bob.id, "PHONE", "iPhone", "")).wipe_acknowledged is None
    asked = await store.request_wipe(bob.id, "PHONE")
    assert asked.wipe_pending and asked.wipe_requested is not None
    assert asked.wipe_acknowledged is None
    seen = await store.device_seen(bob.id, "PHONE", "iPhone", "")
    assert seen.wipe_pending  # every request of the device hears of it
    await store.acknowledge_wipe(bob.id, "PHONE")
    done = await store.device_seen(bob.id, "PHONE", "iPhone", "")
    assert done.wipe_acknowledged is not None and done.wipe_pending
    await refused(MailErrorKind.NONEXISTENT, store.request_wipe(bob.id, "OTHER"))
    await refused(MailErrorKind.NONEXISTENT, store.request_wipe(MISSING_ACCOUNT, "PHONE"))


@contract
async def test_devices_go_with_their_account(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    inbox = await store.find_mailbox(bob.id, "INBOX")
    await store.device_seen(bob.id, "PHONE", "iPhone", "")
    await store.set_synced(bob.id, "PHONE", inbox.id, ModSeq(4))
    await store.request_wipe(bob.id, "PHONE")
    await store.delete_account("bob@example.org")
    again = await store.create_account("bob@example.org", "h")
    assert await store.list_devices(again.id) == []
    assert await store.list_devices() == []
    assert await store.synced(again.id, "PHONE") == {}


@contract
async def test_a_client_id_is_claimed_once_until_released_or_old(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    alice = await store.create_account("alice@example.org", "h")
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    day = timedelta(days=1)
    assert await store.claim_client_id(bob.id, "c1", t0, t0 - day)
    assert not await store.claim_client_id(bob.id, "c1", t0, t0 - day)  # a retry
    assert await store.claim_client_id(alice.id, "c1", t0, t0 - day)  # another account's
    await store.release_client_id(bob.id, "c1")  # not sent after all
    assert await store.claim_client_id(bob.id, "c1", t0, t0 - day)
    later = t0 + day + timedelta(seconds=1)
    assert await store.claim_client_id(bob.id, "c1", later, later - day)  # forgotten
    both = await asyncio.gather(
        *(store.claim_client_id(bob.id, "c2", t0, t0 - day) for _ in range(2))
    )
    assert sorted(both) == [False, True]
