"""The PostgreSQL TextIndex: pg_trgm GIN indexes over the folded texts of blob_texts.

The documents are the rows of blob_texts themselves (folded at delivery, roost.store.mail.texts),
indexed by trigram GIN indexes (migration 0001), so there is nothing to add or prune
beside them. A candidate is a blob whose folded text is LIKE the folded needle: PostgreSQL
answers that from the trigrams of the needle and checks each hit (the index is lossy, the
LIKE is not), so the candidates are exactly the blobs whose text holds the needle, which
the exact predicate confirms again. Needles shorter than a trigram get None (the caller
scans), as with SQLite's FTS5 index, so both engines take the same path for the same query.
"""

from __future__ import annotations

from roost.store.engines.api import TextColumn, Tx
from roost.store.mail.texts import LIKE_ESCAPE, fold, like_pattern

__all__ = ["TrigramTextIndex"]

MIN_NEEDLE = 3

_LIKE = f"LIKE ? ESCAPE '{LIKE_ESCAPE}'"
_COLUMNS = {
    TextColumn.HEADERS: f"headers_text {_LIKE}",
    TextColumn.BODY: f"body_text {_LIKE}",
}


class TrigramTextIndex:
    __slots__ = ()

    def add(self, tx: Tx, blob: str) -> None:
        pass  # the blob_texts row is the document

    def prune(self, tx: Tx) -> int:
        return 0  # blob_texts rows go with their blob (roost.store.mail.texts.forget)

    def candidates(self, needle: str, column: TextColumn | None) -> tuple[str, list[object]] | None:
        folded = fold(needle)
        if len(folded) < MIN_NEEDLE:
            return None
        pattern: object = like_pattern(folded)
        if column is not None:
            where, params = _COLUMNS[column], [pattern]
        else:
            where = f"{_COLUMNS[TextColumn.HEADERS]} OR {_COLUMNS[TextColumn.BODY]}"
            params = [pattern, pattern]
        return f"SELECT blob_id AS hit FROM blob_texts WHERE {where}", params

    def driven_by(self, candidates: str) -> str:
        return f"({candidates}) AS hits JOIN messages ON messages.blob_id = hits.hit"
