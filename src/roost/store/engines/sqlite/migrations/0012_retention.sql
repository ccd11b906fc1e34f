-- Roost schema, version 12: bounded change logs (roost.store.retention).
--
-- Tombstones and the account's change logs are kept for a horizon (retention_days), then
-- folded: a mailbox's vanished_floor is the highest MODSEQ of the tombstones dropped, so
-- a device asking for changes after an older MODSEQ learns that expunges up to the floor
-- are no longer listed one by one (QRESYNC then answers VANISHED for the whole UID range
-- it names, RFC 7162 §3.2.5.2); an account's log_floor is the same for its account log
-- and mailbox_changes.
ALTER TABLE tombstones ADD COLUMN expunged_at INTEGER NOT NULL DEFAULT 0;
-- Tombstones from before this migration count from now: none is dropped early.
UPDATE tombstones SET expunged_at = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER);
CREATE INDEX tombstones_age ON tombstones (expunged_at);
ALTER TABLE mailboxes ADD COLUMN vanished_floor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN log_floor INTEGER NOT NULL DEFAULT 0;

-- UIDVALIDITY is handed out per account (roost.store.mailboxes), starting above every value
-- the store-wide counter gave, so no name ever gets a value it had.
ALTER TABLE accounts ADD COLUMN last_uidvalidity INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET last_uidvalidity = (SELECT value FROM counters WHERE name = 'uidvalidity');
