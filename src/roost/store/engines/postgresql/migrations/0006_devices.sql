-- Roost on PostgreSQL, schema version 6: SQLite's 0017, the ActiveSync devices of each
-- account and the MODSEQ each last synced each folder to (roost.store.mail.devices).
CREATE TABLE devices (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_id text COLLATE "C" NOT NULL,
    device_type text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    policy_state text NOT NULL DEFAULT '',
    first_seen bigint NOT NULL,
    last_seen bigint NOT NULL,
    last_sync bigint,
    wipe_requested bigint,
    wipe_acknowledged bigint,
    PRIMARY KEY (account_id, device_id)
);

CREATE TABLE device_folders (
    account_id bigint NOT NULL,
    device_id text COLLATE "C" NOT NULL,
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    modseq bigint NOT NULL,
    PRIMARY KEY (account_id, device_id, mailbox_id),
    FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id)
        ON DELETE CASCADE
);

-- Out of office (SQLite's 0017 explains the columns) and the senders last replied to.
CREATE TABLE out_of_office (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    state integer NOT NULL,
    start_time bigint,
    end_time bigint,
    internal_message text,
    internal_html integer NOT NULL DEFAULT 0,
    known_message text,
    known_html integer NOT NULL DEFAULT 0,
    unknown_message text,
    unknown_html integer NOT NULL DEFAULT 0
);

CREATE TABLE auto_replies (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sender text COLLATE "C" NOT NULL,
    sent_at bigint NOT NULL,
    PRIMARY KEY (account_id, sender)
);

CREATE TABLE sent_client_ids (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id text COLLATE "C" NOT NULL,
    sent_at bigint NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
