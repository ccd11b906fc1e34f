-- Roost schema, version 6: STATUS counters kept on the mailbox row.
--
-- STATUS (MESSAGES UNSEEN DELETED SIZE DELETED-STORAGE) was a scan of the mailbox's
-- messages: 0.3 s for 100,000 messages, paid by every client polling its folders and by
-- every NOTIFY STATUS. Triggers keep the counters in the transaction that changes the
-- rows, so they always equal what the scan would count. RECENT stays a count of the UIDs
-- at or above first_recent_uid (an index range: the recent messages only).
-- \Seen is bit 1 and \Deleted bit 8 of system_flags (0001_initial.sql). CASE rather than
-- boolean arithmetic, so a PostgreSQL migration can keep these bodies.
ALTER TABLE mailboxes ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN unseen_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN deleted_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN size_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN deleted_size INTEGER NOT NULL DEFAULT 0;

UPDATE mailboxes SET
    message_count = (SELECT COUNT(*) FROM messages m WHERE m.mailbox_id = mailboxes.id),
    unseen_count = (SELECT COUNT(*) FROM messages m
                    WHERE m.mailbox_id = mailboxes.id AND m.system_flags & 1 = 0),
    deleted_count = (SELECT COUNT(*) FROM messages m
                     WHERE m.mailbox_id = mailboxes.id AND m.system_flags & 8 != 0),
    size_total = (SELECT COALESCE(SUM(m.size), 0) FROM messages m
                  WHERE m.mailbox_id = mailboxes.id),
    deleted_size = (SELECT COALESCE(SUM(m.size), 0) FROM messages m
                    WHERE m.mailbox_id = mailboxes.id AND m.system_flags & 8 != 0);

CREATE TRIGGER messages_counters_insert AFTER INSERT ON messages
BEGIN
    UPDATE mailboxes SET
        message_count = message_count + 1,
        unseen_count = unseen_count + CASE WHEN NEW.system_flags & 1 = 0 THEN 1 ELSE 0 END,
        deleted_count = deleted_count + CASE WHEN NEW.system_flags & 8 != 0 THEN 1 ELSE 0 END,
        size_total = size_total + NEW.size,
        deleted_size = deleted_size + CASE WHEN NEW.system_flags & 8 != 0 THEN NEW.size ELSE 0 END
    WHERE id = NEW.mailbox_id;
END;

CREATE TRIGGER messages_counters_delete AFTER DELETE ON messages
BEGIN
    UPDATE mailboxes SET
        message_count = message_count - 1,
        unseen_count = unseen_count - CASE WHEN OLD.system_flags & 1 = 0 THEN 1 ELSE 0 END,
        deleted_count = deleted_count - CASE WHEN OLD.system_flags & 8 != 0 THEN 1 ELSE 0 END,
        size_total = size_total - OLD.size,
        deleted_size = deleted_size - CASE WHEN OLD.system_flags & 8 != 0 THEN OLD.size ELSE 0 END
    WHERE id = OLD.mailbox_id;
END;

CREATE TRIGGER messages_counters_update AFTER UPDATE OF system_flags, size, mailbox_id ON messages
BEGIN
    UPDATE mailboxes SET
        message_count = message_count - 1,
        unseen_count = unseen_count - CASE WHEN OLD.system_flags & 1 = 0 THEN 1 ELSE 0 END,
        deleted_count = deleted_count - CASE WHEN OLD.system_flags & 8 != 0 THEN 1 ELSE 0 END,
        size_total = size_total - OLD.size,
        deleted_size = deleted_size - CASE WHEN OLD.system_flags & 8 != 0 THEN OLD.size ELSE 0 END
    WHERE id = OLD.mailbox_id;
    UPDATE mailboxes SET
        message_count = message_count + 1,
        unseen_count = unseen_count + CASE WHEN NEW.system_flags & 1 = 0 THEN 1 ELSE 0 END,
        deleted_count = deleted_count + CASE WHEN NEW.system_flags & 8 != 0 THEN 1 ELSE 0 END,
        size_total = size_total + NEW.size,
        deleted_size = deleted_size + CASE WHEN NEW.system_flags & 8 != 0 THEN NEW.size ELSE 0 END
    WHERE id = NEW.mailbox_id;
END;
