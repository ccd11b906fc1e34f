"""CONTEXT=SEARCH (RFC 5267 §4): searches that keep their result up to date.

`SEARCH RETURN (UPDATE ...)` leaves a context on the selected mailbox's view: the query and
the UIDs it found. Whenever the session reports changes of the mailbox (the same sync that
sends EXISTS, EXPUNGE and flag FETCHes, so also during IDLE), each context's query runs
again and the difference goes out as `* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set)` and
`ADDTO (0 set)`: removals first, while the sequence numbers they name are still valid, and
additions after the EXISTS that brought new messages. For a SEARCH (not a SORT) the
position is 0 (RFC 5267 §4.3). CANCELUPDATE, CLOSE or selecting again forgets contexts.

A context costs one search per sync that has changes to report, so a session keeps at
most MAX_CONTEXTS; past that, SEARCH answers as usual with NO [NOUPDATE "tag"] untagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from roost.proto.imap.responses import untagged
from roost.proto.imap.seqset import compress
from roost.proto.imap.strings import render_string
from roost.store import api as q

if TYPE_CHECKING:
    from roost.imap.selected import SelectedMailbox
    from roost.store.api import Store

MAX_CONTEXTS = 16


@dataclass(slots=True, kw_only=True)
class SearchContext:
    uid: bool  # UID SEARCH: updates name UIDs, else sequence numbers
    query: q.Query
    found: set[int] = field(default_factory=set)  # UIDs in the result as last reported


async def rerun(store: Store, view: SelectedMailbox) -> dict[str, set[int]]:
    """What each context's query finds now."""
    return {
        tag: set(await store.search(view.mailbox_id, context.query, viewer=view.viewer))
        for tag, context in view.contexts.items()
    }


def removals(view: SelectedMailbox, now: dict[str, set[int]]) -> bytes:
    """REMOVEFROM for what left each result; numbered in the view as it is before the
    sync applies expunges."""
    out = []
    for tag, context in view.contexts.items():
        gone = context.found - now.get(tag, context.found)
        if gone:
            context.found -= gone
            out.append(_update(view, tag, context, b"REMOVEFROM", gone))
    return b"".join(out)


def additions(view: SelectedMailbox, now: dict[str, set[int]]) -> bytes:
    """ADDTO for what joined each result and is in the view (after its EXISTS)."""
    out = []
    for tag, context in view.contexts.items():
        new = {u for u in now.get(tag, set()) - context.found if view.msn(u) is not None}
        if new:
            context.found |= new
            out.append(_update(view, tag, context, b"ADDTO", new))
    return b"".join(out)


def _update(
    view: SelectedMailbox, tag: str, context: SearchContext, verb: bytes, uids: set[int]
) -> bytes:
    numbers = sorted(uids) if context.uid else sorted(view.msn(u) or 0 for u in uids)
    line = b"ESEARCH (TAG " + render_string(tag.encode()) + b")"
    if context.uid:
        line += b" UID"
    return untagged(line + b" " + verb + b" (0 " + compress(numbers) + b")")
