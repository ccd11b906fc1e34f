-- Roost schema, version 18: the ActiveSync devices of each account (roost.store.mail.devices),
-- and out of office (roost.store.mail.oof).
--
-- A device is known by the id it sends with every request ([MS-ASHTTP] DeviceId), per
-- account. last_sync is its last Sync of a folder (NULL: none yet). policy_state is
-- where it stands in provisioning ('' never, 'temporary' asked for the policy, 'final'
-- acknowledged it); wipe_requested / wipe_acknowledged are the instants of a remote wipe
-- ([MS-ASPROV] §3.1.5.2), NULL when none. Instants are unix microseconds
-- (roost.store.mail.instants).
CREATE TABLE devices (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    device_type TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    policy_state TEXT NOT NULL DEFAULT '',
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    last_sync INTEGER,
    wipe_requested INTEGER,
    wipe_acknowledged INTEGER,
    PRIMARY KEY (account_id, device_id)
);

-- The MODSEQ each device last synced each folder to: what Ping compares the folder with,
-- whichever worker serves it and across restarts.
CREATE TABLE device_folders (
    account_id INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (account_id, device_id, mailbox_id),
    FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id)
        ON DELETE CASCADE
);

-- Out of office (ActiveSync Settings Oof, [MS-ASCMD] §2.2.3.119): one row per account that
-- ever set it. state 0 off, 1 on, 2 on between start_time and end_time. A reply per
-- audience (senders of this server's domains, and the others; "known" ones are those a
-- device would find in its contacts, which the server does not have): NULL when that
-- audience gets none; html 1 when the text is HTML.
CREATE TABLE out_of_office (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    state INTEGER NOT NULL,
    start_time INTEGER,
    end_time INTEGER,
    internal_message TEXT,
    internal_html INTEGER NOT NULL DEFAULT 0,
    known_message TEXT,
    known_html INTEGER NOT NULL DEFAULT 0,
    unknown_message TEXT,
    unknown_html INTEGER NOT NULL DEFAULT 0
);

-- When each sender was last sent an automatic reply (RFC 3834 §2: not again within days).
CREATE TABLE auto_replies (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, sender)
);

-- The ClientIds of messages an account's devices sent (ActiveSync SendMail, Smart*), so
-- that a retried request is not sent twice, whichever worker it reaches.
CREATE TABLE sent_client_ids (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
