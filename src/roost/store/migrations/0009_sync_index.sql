-- Roost schema, version 9: a covering index for the FETCH of an initial sync.
--
-- A device syncing a mailbox fetches UID FLAGS ENVELOPE BODYSTRUCTURE (often with
-- RFC822.SIZE, INTERNALDATE, MODSEQ) of every message. From the messages table that is a
-- lookup of a 3 kB row per message, and the rows lie in arrival order across all
-- mailboxes; this index holds just those columns in (mailbox, uid) order, about a fifth of
-- a row, so the same FETCH reads few, contiguous pages (roost.store.messages.fetch_fields).
CREATE INDEX messages_sync ON messages (
    mailbox_id, uid, modseq, system_flags, keywords, internaldate, internaldate_tz, size,
    envelope, bodystructure
);
-- Flag-only reads (STORE, FETCH FLAGS, CHANGEDSINCE) should keep the much narrower
-- messages_flags. Both cover them, and among indexes that cover a query equally well
-- SQLite's planner takes the one created last, so messages_flags is created again after.
-- (tests/store/test_sync_index.py checks which index each read uses.)
DROP INDEX messages_flags;
CREATE INDEX messages_flags ON messages (mailbox_id, uid, modseq, system_flags, keywords);
