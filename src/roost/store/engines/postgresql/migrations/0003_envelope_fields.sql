-- Roost on PostgreSQL, schema version 3: SQLite's 0014, the message's envelope as
-- protocol-neutral JSON (roost.proto.mime.serialize_envelope).
ALTER TABLE messages ADD COLUMN envelope_fields bytea;
