"""Mail in and out of the store: import and export (Maildir, mbox), backups and restores.

Everything here works over the Store interface (roost.store.api), so it serves either
engine, and its writes reach live sessions as any other write does: the store publishes
after each commit, and a server reads another process's commits from the change log.
The one exception is the SQLite snapshot of `roost backup` (backup.py), which copies the
database file with SQLite's online backup API and the blob files it references; the CLI
hands it the paths, and restoring opens the snapshot as a store again, so everything
after that is Store to Store.

Theory of operation (import)
----------------------------
A source (maildir.py, mbox.py) yields `Incoming` messages: the folder they belong in
(relative to the target mailbox), their bytes, their flags and their INTERNALDATE, or an
`Unreadable` item naming what could not be read. ingest.py files them: it normalises line
ends to CRLF (RFC 5322; IMAP serves the stored bytes as they are), recognises a message
already in the target mailbox by its content hash (the blob id, SHA-256 of those bytes),
and appends the rest in batches, one commit each.

Why a content hash, not Message-ID + size + date: it is exact. A Message-ID is missing
from some mail and shared by distinct messages (a list copy and the copy sent to you, a
broken mailer), and Date is often absent or wrong; the bytes are the message. The hash is
the id the store already names blobs by, so the store answers "is it here?" with the blob
ids of a mailbox (fetch_fields BLOB_ID), read once per mailbox and import run. What this
costs: two byte-identical copies in one source folder become one message, and a copy that
differs in one byte (a header a filter added) is a second message, as it should be.
"""
