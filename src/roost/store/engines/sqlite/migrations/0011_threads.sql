-- Roost schema, version 11: THREADID per conversation (RFC 8474 §5.2), not per message.
--
-- thread_ids maps every Message-ID an account has seen (a message's own, and those its
-- References / In-Reply-To name) to the thread it belongs to; roost.store.threads reads it
-- when a message arrives. Ids are kept without angle brackets, compared case-sensitively
-- (RFC 5256 §3).
CREATE TABLE thread_ids (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    PRIMARY KEY (account_id, message_id)
);

-- Mail stored before this migration keeps its THREADID (one per message until now; devices
-- may have cached them), and its Message-IDs are mapped to it, so that replies arriving
-- from now on join those threads. The oldest message of an id names its thread.
INSERT INTO thread_ids (account_id, message_id, thread_id)
    SELECT b.account_id, substr(m.message_id, 2, length(m.message_id) - 2), m.thread_id
    FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
    WHERE m.message_id LIKE '<%>'
    ORDER BY b.account_id, m.internaldate
    ON CONFLICT DO NOTHING;

-- SEARCH THREADID and JMAP Thread/get: the messages of a thread.
CREATE INDEX messages_thread ON messages (thread_id);
