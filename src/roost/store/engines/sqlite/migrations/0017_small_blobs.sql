-- Roost schema, version 17: small messages inside the database (roost.store.engines.sqlite.blobs).
--
-- A message of at most INLINE_LIMIT octets is stored here by the transaction that first
-- references it, so that the commit's one WAL fsync makes it durable; larger ones stay
-- files under blobs/. `created` (microseconds since the epoch) lets collection leave a
-- blob stored a moment ago alone. Mail stored before this migration stays in its files.
CREATE TABLE small_blobs (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    created INTEGER NOT NULL
);
