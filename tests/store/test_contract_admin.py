"""The Store contract for what an administrator changes: the services an account may use,
and removing a domain (roost.cli; issue 13). Runs on every engine (tests/store/contract.py)."""

from __future__ import annotations

from roost.errors import MailErrorKind
from roost.store.api import Store
from tests.store.contract import MISSING_ACCOUNT, contract, refused


@contract
async def test_an_account_has_every_service_until_limited(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    alice = await store.create_account("alice@example.org", "h")
    assert await store.account_services(bob.id) is None
    await store.set_account_services(bob.id, frozenset({"imap", "submission"}))
    assert await store.account_services(bob.id) == frozenset({"imap", "submission"})
    assert await store.account_services(alice.id) is None  # only bob's changed
    await store.set_account_services(bob.id, frozenset())  # receives mail, logs in nowhere
    assert await store.account_services(bob.id) == frozenset()
    await store.set_account_services(bob.id, None)
    assert await store.account_services(bob.id) is None
    await refused(
        MailErrorKind.NONEXISTENT, store.set_account_services(MISSING_ACCOUNT, frozenset({"imap"}))
    )


@contract
async def test_services_go_with_their_account(store: Store) -> None:
    bob = await store.create_account("bob@example.org", "h")
    await store.set_account_services(bob.id, frozenset({"pop3"}))
    await store.delete_account("bob@example.org")
    again = await store.create_account("bob@example.org", "h")
    assert await store.account_services(again.id) is None


@contract
async def test_a_domain_is_deleted_only_once_empty(store: Store) -> None:
    await store.create_account("bob@example.org", "h")
    await store.add_domain("empty.test")
    await store.add_domain("example.net")  # bob@example.org must not keep example.net
    await store.create_account("carol@shop.test", "h")
    await store.add_alias("Sales@Shop.TEST", ["bob@example.org"])
    await refused(MailErrorKind.NONEXISTENT, store.delete_domain("nowhere.test"))
    await refused(MailErrorKind.HAS_CHILDREN, store.delete_domain("example.org"))
    await refused(MailErrorKind.HAS_CHILDREN, store.delete_domain("SHOP.test"))
    await store.delete_domain("empty.test")
    await store.delete_domain("example.net")
    assert await store.list_domains() == ["example.org", "shop.test"]
    assert not await store.is_local_domain("empty.test")
    await store.delete_account("carol@shop.test")
    await refused(MailErrorKind.HAS_CHILDREN, store.delete_domain("shop.test"))  # the alias
    await store.delete_alias("sales@shop.test")
    await store.set_catch_all("shop.test", ["bob@example.org"])  # a setting, not an address
    await store.delete_domain("shop.test")
    assert await store.list_domains() == ["example.org"]
    await store.add_domain("shop.test")  # the catch-all went with the domain
    assert await store.catch_all("shop.test") == []


@contract
async def test_domain_delete_reads_like_patterns_literally(store: Store) -> None:
    await store.create_account("bob@a-b.test", "h")
    await store.add_domain("a_b.test")
    await store.delete_domain("a_b.test")  # "_" is no wildcard: a-b.test is not its address
    assert await store.list_domains() == ["a-b.test"]
