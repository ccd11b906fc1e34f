-- Roost schema, version 2: the outbound queue, and finding a message by Message-ID.
--
-- One row per (message, recipient) still to be delivered: a recipient is done when its
-- row is deleted. The message bytes are a blob like a mailbox message's, so blob
-- collection must count outbound.blob_id as a reference (MailStore.collect_blobs does).
CREATE TABLE outbound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_id TEXT NOT NULL,
    mail_from TEXT NOT NULL,          -- '' is the null reverse-path <> (a bounce)
    recipient TEXT NOT NULL,
    created INTEGER NOT NULL,         -- unix microseconds, like every instant
    next_attempt INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
-- The delivery loop reads the due entries in this order.
CREATE INDEX outbound_due ON outbound (next_attempt);
CREATE INDEX outbound_blob ON outbound (blob_id);

-- Sent-folder deduplication looks a message up by its Message-ID within one mailbox.
CREATE INDEX messages_message_id ON messages (mailbox_id, message_id);
