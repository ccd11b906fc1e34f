-- Roost schema, version 4: the full-text index of SEARCH (roost.store.fts).
--
-- SQLite only (FTS5); a PostgreSQL engine brings its own index. One document per blob:
-- search_docs gives each blob that messages reference an integer id, the rowid of its
-- search_text row. search_text holds the casefolded (Python str.casefold) headers_text and
-- body_text; the trigram tokenizer runs case-sensitive because the text is folded already.
CREATE TABLE search_docs (
    id INTEGER PRIMARY KEY,
    blob_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE search_text USING fts5 (
    headers, body, tokenize = 'trigram case_sensitive 1'
);

-- The messages delivered before this migration. A blob whose messages carry different
-- texts gets all of them, comma-joined, so its document holds each message's texts.
INSERT INTO search_docs (blob_id) SELECT DISTINCT blob_id FROM messages;
INSERT INTO search_text (rowid, headers, body)
SELECT search_docs.id,
       roost_casefold((SELECT group_concat(DISTINCT headers_text) FROM messages
                       WHERE messages.blob_id = search_docs.blob_id)),
       roost_casefold((SELECT group_concat(DISTINCT body_text) FROM messages
                       WHERE messages.blob_id = search_docs.blob_id))
FROM search_docs;
