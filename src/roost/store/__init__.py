"""The store: the master copy of every mailbox (DESIGN.md "The store").

    api/        the interface protocol code uses: records, the query tree, the Store
                protocol split by concern; the only part of the store protocols import
    mail/       the mail semantics written once as units of work, and MailStore
    engines/    what an engine must give (api.py), sqlite/ and postgresql/, each with its
                own migrations, text index and dialect
    blobs/      the BlobStore protocol and the file store (the database store is the
                PostgreSQL engine's)

Only the wiring (roost.app, roost.backends, roost.cli) names a concrete engine.
"""
