-- Roost on PostgreSQL, schema version 8: SQLite's 0021, rights per mailbox and user
-- (RFC 4314) for shared and team mailboxes (roost.store.mail.acl).
CREATE TABLE acl (
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    rights text COLLATE "C" NOT NULL,
    PRIMARY KEY (mailbox_id, account_id)
);
CREATE INDEX acl_by_account ON acl (account_id);
