-- Roost on PostgreSQL, schema version 9: SQLite's 0022, \Seen per user in team mailboxes
-- (roost.store.mail.private).
CREATE TABLE private_seen (
    mailbox_id bigint NOT NULL,
    uid bigint NOT NULL,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    seen integer NOT NULL,
    modseq bigint NOT NULL,
    PRIMARY KEY (mailbox_id, uid, account_id),
    FOREIGN KEY (mailbox_id, uid) REFERENCES messages (mailbox_id, uid) ON DELETE CASCADE
);
CREATE INDEX private_seen_changes ON private_seen (mailbox_id, account_id, modseq);
