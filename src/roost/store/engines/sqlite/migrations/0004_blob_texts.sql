-- Roost schema, version 4: a blob's search text in a table of its own.
--
-- The decoded header block and body text are the largest values of a message (kilobytes).
-- Kept in the messages row they spread every row over several pages, so a scan of flags or
-- a FETCH of envelopes read them too. They belong to the blob (DESIGN.md: computed once per
-- blob at delivery), so every copy of a message shares one row here; rows whose blob no
-- message references any more go when blobs are collected.
CREATE TABLE blob_texts (
    blob_id TEXT PRIMARY KEY,
    headers_text TEXT NOT NULL,  -- unfolded, decoded header block: one "name: value" a line
    body_text TEXT NOT NULL      -- decoded text of the text/* parts
);
INSERT OR IGNORE INTO blob_texts (blob_id, headers_text, body_text)
    SELECT blob_id, headers_text, body_text FROM messages;
ALTER TABLE messages DROP COLUMN headers_text;
ALTER TABLE messages DROP COLUMN body_text;

-- What sessions scan most (SELECT, STATUS UNSEEN, SEARCH by flag, FETCH FLAGS, the change
-- log's flag replay) is read from this index alone, never from the wide rows.
CREATE INDEX messages_flags ON messages (mailbox_id, uid, modseq, system_flags, keywords);
