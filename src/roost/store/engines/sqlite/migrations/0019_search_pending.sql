-- Roost schema, version 19: full-text indexing off the commit path (roost.store.engines.sqlite.fts).
--
-- A blob's first message queues its search document here instead of indexing it in the
-- delivering transaction; the writer indexes the queue in batches when no write waits,
-- and SEARCH takes every queued blob as a candidate until then.
CREATE TABLE search_pending (
    doc_id INTEGER PRIMARY KEY
);
