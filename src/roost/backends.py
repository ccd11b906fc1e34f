"""Wiring: the store a configuration names (with roost.app and roost.cli, the only code
that knows the concrete engines).

`database_url` empty: the embedded SQLite store in data_dir. A postgresql:// URL: the
PostgreSQL store in that database, message bodies included. Engines are imported on use,
so a `roost` command loads only the one it opens.
"""

from __future__ import annotations

from roost.config import Config
from roost.notify.api import Publisher
from roost.store.mail.store import MailStore

__all__ = ["open_store"]


async def open_store(config: Config, publisher: Publisher | None = None) -> MailStore:
    """Opens (creating or migrating as needed) the store of config; hints of what it
    commits go to publisher (the server's notifier; none for the roost CLI)."""
    if config.database_url:
        from roost.store.engines.postgresql.store import PostgresStore

        return await PostgresStore.open(config.database_url, publisher)
    from roost.store.engines.sqlite import SqliteStore

    return await SqliteStore.open(config.data_dir, publisher)
