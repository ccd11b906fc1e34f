-- Roost schema, version 9: a covering index for the FETCH of an initial sync.
--
-- A device syncing a mailbox fetches UID FLAGS ENVELOPE BODYSTRUCTURE (often with
-- RFC822.SIZE, INTERNALDATE, MODSEQ) of every message. From the messages table that is a
-- lookup of a 3 kB row per message, and the rows lie in arrival order across all
-- mailboxes; this index holds just the columns of those items that are fixed at delivery,
-- in (mailbox, uid) order, about a sixth of a row. roost.store.messages.fetch_fields reads
-- them from here and the flags and modseq from messages_flags (migration 4), so the FETCH
-- reads few, contiguous pages, and a flag change never rewrites an entry of this index.
-- Measured with 100,000 messages: 58 MB against 326 MB of rows; FETCH 1:* (UID FLAGS
-- ENVELOPE BODYSTRUCTURE) about 2x faster cold and 1.4x warm than from the rows.
CREATE INDEX messages_sync ON messages (
    mailbox_id, uid, internaldate, internaldate_tz, size, envelope, bodystructure
);
