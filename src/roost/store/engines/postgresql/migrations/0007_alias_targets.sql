-- Roost schema, version 7: an alias may deliver to several accounts, and a domain may have
-- a catch-all (roost.store.mail.aliases). One row per (alias, target account); a catch-all
-- is the alias "@domain" (as in Postfix's virtual tables).
ALTER TABLE aliases DROP CONSTRAINT aliases_pkey;
ALTER TABLE aliases ADD PRIMARY KEY (address, account_id);
