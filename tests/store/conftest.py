"""The contract suite's fixture: a store of each engine (DESIGN.md: one contract suite for
every engine). SQLite in a temporary directory; PostgreSQL in a fresh database of the
session's test server (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from roost.store.engines.postgresql.store import PostgresStore
from roost.store.engines.sqlite import SqliteStore
from tests.store.contract import ENGINES, OpenStore


@pytest.fixture(params=ENGINES)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> OpenStore:
    """Opens the engine's store; calling it again reopens the same store."""
    if request.param == "sqlite":
        return lambda: SqliteStore.open(tmp_path / "data")
    url: str = request.getfixturevalue("postgres_url")
    return lambda: PostgresStore.open(url)
