"""SORT and THREAD, and their UID forms (RFC 5256), with ESORT return options (RFC 5267)
and PARTIAL (RFC 9394).

The criteria are SEARCH keys, turned into the store's query by search.to_query; the
store orders the matches by keys it precomputed at delivery, and the THREAD algorithms
run over the stored threading fields (roost.proto.imap.threading). Nothing here reads a
message file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.imap.commands.search import (
    CHARSETS,
    Result,
    esearch,
    numbers,
    plain_result,
    result_modseq,
    to_query,
    visible,
)
from roost.imap.reply import Reply, no, ok
from roost.proto.imap import commands as c
from roost.proto.imap import threading
from roost.proto.imap.responses import untagged
from roost.store.api import SortField, SortKey

if TYPE_CHECKING:
    from roost.imap.session import Session

_BADCHARSET = "BADCHARSET (UTF-8 US-ASCII)"
_ALGORITHMS = {
    "ORDEREDSUBJECT": threading.ordered_subject,
    "REFERENCES": threading.references,
}


async def sort(s: Session, cmd: c.Sort) -> Reply:
    view = s.selected
    assert view is not None
    if cmd.charset not in CHARSETS:
        return no("Unsupported charset", _BADCHARSET)
    keys = [SortKey(SortField(k.key.lower()), reverse=k.reverse) for k in cmd.criteria]
    found = await s.store.sort(view.mailbox_id, to_query(view, cmd.key), keys, viewer=view.viewer)
    uids = visible(view, found)
    modseq = await result_modseq(s, cmd.key, uids)
    if cmd.returns is None:
        await s.send(plain_result("SORT", numbers(view, uids, cmd.uid), modseq))
    else:
        # RFC 5267 §3.2: RETURN () is RETURN (ALL)
        result = Result(numbers=numbers(view, uids, cmd.uid), modseq=modseq)
        await s.send(esearch(cmd, cmd.returns or ("ALL",), result))
    return ok(f"{'UID ' if cmd.uid else ''}SORT completed")


async def thread(s: Session, cmd: c.Thread) -> Reply:
    view = s.selected
    assert view is not None
    if cmd.charset not in CHARSETS:
        return no("Unsupported charset", _BADCHARSET)
    infos = await s.store.thread_info(view.mailbox_id, to_query(view, cmd.key), viewer=view.viewer)
    messages = [
        threading.ThreadMessage(
            number=info.uid if cmd.uid else msn,
            sent=info.sent,
            subject=info.subject,
            reply=info.reply,
            message_id=info.message_id,
            references=info.references,
        )
        for info in infos
        if (msn := view.msn(info.uid)) is not None  # not yet announced: not visible
    ]
    threads = _ALGORITHMS[cmd.algorithm](messages)
    await s.send(untagged(threading.render_threads(threads)))
    return ok(f"{'UID ' if cmd.uid else ''}THREAD completed")
