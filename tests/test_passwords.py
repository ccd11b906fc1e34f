"""Password hashing, address normalisation and login checks."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field

import pytest
from argon2 import PasswordHasher

from roost.auth import accounts, passwords
from roost.auth.accounts import authenticate, normalise_address, normalise_domain
from roost.auth.passwords import (
    DUMMY_HASH,
    HASHING_NICENESS,
    MAX_NICENESS,
    VerifiedLogins,
    hash_password,
    needs_rehash,
    off_loop,
    verify_password,
)
from roost.errors import MailError, MailErrorKind
from roost.model import AccountId
from roost.store.api import Account

# ----- hashing -------------------------------------------------------------------------


def test_hash_then_verify() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horse ")
    assert not verify_password(stored, "")


def test_hashes_are_salted() -> None:
    assert hash_password("same") != hash_password("same")


def test_non_ascii_password() -> None:
    stored = hash_password("pässwörd ✓")
    assert verify_password(stored, "pässwörd ✓")
    assert not verify_password(stored, "passwoerd")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "$argon2id$",
        "$argon2id$v=19$m=65536,t=3,p=4$zz$zz",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
        "é",
    ],
)
def test_malformed_hash_never_raises(stored: str) -> None:
    assert verify_password(stored, "anything") is False
    assert needs_rehash(stored) is True


def test_password_that_is_not_unicode_text_does_not_raise() -> None:
    assert verify_password(hash_password("x"), "\udcff") is False


def test_needs_rehash() -> None:
    assert not needs_rehash(hash_password("x"))
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    old = weaker.hash("x")
    assert needs_rehash(old)
    assert verify_password(old, "x")  # an old hash still verifies


def test_dummy_hash_costs_what_a_real_hash_costs() -> None:
    assert not needs_rehash(DUMMY_HASH)


# ----- addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("alice@example.org", "alice@example.org"),
        ("  Alice@Example.ORG\n", "alice@example.org"),
        ("a.b+tag@sub.example.org", "a.b+tag@sub.example.org"),
        ("demo@localhost", "demo@localhost"),
        ("bob@example.org.", "bob@example.org"),
        ("Jörg@Bücher.de", "jörg@bücher.de"),
    ],
)
def test_normalise_address(text: str, normalised: str) -> None:
    assert normalise_address(text) == normalised


@pytest.mark.parametrize(
    "text",
    [
        "",
        "alice",
        "@example.org",
        "alice@",
        "a@b@c",
        "a b@example.org",
        "<alice@example.org>",
        ".alice@example.org",
        "alice.@example.org",
        "al..ice@example.org",
        "alice@-example.org",
        "alice@example-.org",
        "alice@exa_mple.org",
        "alice@example..org",
        "alice@[127.0.0.1]",
        "x" * 65 + "@example.org",
        "alice@" + "x" * 64 + ".org",
    ],
)
def test_normalise_address_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        normalise_address(text)


def test_normalise_domain() -> None:
    assert normalise_domain(" Example.ORG. ") == "example.org"
    with pytest.raises(ValueError):
        normalise_domain("exa mple.org")
    with pytest.raises(ValueError):
        normalise_domain("")


# ----- authenticate --------------------------------------------------------------------


@dataclass
class FakeStore:
    """Just the account part of the Store interface."""

    accounts: dict[str, Account] = field(default_factory=dict)

    def add(self, address: str, password_hash: str) -> Account:
        account = Account(
            id=AccountId(len(self.accounts) + 1), address=address, password_hash=password_hash
        )
        self.accounts[address] = account
        return account

    async def find_account(self, address: str) -> Account | None:
        return self.accounts.get(address)

    async def set_password(self, address: str, password_hash: str) -> None:
        if address not in self.accounts:
            raise MailError(MailErrorKind.NONEXISTENT)
        self.add(address, password_hash)


@dataclass
class VerifySpy:
    """Records what verify_password was asked and on which thread."""

    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def __call__(self, stored: str, password: str) -> bool:
        self.calls.append((stored, password, threading.get_ident()))
        return verify_password(stored, password)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> VerifySpy:
    spy = VerifySpy()
    monkeypatch.setattr(accounts, "verify_password", spy)
    return spy


@pytest.fixture
def store() -> FakeStore:
    store = FakeStore()
    store.add("alice@example.org", hash_password("secret"))
    return store


def login(store: FakeStore, address: str, password: str) -> Account | None:
    return asyncio.run(authenticate(store, address, password))  # type: ignore[arg-type]


def test_right_password(store: FakeStore) -> None:
    account = login(store, "alice@example.org", "secret")
    assert account is not None
    assert account.address == "alice@example.org"


def test_address_case_and_spaces_do_not_matter(store: FakeStore) -> None:
    assert login(store, " ALICE@Example.Org ", "secret") is not None


def test_wrong_password(store: FakeStore) -> None:
    assert login(store, "alice@example.org", "Secret") is None


def test_unknown_user_costs_a_verification(store: FakeStore, spy: VerifySpy) -> None:
    assert login(store, "mallory@example.org", "secret") is None
    assert [(stored, password) for stored, password, _ in spy.calls] == [(DUMMY_HASH, "secret")]


def test_malformed_address_costs_a_verification(store: FakeStore, spy: VerifySpy) -> None:
    assert login(store, "not an address", "secret") is None
    assert [stored for stored, _, _ in spy.calls] == [DUMMY_HASH]


def test_verification_runs_off_the_event_loop_thread(store: FakeStore, spy: VerifySpy) -> None:
    async def run() -> int:
        await authenticate(store, "alice@example.org", "secret")  # type: ignore[arg-type]
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    assert len(spy.calls) == 1
    assert spy.calls[0][2] != loop_thread


def test_hashing_threads_yield_the_cpu_to_the_event_loop() -> None:
    async def niceness() -> tuple[int, int]:
        here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        there = await off_loop(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return here, there

    here, there = asyncio.run(niceness())
    assert there == min(MAX_NICENESS, here + HASHING_NICENESS)


def test_old_hash_is_upgraded_on_login(store: FakeStore) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("pw")
    store.add("bob@example.org", old)
    account = login(store, "bob@example.org", "pw")
    assert account is not None
    assert account.password_hash != old
    assert not needs_rehash(account.password_hash)
    assert store.accounts["bob@example.org"].password_hash == account.password_hash
    assert verify_password(account.password_hash, "pw")


def test_current_hash_is_left_alone(store: FakeStore) -> None:
    before = store.accounts["alice@example.org"].password_hash
    login(store, "alice@example.org", "secret")
    assert store.accounts["alice@example.org"].password_hash == before


def test_a_repeated_login_is_recalled_not_verified_again(store: FakeStore, spy: VerifySpy) -> None:
    assert login(store, "alice@example.org", "secret") is not None
    assert login(store, "alice@example.org", "secret") is not None
    assert len(spy.calls) == 1
    # A wrong password is never recalled: it pays a whole verification every time.
    assert login(store, "alice@example.org", "wrong") is None
    assert login(store, "alice@example.org", "wrong") is None
    assert len(spy.calls) == 3


def test_a_changed_password_is_verified_again(store: FakeStore, spy: VerifySpy) -> None:
    assert login(store, "alice@example.org", "secret") is not None
    store.add("alice@example.org", hash_password("new secret"))
    assert login(store, "alice@example.org", "secret") is None
    assert login(store, "alice@example.org", "new secret") is not None
    assert len(spy.calls) == 3


def test_verified_logins_expire_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(passwords.time, "monotonic", lambda: now[0])
    memo = VerifiedLogins(ttl=60, limit=2)
    memo.remember("h1", "p1")
    assert memo.recall("h1", "p1")
    assert not memo.recall("h1", "p2") and not memo.recall("h2", "p1")
    now[0] += 61
    assert not memo.recall("h1", "p1")
    for n in range(3):
        memo.remember(f"h{n}", "p")
    assert [memo.recall(f"h{n}", "p") for n in range(3)] == [False, True, True]


def test_verified_logins_keep_no_password() -> None:
    memo = VerifiedLogins()
    memo.remember("$argon2id$hash", "correct horse")
    assert all(b"correct horse" not in digest for digest in memo._entries)
