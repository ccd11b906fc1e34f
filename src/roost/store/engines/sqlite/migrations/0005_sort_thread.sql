-- Roost schema, version 5: SORT and THREAD keys (RFC 5256, RFC 5957), computed at
-- delivery (roost.model.SortFields) so that sorting is an ORDER BY and threading never
-- reads a message file. Text keys are stored folded for i;ascii-casemap, so the plain
-- binary collation orders them as the RFC requires.
ALTER TABLE messages ADD COLUMN sort_subject TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN subject_reply INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN sort_from TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN sort_to TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN sort_cc TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN sort_display_from TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN sort_display_to TEXT NOT NULL DEFAULT '';
-- The thread parents: msg-ids without angle brackets, space-separated, oldest first.
ALTER TABLE messages ADD COLUMN thread_refs TEXT NOT NULL DEFAULT '';
