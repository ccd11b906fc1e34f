-- Roost schema, version 21: team mailboxes (issue 15), rights per mailbox and user (RFC 4314).
--
-- One row per (mailbox, account) the owner (or the operator, `roost acl set`) granted
-- rights to; rights is a string of the RFC 4314 letters "lrswipkxtea" in that order. The
-- owner of a mailbox holds every right without a row; a team account (roost.store.mail.acl)
-- owns its mailboxes but nobody logs in to it, so its members hold their rights by rows.
-- Rows go with their mailbox and with the grantee's account.
CREATE TABLE acl (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    rights TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, account_id)
);
-- What one user sees shared with them (LIST, NAMESPACE): by grantee.
CREATE INDEX acl_by_account ON acl (account_id);
