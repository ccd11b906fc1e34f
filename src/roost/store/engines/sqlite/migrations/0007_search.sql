-- Roost schema, version 7: the full-text index of SEARCH (roost.store.fts).
--
-- SQLite only (FTS5); a PostgreSQL engine brings its own index. One document per blob:
-- search_docs gives each blob that messages reference an integer id, the rowid of its
-- search_text row. search_text holds the casefolded (Python str.casefold) headers_text and
-- body_text; the trigram tokenizer runs case-sensitive because the text is folded already.
CREATE TABLE search_docs (
    id INTEGER PRIMARY KEY,
    blob_id TEXT NOT NULL UNIQUE
);
-- detail=column: no token positions (roost.store.fts queries an AND of trigrams, not
-- phrases), about half the cost of indexing a message.
CREATE VIRTUAL TABLE search_text USING fts5 (
    headers, body, tokenize = 'trigram case_sensitive 1', detail = column
);

-- The messages delivered before this migration: each referenced blob's text (blob_texts,
-- migration 4) becomes its document.
INSERT INTO search_docs (blob_id)
    SELECT blob_id FROM blob_texts t
    WHERE EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = t.blob_id);
INSERT INTO search_text (rowid, headers, body)
    SELECT d.id, roost_casefold(t.headers_text), roost_casefold(t.body_text)
    FROM search_docs d JOIN blob_texts t ON t.blob_id = d.blob_id;
