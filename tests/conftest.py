"""Session-wide fixtures: one throwaway PostgreSQL server (tests/pgserver.py), started the
first time a test asks for a PostgreSQL database and stopped when the session ends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.pgserver import PostgresServer, database_name, running_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with running_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer) -> str:
    """A database with Roost's schema, the template of every test's fresh database."""
    from roost.store.engines.postgresql.engine import PostgresEngine

    url = postgres.new_database()

    async def migrate() -> None:
        await (await PostgresEngine.open(url, size=1)).close()

    asyncio.run(migrate())
    return database_name(url)


@pytest.fixture
def postgres_url(postgres: PostgresServer, postgres_template: str) -> Iterator[str]:
    """The URL of a fresh, migrated database of its own, dropped after the test."""
    url = postgres.new_database(template=postgres_template)
    yield url
    postgres.drop_database(url)
