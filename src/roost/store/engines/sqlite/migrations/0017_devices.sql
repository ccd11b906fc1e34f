-- Roost schema, version 17: the ActiveSync devices of each account (roost.store.mail.devices).
--
-- A device is known by the id it sends with every request ([MS-ASHTTP] DeviceId), per
-- account. policy_state is where it stands in provisioning ('' never, 'temporary' asked
-- for the policy, 'final' acknowledged it); wipe_requested / wipe_acknowledged are the
-- instants of a remote wipe ([MS-ASPROV] §3.1.5.2), NULL when none. Instants are unix
-- microseconds (roost.store.mail.instants).
CREATE TABLE devices (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    device_type TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    policy_state TEXT NOT NULL DEFAULT '',
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
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
