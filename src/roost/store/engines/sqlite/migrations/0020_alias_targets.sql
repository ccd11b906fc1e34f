-- Roost schema, version 20: an alias may deliver to several accounts, and a domain may
-- have a catch-all (roost.store.mail.aliases).
--
-- One row per (alias, target account): mail for the alias goes to each target, once, and
-- each target may send as it. A catch-all is stored as the alias "@domain" (the form
-- Postfix's virtual tables use): it receives what no account or alias of the domain does.
-- SQLite cannot change a primary key in place, so the table is rebuilt.
CREATE TABLE alias_targets (
    address TEXT NOT NULL COLLATE NOCASE,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (address, account_id)
);
INSERT INTO alias_targets (address, account_id) SELECT address, account_id FROM aliases;
DROP TABLE aliases;
ALTER TABLE alias_targets RENAME TO aliases;
CREATE INDEX aliases_by_account ON aliases (account_id);
