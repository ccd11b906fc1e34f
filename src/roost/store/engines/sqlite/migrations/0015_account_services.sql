-- Roost schema, version 15: which services an account may use (roost.store.services).
--
-- No row: every service (the default, and what every account had before). A row lists
-- the allowed services, comma-separated in a fixed order ("imap,pop3,submission"); an
-- empty list is allowed (an account that only receives mail). IF NOT EXISTS: tests (and
-- operators) that roll a schema back by hand may leave the table. Version 14 may belong to
-- another change; the numbers only have to increase.
CREATE TABLE IF NOT EXISTS account_services (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    services TEXT NOT NULL
);
