"""One module per command family, and COMMANDS: the one table that says, for each command
type, in which states it may run (RFC 9051 §6.1-§6.4) and which function handles it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from roost.imap.commands import (
    acl,
    append,
    auth,
    compress,
    copy,
    fetch,
    flags,
    general,
    idle,
    mailboxes,
    multisearch,
    notify,
    quota,
    search,
    selection,
    sort,
)
from roost.imap.reply import Reply
from roost.imap.states import ANY, AUTHENTICATED, NOT_AUTHENTICATED, SELECTED, State
from roost.proto.imap import commands as c

if TYPE_CHECKING:
    from roost.imap.session import Session

Handler = Callable[["Session", Any], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Entry:
    states: frozenset[State]  # where the command may run; elsewhere it is BAD
    run: Handler


COMMANDS: dict[type[c.Command], Entry] = {
    c.Capability: Entry(ANY, general.capability),
    c.Noop: Entry(ANY, general.noop),
    c.Logout: Entry(ANY, general.logout),
    c.Id: Entry(ANY, general.ident),
    c.StartTls: Entry(NOT_AUTHENTICATED, auth.starttls),
    c.Authenticate: Entry(NOT_AUTHENTICATED, auth.authenticate),
    c.Login: Entry(NOT_AUTHENTICATED, auth.login),
    c.Enable: Entry(AUTHENTICATED, general.enable),
    c.Select: Entry(AUTHENTICATED, selection.select),
    c.Create: Entry(AUTHENTICATED, mailboxes.create),
    c.Delete: Entry(AUTHENTICATED, mailboxes.delete),
    c.Rename: Entry(AUTHENTICATED, mailboxes.rename),
    c.Subscribe: Entry(AUTHENTICATED, mailboxes.subscribe),
    c.Unsubscribe: Entry(AUTHENTICATED, mailboxes.subscribe),
    c.List: Entry(AUTHENTICATED, mailboxes.list_),
    c.Namespace: Entry(AUTHENTICATED, mailboxes.namespace),
    c.Status: Entry(AUTHENTICATED, mailboxes.status),
    c.Append: Entry(AUTHENTICATED, append.append),
    c.Idle: Entry(AUTHENTICATED, idle.idle),
    c.Compress: Entry(AUTHENTICATED, compress.compress),
    c.GetAcl: Entry(AUTHENTICATED, acl.getacl),
    c.SetAcl: Entry(AUTHENTICATED, acl.setacl),
    c.DeleteAcl: Entry(AUTHENTICATED, acl.deleteacl),
    c.ListRights: Entry(AUTHENTICATED, acl.listrights),
    c.MyRights: Entry(AUTHENTICATED, acl.myrights),
    c.GetQuota: Entry(AUTHENTICATED, quota.getquota),
    c.GetQuotaRoot: Entry(AUTHENTICATED, quota.getquotaroot),
    c.SetQuota: Entry(AUTHENTICATED, quota.setquota),
    c.Notify: Entry(AUTHENTICATED, notify.notify),
    # RFC 7377 §2: ESEARCH IN (SELECTED) needs a selected mailbox; the handler checks.
    c.Esearch: Entry(AUTHENTICATED, multisearch.multisearch),
    c.Check: Entry(SELECTED, general.noop),
    c.Close: Entry(SELECTED, selection.close),
    c.Unselect: Entry(SELECTED, selection.unselect),
    c.Expunge: Entry(SELECTED, selection.expunge),
    c.Search: Entry(SELECTED, search.search),
    c.CancelUpdate: Entry(SELECTED, search.cancelupdate),
    c.Sort: Entry(SELECTED, sort.sort),
    c.Thread: Entry(SELECTED, sort.thread),
    c.Fetch: Entry(SELECTED, fetch.fetch),
    c.Store: Entry(SELECTED, flags.store),
    c.Copy: Entry(SELECTED, copy.copy),
    c.Replace: Entry(SELECTED, append.replace),  # RFC 8508 §3.5
}
