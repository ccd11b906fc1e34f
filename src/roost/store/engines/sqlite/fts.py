"""The SQLite TextIndex: an FTS5 table with the trigram tokenizer, one document per blob.

Theory of operation
-------------------
IMAP SEARCH matches case-insensitive substrings (RFC 9051 §6.4.4), which a trigram index
narrows: a text holding a needle of three or more characters holds every trigram of it, so
the documents holding all of them (an AND of single-trigram terms) are a superset of the
matches, which the exact predicates then confirm. The table keeps no token positions
(detail=column, which phrase queries would need): that halves the cost of indexing at
delivery, and the exact check removes the few documents whose trigrams are all there but
not in a row. Case-insensitive means Python's str.casefold here (roost.store.mail.texts.fold, as
for the exact predicates), which is not SQLite's simple case folding (ß is "ss", İ is
"i̇"), so both the documents and the needles are folded in Python and the tokenizer runs
case-sensitive: the index then agrees with the predicates by construction.

Needles shorter than three characters (after casefolding) have no trigram, and a needle
with a NUL cannot be passed to the FTS5 query parser: for those `candidates` returns None
and the query falls back to the scan.

A document is keyed by blob (search_docs maps blob ids to FTS rowids) and holds the blob's
blob_texts row, the texts the exact predicates read, so the index agrees with them by
construction. Indexing is off the commit path: the transaction that inserts a blob's first
message only gives it a search_docs row and queues it in search_pending (two small
inserts instead of tokenizing its whole text into trigrams); the writer indexes the queue
in batches of its own, when no write waits (SqliteEngine), and a queued blob is a
candidate of every needle until then, so a SEARCH right after an APPEND still finds it.
`prune` drops the documents (and queue entries) of blobs no message references any more
(MailStore.collect_blobs).
"""

from __future__ import annotations

import json

from roost.store.engines.api import TextColumn, Tx
from roost.store.mail.texts import fold, header_fields

__all__ = [
    "FIELDS_FUNCTION",
    "FOLD_FUNCTION",
    "MIN_NEEDLE",
    "Fts5TextIndex",
    "casefold",
    "header_fields_json",
]

# The trigram tokenizer indexes runs of three characters; shorter needles match nothing.
MIN_NEEDLE = 3
# Terms of one candidates query: enough to be selective, few enough to stay cheap.
MAX_TRIGRAMS = 16
# Registered on every connection for the migrations, which fold the texts of mail stored
# before them (0007, 0012); no query calls them.
FOLD_FUNCTION = "roost_casefold"
FIELDS_FUNCTION = "roost_header_fields"

# The index's hits, and every blob still waiting to be indexed (the exact test sorts them).
_CANDIDATES = (
    "SELECT search_docs.blob_id AS hit FROM search_text "
    "JOIN search_docs ON search_docs.id = search_text.rowid WHERE search_text MATCH ? "
    "UNION SELECT d.blob_id FROM search_pending p JOIN search_docs d ON d.id = p.doc_id"
)
# Queued documents indexed by one transaction of index_pending at most.
MAX_INDEX_BATCH = 256


def casefold(text: str | None) -> str | None:
    return None if text is None else fold(text)


def header_fields_json(headers_text: str | None) -> str:
    """roost.store.mail.texts.header_fields as a JSON object, for json_each in migration 0012."""
    return json.dumps(header_fields(headers_text or ""))


def _phrase(needle: str) -> str:
    # FTS5 query syntax: inside double quotes everything is literal but '"', written '""'
    # (so AND, OR, NOT, NEAR, *, -, ^ and ':' in a needle are plain text).
    return '"' + needle.replace('"', '""') + '"'


def _all_trigrams(needle: str) -> str:
    """An FTS5 query for the documents holding every trigram of needle (at most
    MAX_TRIGRAMS of them, spread over the needle: any of them keep the superset)."""
    grams = list(dict.fromkeys(needle[i : i + 3] for i in range(len(needle) - 2)))
    if len(grams) > MAX_TRIGRAMS:
        step = (len(grams) - 1) / (MAX_TRIGRAMS - 1)
        grams = [grams[round(i * step)] for i in range(MAX_TRIGRAMS)]
    return "(" + " AND ".join(_phrase(gram) for gram in grams) + ")"


class Fts5TextIndex:
    """The TextIndex of roost.store.engines.api over the search_docs and search_text tables of
    migration 0007 and the queue of migration 0019. `queued` counts the documents this
    process may have queued and not indexed yet (a hint for the writer: a rolled-back add
    still counts), and is used on the writer's thread only."""

    __slots__ = ("queued",)

    def __init__(self) -> None:
        self.queued = 1  # whatever an earlier process left queued: look once

    def add(self, tx: Tx, blob: str) -> None:
        doc = tx.one(
            "INSERT INTO search_docs (blob_id) VALUES (?) ON CONFLICT (blob_id) DO NOTHING "
            "RETURNING id",
            (blob,),
        )
        if doc is not None:  # a new blob (a copy's blob has its document already)
            tx.execute("INSERT INTO search_pending (doc_id) VALUES (?)", (doc[0],))
            self.queued += 1

    def index_pending(self, tx: Tx, limit: int = MAX_INDEX_BATCH) -> int:
        """Indexes up to limit queued documents, oldest first; returns how many."""
        ids = tx.all("SELECT doc_id FROM search_pending ORDER BY doc_id LIMIT ?", (limit,))
        self.queued = max(0, self.queued - len(ids)) if len(ids) == limit else 0
        if not ids:
            return 0
        first, last = ids[0][0], ids[-1][0]
        tx.execute(
            "INSERT INTO search_text (rowid, headers, body) "
            "SELECT p.doc_id, t.headers_text, t.body_text FROM search_pending p "
            "JOIN search_docs d ON d.id = p.doc_id JOIN blob_texts t ON t.blob_id = d.blob_id "
            "WHERE p.doc_id BETWEEN ? AND ?",
            (first, last),
        )
        tx.execute("DELETE FROM search_pending WHERE doc_id BETWEEN ? AND ?", (first, last))
        return len(ids)

    def prune(self, tx: Tx) -> int:
        orphans = (
            "SELECT id FROM search_docs WHERE NOT EXISTS "
            "(SELECT 1 FROM messages WHERE messages.blob_id = search_docs.blob_id)"
        )
        tx.execute(f"DELETE FROM search_text WHERE rowid IN ({orphans})")
        tx.execute(f"DELETE FROM search_pending WHERE doc_id IN ({orphans})")
        return tx.execute(f"DELETE FROM search_docs WHERE id IN ({orphans})")

    def candidates(self, needle: str, column: TextColumn | None) -> tuple[str, list[object]] | None:
        folded = fold(needle)
        if len(folded) < MIN_NEEDLE or "\x00" in folded:
            return None
        match = _all_trigrams(folded)
        if column is not None:
            match = f"{column.value} : {match}"
        return _CANDIDATES, [match]

    def driven_by(self, candidates: str) -> str:
        # CROSS JOIN keeps the candidates as the outer loop and INDEXED BY makes each hit
        # one lookup in messages_blob: left to itself the planner may pick the mailbox_id
        # index and scan the mailbox once per hit.
        return (
            f"({candidates}) AS hits CROSS JOIN messages INDEXED BY messages_blob "
            "ON messages.blob_id = hits.hit"
        )
