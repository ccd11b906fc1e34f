"""THREADID (RFC 8474 §5.2; JMAP's threads): one id for a whole conversation in an account.

Theory of operation
-------------------
Each account keeps a map from every Message-ID it has seen (a message's own, and each one
its References or In-Reply-To name: RFC 5256 §3's thread parents) to a thread (the
thread_ids table, migration 11). A message arriving joins the thread of its own Message-ID
if that is already mapped (a reply arrived first and named it), else that of its nearest
parent already mapped (the newest reference first), else it starts a thread named after its
own EMAILID; then each of its ids not mapped yet is mapped to that thread. So a
conversation has one THREADID whichever order its messages arrive in, as long as each
message names an earlier one; two threads that a late message would join stay two (ids
never change once given, so a device that cached one never sees it move).

A copy within the account keeps its thread; a copy into another account is threaded there.
A Message-ID longer than MAX_ID octets (RFC 5322 allows lines of 998; real ids are well
under 100) takes no part in threading, so that every key fits any engine's index.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.model import AccountId
from roost.store.engines.api import Tx

__all__ = ["MAX_ID", "thread_for"]

MAX_ID = 250


def _bare(message_id: str | None) -> str | None:
    """A Message-ID as analysed ("<a@b>") as the map keeps it ("a@b")."""
    if not message_id:
        return None
    bare = message_id.strip()
    if bare.startswith("<") and bare.endswith(">"):
        bare = bare[1:-1]
    return bare or None


def thread_for(
    tx: Tx, account: AccountId, email: str, message_id: str | None, parents: Sequence[str]
) -> str:
    """The THREADID of a message arriving in account with this EMAILID, Message-ID and
    thread parents (oldest first, without angle brackets); maps its ids to it."""
    own = _bare(message_id)
    if own is not None and len(own.encode()) > MAX_ID:
        own = None
    ids = ([own] if own else []) + [p for p in reversed(parents) if p and p != own]
    wanted = [i for i in ids if len(i.encode()) <= MAX_ID]
    fresh = "T" + email[1:]
    if wanted == [own]:  # no parents (a new conversation): one statement, usually
        row = tx.one(
            "INSERT INTO thread_ids (account_id, message_id, thread_id) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING thread_id",
            (account, own, fresh),
        )
        if row is not None:
            return fresh
    known: dict[str, str] = {}
    for start in range(0, len(wanted), 200):  # keeps the statement's parameters few
        chunk = wanted[start : start + 200]
        marks = ", ".join("?" * len(chunk))
        rows = tx.all(
            "SELECT message_id, thread_id FROM thread_ids "
            f"WHERE account_id = ? AND message_id IN ({marks})",
            (account, *chunk),
        )
        known.update((row[0], row[1]) for row in rows)
    thread = next((known[i] for i in wanted if i in known), fresh)
    new = [(account, i, thread) for i in dict.fromkeys(wanted) if i not in known]
    tx.executemany(
        "INSERT INTO thread_ids (account_id, message_id, thread_id) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        new,
    )
    return thread
