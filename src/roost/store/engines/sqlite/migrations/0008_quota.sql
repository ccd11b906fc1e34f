-- Roost schema, version 8: quotas (RFC 9208 STORAGE and MESSAGE resources per account).
--
-- Limits are per account; NULL is unlimited. Usage is kept as running totals on the
-- account row, maintained by triggers in the very transaction that inserts or deletes a
-- message row, so the totals always equal SUM(size) and COUNT(*) over the account's
-- messages without ever reading them. roost.store.quota checks a limit in the
-- transaction that adds mail, before the rows are written. (A PostgreSQL migration writes
-- the same three triggers in PL/pgSQL.)
ALTER TABLE accounts ADD COLUMN storage_limit INTEGER;  -- octets, NULL: unlimited
ALTER TABLE accounts ADD COLUMN message_limit INTEGER;  -- messages, NULL: unlimited
ALTER TABLE accounts ADD COLUMN storage_used INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN messages_used INTEGER NOT NULL DEFAULT 0;

-- Mail stored before this migration: count it once.
UPDATE accounts SET
    storage_used = (SELECT COALESCE(SUM(m.size), 0) FROM messages m
                    JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = accounts.id),
    messages_used = (SELECT COUNT(*) FROM messages m
                     JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = accounts.id);

-- The owner of a message is its mailbox's account, read while the mailbox row exists:
-- units of work delete a mailbox's messages before the mailbox itself.
CREATE TRIGGER messages_usage_insert AFTER INSERT ON messages
BEGIN
    UPDATE accounts SET storage_used = storage_used + NEW.size,
                        messages_used = messages_used + 1
    WHERE id = (SELECT account_id FROM mailboxes WHERE id = NEW.mailbox_id);
END;

CREATE TRIGGER messages_usage_delete AFTER DELETE ON messages
BEGIN
    UPDATE accounts SET storage_used = storage_used - OLD.size,
                        messages_used = messages_used - 1
    WHERE id = (SELECT account_id FROM mailboxes WHERE id = OLD.mailbox_id);
END;

-- Messages are never resized or moved by UPDATE today (MOVE is insert + delete); this
-- keeps the totals right should that change.
CREATE TRIGGER messages_usage_update AFTER UPDATE OF size, mailbox_id ON messages
BEGIN
    UPDATE accounts SET storage_used = storage_used - OLD.size,
                        messages_used = messages_used - 1
    WHERE id = (SELECT account_id FROM mailboxes WHERE id = OLD.mailbox_id);
    UPDATE accounts SET storage_used = storage_used + NEW.size,
                        messages_used = messages_used + 1
    WHERE id = (SELECT account_id FROM mailboxes WHERE id = NEW.mailbox_id);
END;
