-- Roost schema, version 10: the account change log (DESIGN.md "The store").
--
-- Every unit of work that changes an account takes one new account MODSEQ (accounts.modseq,
-- which numbered only mailbox-level changes before) and writes one row here per mailbox it
-- changed, with that mailbox's new MODSEQ, plus one row with mailbox_id NULL when it changed
-- the account's mailboxes themselves (created, renamed, deleted, subscribed: the details are
-- in mailbox_changes, under the same account MODSEQ). So "what changed in this account since
-- state S" (roost.store.changes.account_changes_since: JMAP /changes, ActiveSync Sync,
-- NOTIFY) is a range of this index, then each mailbox's own change log from the first
-- MODSEQ this log names for it: the cost follows the number of changes.
--
-- seq orders the rows by commit (SQLite has one writer at a time), so a process follows
-- the writes of others (the roost CLI, other workers) by reading the rows past the last
-- seq it saw (MailStore.follow). account_id has no foreign key: the row that records an
-- account's deletion outlives the account.
CREATE TABLE account_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    modseq INTEGER NOT NULL,       -- the account's MODSEQ of the change
    mailbox_id INTEGER,            -- NULL: a change of the account's mailboxes themselves
    mailbox_modseq INTEGER,        -- the mailbox's MODSEQ of the change (NULL with it)
    at INTEGER NOT NULL            -- when (unix microseconds): retention (roost.store.retention)
);
CREATE INDEX account_log_modseq ON account_log (account_id, modseq);
CREATE INDEX account_log_at ON account_log (at);
