"""The store on PostgreSQL: the mail semantics over PostgresEngine, bodies in the database."""

from __future__ import annotations

from roost.store.engines.postgresql.blobs import DatabaseBlobStore
from roost.store.engines.postgresql.engine import PostgresEngine
from roost.store.mailstore import MailStore

__all__ = ["PostgresStore"]


class PostgresStore(MailStore):
    """Everything in one PostgreSQL database, named by a libpq URL (postgresql://...)."""

    __slots__ = ()

    @classmethod
    async def open(cls, url: str) -> PostgresStore:
        """Connects and migrates the database (which must exist)."""
        engine = await PostgresEngine.open(url)
        return cls(engine, DatabaseBlobStore(engine))
