"""One module per command family; HANDLERS is the dispatch table (type -> handler)."""

from __future__ import annotations

from typing import Any

from roost.imap.commands import (
    append,
    auth,
    compress,
    copy,
    fetch,
    flags,
    general,
    idle,
    mailboxes,
    notify,
    search,
    selection,
)
from roost.proto.imap import commands as c

HANDLERS: dict[type[c.Command], Any] = {
    c.Capability: general.capability,
    c.Noop: general.noop,
    c.Check: general.noop,
    c.Logout: general.logout,
    c.Id: general.ident,
    c.Enable: general.enable,
    c.StartTls: auth.starttls,
    c.Login: auth.login,
    c.Authenticate: auth.authenticate,
    c.Select: selection.select,
    c.Close: selection.close,
    c.Unselect: selection.unselect,
    c.Expunge: selection.expunge,
    c.Create: mailboxes.create,
    c.Delete: mailboxes.delete,
    c.Rename: mailboxes.rename,
    c.Subscribe: mailboxes.subscribe,
    c.Unsubscribe: mailboxes.subscribe,
    c.List: mailboxes.list_,
    c.Namespace: mailboxes.namespace,
    c.Status: mailboxes.status,
    c.Append: append.append,
    c.Idle: idle.idle,
    c.Compress: compress.compress,
    c.Search: search.search,
    c.Esearch: search.esearch,
    c.Notify: notify.notify,
    c.Fetch: fetch.fetch,
    c.Store: flags.store,
    c.Copy: copy.copy,
}
