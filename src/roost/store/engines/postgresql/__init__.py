"""PostgreSQL as a store engine: PostgresStore (store.py) over PostgresEngine (engine.py),
with a pg_trgm TextIndex (text.py), bodies in a bytea table (blobs.py) and its own
migrations (migrations/)."""
