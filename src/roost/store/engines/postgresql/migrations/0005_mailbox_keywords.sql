-- Roost on PostgreSQL, schema version 5: SQLite's 0016, the keywords defined in each
-- mailbox (RFC 9051 §7.3.5 FLAGS), space-separated, kept by
-- roost.store.mail.messages.define_keywords in the transaction that sets a keyword.
ALTER TABLE mailboxes ADD COLUMN keywords text COLLATE "C" NOT NULL DEFAULT '';
UPDATE mailboxes SET keywords = COALESCE(
    (SELECT string_agg(DISTINCT m.keywords, ' ') FROM messages m
     WHERE m.mailbox_id = mailboxes.id AND m.keywords <> ''),
    '');
