-- Roost schema, version 22: \Seen per user in team mailboxes (issue 15,
-- roost.store.mail.private).
--
-- One row per message a member has marked read or unread: seen 1 or 0, and the MODSEQ of
-- that change, taken from the mailbox's counter like any other change, so each user's
-- MODSEQ stream is the mailbox's restricted to what they see (strictly increasing). A
-- message without a row is unread for that user. Rows go with their message (expunge,
-- mailbox deletion) and with the member's account.
CREATE TABLE private_seen (
    mailbox_id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    seen INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid, account_id),
    FOREIGN KEY (mailbox_id, uid) REFERENCES messages (mailbox_id, uid) ON DELETE CASCADE
);
-- One user's changes after a MODSEQ (CONDSTORE/QRESYNC, push) and their read messages.
CREATE INDEX private_seen_changes ON private_seen (mailbox_id, account_id, modseq);
