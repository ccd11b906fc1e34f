-- Roost schema, version 1.
--
-- Conventions: instants are INTEGER unix microseconds (UTC) so that SEARCH compares
-- integers; INTERNALDATE also keeps the sender's UTC offset (seconds) because IMAP
-- returns it as given. Flags are a bitmask of the system flags in the order of
-- roost.model.SYSTEM_FLAGS (\Seen=1, \Answered=2, \Flagged=4, \Deleted=8, \Draft=16)
-- plus the keywords as given, space-separated (keywords are atoms: no spaces).
-- The SQL is kept to what SQLite and PostgreSQL share, so a PostgreSQL migration can
-- follow this file closely.
--
-- Room left for later features (each a later migration):
--   * team mailboxes: mailboxes.account_id becomes NULL-able (owned by no one), an
--     acl (mailbox_id, account_id, rights) table, and private_flags (mailbox_id, uid,
--     account_id, system_flags, keywords, modseq) for per-user \Seen with its own MODSEQ
--     stream per user;
--   * quotas: accounts.storage_limit / message_limit plus usage counters maintained in
--     the transaction that adds or removes mail;
--   * outbound queue: outbound (id, account_id, blob_id, mail_from, rcpt_to, attempts,
--     next_attempt, last_error), referencing blobs like messages do (so blob collection
--     must take its blob_ids into account).

-- Store-wide counters; 'uidvalidity' is the last UIDVALIDITY handed out, so that a new
-- mailbox never gets a value used before, even by a deleted mailbox.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('uidvalidity', 0);

CREATE TABLE domains (
    name TEXT PRIMARY KEY  -- lower-cased
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL COLLATE NOCASE UNIQUE,
    password_hash TEXT NOT NULL,
    -- The account's modseq: mailbox-level changes (mailbox_changes) are numbered by it.
    modseq INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE mailboxes (
    -- AUTOINCREMENT: an id is never reused, so a deleted and re-created mailbox is new.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,  -- "/" separates levels; "INBOX" in that spelling
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL DEFAULT 1,
    -- RFC 7162: a mod-sequence is >= 1, so an empty mailbox starts at 1.
    highestmodseq INTEGER NOT NULL DEFAULT 1,
    special_use TEXT,
    first_recent_uid INTEGER NOT NULL DEFAULT 1,  -- IMAP4rev1 \Recent
    UNIQUE (account_id, name)
);

-- A subscription names a mailbox that may not exist (RFC 9051 §6.3.7).
CREATE TABLE subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE messages (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    system_flags INTEGER NOT NULL DEFAULT 0,
    keywords TEXT NOT NULL DEFAULT '',
    internaldate INTEGER NOT NULL,
    internaldate_tz INTEGER NOT NULL DEFAULT 0,
    savedate INTEGER NOT NULL,
    size INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    email_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    -- roost.model.ParsedMessage, computed once at delivery.
    header_size INTEGER NOT NULL,
    envelope BLOB NOT NULL,
    bodystructure BLOB NOT NULL,
    body BLOB NOT NULL,
    parts BLOB NOT NULL,
    preview TEXT NOT NULL,
    headers_text TEXT NOT NULL,
    body_text TEXT NOT NULL,
    sent_date INTEGER,
    sent_date_tz INTEGER NOT NULL DEFAULT 0,  -- the Date: field's UTC offset (seconds)
    message_id TEXT,
    PRIMARY KEY (mailbox_id, uid)
);
-- changes_since: cost follows the number of changes, not the size of the mailbox.
CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
-- Blob collection and (later) EMAILID lookups.
CREATE INDEX messages_blob ON messages (blob_id);

-- Expunged messages, for QRESYNC VANISHED and changes_since.
CREATE TABLE tombstones (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX tombstones_modseq ON tombstones (mailbox_id, modseq);

-- Mailbox-level change log per account (JMAP Mailbox/changes, NOTIFY). mailbox_id has
-- no foreign key: the log outlives the mailboxes it mentions.
CREATE TABLE mailbox_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    modseq INTEGER NOT NULL,
    kind TEXT NOT NULL,  -- roost.store.api.MailboxChangeKind values
    mailbox_id INTEGER,
    name TEXT NOT NULL,
    old_name TEXT
);
CREATE INDEX mailbox_changes_modseq ON mailbox_changes (account_id, modseq);
