"""Store engines besides the embedded SQLite one (roost.store.sqlite)."""
