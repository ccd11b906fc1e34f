"""The ESEARCH command: one search over several mailboxes (RFC 7377 MULTISEARCH).

It is SEARCH (search.py) run in each mailbox the sources name, answered with UIDs, one
ESEARCH response per mailbox with matches. Only the logged-in account's mailboxes are ever
candidates: they come from list_mailboxes(account), never from a name alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.imap.commands.search import (
    CHARSETS,
    Result,
    esearch,
    result_modseq,
    save_result,
    to_query,
    visible,
)
from roost.imap.reply import Reply, bad, no, ok
from roost.imap.scopes import scope
from roost.proto.imap import commands as c
from roost.store.api import Mailbox

if TYPE_CHECKING:
    from roost.imap.session import Session


async def multisearch(s: Session, cmd: c.Esearch) -> Reply:
    assert s.account is not None
    view = s.selected
    if cmd.charset is not None and cmd.charset not in CHARSETS:
        return no("Unsupported charset", "BADCHARSET (UTF-8 US-ASCII)")
    sources = cmd.sources or (c.MailboxFilter(kind="SELECTED"),)
    if view is None and any(f.kind == "SELECTED" for f in sources):
        return bad("No mailbox selected")
    targets = await _targets(s, sources)
    returns = cmd.returns or ("ALL",)
    selected = view.mailbox_id if view is not None else None
    if "SAVE" in returns and [m.id for m in targets] != [selected]:
        return bad("SAVE needs the selected mailbox as the only source (RFC 7377 §2)")
    if _names_messages(cmd.key) and any(m.id != selected for m in targets):
        return no("Sequence numbers and $ name messages of the selected mailbox only")
    for mailbox in targets:
        if view is not None and mailbox.id == selected:
            uids = visible(view, await s.store.search(mailbox.id, to_query(view, cmd.key)))
            if "SAVE" in returns:
                view.saved = save_result(returns, uids, None)
        else:
            query = to_query(None, cmd.key, largest=mailbox.uidnext - 1)
            uids = await s.store.search(mailbox.id, query)
        modseq = await result_modseq(s, cmd.key, uids, mailbox.id)
        if returns == ("SAVE",) or not (uids or "COUNT" in returns):
            continue
        correlator = b" MAILBOX %s UIDVALIDITY %d" % (
            s.render_mailbox(mailbox.name),
            mailbox.uidvalidity,
        )
        result = Result(numbers=list(uids), modseq=modseq)
        await s.send(esearch(cmd, returns, result, mailbox=correlator))
    return ok("ESEARCH completed")


async def _targets(s: Session, sources: tuple[c.MailboxFilter, ...]) -> list[Mailbox]:
    """The account's mailboxes any source names, INBOX first, then by name."""
    assert s.account is not None
    scopes = [scope(f, s.decode_mailbox) for f in sources]
    mailboxes = await s.store.list_mailboxes(s.account.id)
    view = s.selected
    selected = next((m.name for m in mailboxes if view and m.id == view.mailbox_id), None)
    return [
        m
        for m in sorted(mailboxes, key=lambda m: (m.name != "INBOX", m.name))
        if any(sc.matches(m.name, subscribed=m.subscribed, selected=selected) for sc in scopes)
    ]


def _names_messages(key: c.SearchKey) -> bool:
    """Sequence numbers or "$": meaningful only against the selected mailbox's view."""
    if isinstance(key, c.SeqKey) or (isinstance(key, c.UidKey) and key.seqset.saved):
        return True
    return any(map(_names_messages, c.subkeys(key)))
