-- Roost on PostgreSQL, schema version 3: SQLite's migration 0015 (the services an account
-- may use; no row: every service).
CREATE TABLE account_services (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    services text NOT NULL
);
