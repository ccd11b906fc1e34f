-- Roost schema, version 16: the keywords defined in each mailbox (RFC 9051 §7.3.5 FLAGS).
--
-- IMAP clients learn a mailbox's keywords from FLAGS and forget one only when FLAGS stops
-- naming it, so every session of a mailbox must name the same keywords, and the list only
-- grows: a keyword set on a message that was expunged before some session saw it is still
-- defined for that session. Space-separated, each once (case-insensitively), kept by
-- roost.store.mail.messages.define_keywords in the transaction that sets the keyword.
ALTER TABLE mailboxes ADD COLUMN keywords TEXT NOT NULL DEFAULT '';

-- Mailboxes from before this migration: the keywords their messages carry now.
UPDATE mailboxes SET keywords = COALESCE(
    (SELECT group_concat(k, ' ') FROM
        (SELECT DISTINCT m.keywords AS k FROM messages m
         WHERE m.mailbox_id = mailboxes.id AND m.keywords <> '')),
    '');
