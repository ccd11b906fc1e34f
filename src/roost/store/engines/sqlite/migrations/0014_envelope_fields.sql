-- Roost schema, version 14: the message's envelope, protocol-neutral.
--
-- With parts (the MIME part tree with offsets, since version 1), envelope_fields makes the
-- stored description of a message complete without IMAP: dates, subject, addresses and ids
-- as roost.proto.mime.serialize_envelope writes them, for ActiveSync, JMAP and whatever
-- else reads messages. The IMAP ENVELOPE and BODYSTRUCTURE columns are a cache rendered
-- from that description (roost.delivery.render_imap). Mail stored before this version has
-- none (NULL): its blob is still the whole truth, and a reader that needs the fields
-- parses it.
ALTER TABLE messages ADD COLUMN envelope_fields BLOB;
