-- Roost schema, version 3: aliases, more addresses of an account.
--
-- Mail for an alias is delivered to its account's INBOX, and the account may send as it
-- (envelope sender and From:). An alias never logs in. An address is either an account's
-- or an alias, never both (enforced by the store, which checks the other table).
CREATE TABLE aliases (
    address TEXT PRIMARY KEY COLLATE NOCASE,
    account_id INTEGER NOT NULL REFERENCES accounts (id)
);
CREATE INDEX aliases_by_account ON aliases (account_id);
