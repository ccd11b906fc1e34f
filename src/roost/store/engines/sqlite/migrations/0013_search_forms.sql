-- Roost schema, version 13: search texts stored folded, and header fields one row per name.
--
-- The exact text tests of SEARCH were Python functions registered inside SQLite; they are
-- now plain SQL (LIKE) over texts folded at delivery (roost.store.texts), the same SQL on
-- every engine. blob_texts keeps its columns, now holding the folded texts; search_fields
-- holds, per blob and folded field name, the field's folded values joined by a line break,
-- for HEADER. The Python functions below run here only, over mail stored before.
-- (Numbered 13: 10 to 12 are the account change log, threads and retention, made beside it.)
CREATE TABLE search_fields (
    blob_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX search_fields_blob ON search_fields (blob_id, name);

INSERT INTO search_fields (blob_id, name, value)
    SELECT t.blob_id, f.key, f.value
    FROM blob_texts t, json_each(roost_header_fields(t.headers_text)) f;
UPDATE blob_texts SET headers_text = roost_casefold(headers_text),
                      body_text = roost_casefold(body_text);
