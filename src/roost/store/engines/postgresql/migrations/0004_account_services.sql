-- Roost on PostgreSQL, schema version 4: SQLite's migration 0015 (the services an account
-- may use; no row: every service).
-- (Version 3 is main's envelope_fields; this branch never had it, and the numbers only
-- have to increase.)
CREATE TABLE account_services (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    services text NOT NULL
);
