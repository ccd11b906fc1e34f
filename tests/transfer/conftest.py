"""Fixtures for the transfer commands: the real `roost` main() on a fresh SQLite store,
and a way to look at what landed in it through the store interface."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest

from roost.cli import main
from roost.config import ENV_OVERRIDES
from roost.store.api import Store
from roost.store.engines.sqlite import SqliteStore
from roost.transfer.walk import mailbox_messages

T = TypeVar("T")


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str


Roost = Callable[..., Result]


@dataclass(frozen=True)
class Stored:
    """A message as the store holds it: what an import must have kept."""

    data: bytes
    flags: frozenset[str]
    internaldate: datetime


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ENV_OVERRIDES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("ROOST_CONFIG", raising=False)
    monkeypatch.setenv("ROOST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROOST_HOSTNAME", "mail.test")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


@pytest.fixture
def roost(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Roost:
    """roost(*argv, stdin="...") runs one command line in-process and returns what it did."""
    with_store(data_dir, lambda store: asyncio.sleep(0))  # the store, as after a first start

    def run(*argv: str, stdin: str = "") -> Result:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        status = main(list(argv))
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run


@pytest.fixture
def alice(roost: Roost) -> str:
    result = roost("user", "add", "alice@example.org", stdin="secret\n")
    assert result.status == 0, result.err
    return "alice@example.org"


def with_store(data_dir: Path, action: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await SqliteStore.open(data_dir)
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


def mailbox_contents(data_dir: Path, address: str) -> dict[str, list[Stored]]:
    """Every mailbox of the account with its messages in uid order."""

    async def read(store: Store) -> dict[str, list[Stored]]:
        account = await store.find_account(address)
        assert account is not None
        found: dict[str, list[Stored]] = {}
        for box in await store.list_mailboxes(account.id):
            found[box.name] = [
                Stored(data, meta.flags, meta.internaldate)
                async for meta, data in mailbox_messages(store, box.id)
            ]
        return found

    return with_store(data_dir, read)


def mailbox_uids(data_dir: Path, address: str) -> dict[str, tuple[int, list[int]]]:
    """Every mailbox of the account: its UIDVALIDITY and its UIDs."""

    async def read(store: Store) -> dict[str, tuple[int, list[int]]]:
        account = await store.find_account(address)
        assert account is not None
        found: dict[str, tuple[int, list[int]]] = {}
        for box in await store.list_mailboxes(account.id):
            uids, _ = await store.uids(box.id)
            found[box.name] = (box.uidvalidity, list(uids))
        return found

    return with_store(data_dir, read)
