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
    multisearch,
    notify,
    quota,
    search,
    selection,
    sort,
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
    c.Replace: append.replace,
    c.Idle: idle.idle,
    c.Compress: compress.compress,
    c.Search: search.search,
    c.CancelUpdate: search.cancelupdate,
    c.Sort: sort.sort,
    c.Thread: sort.thread,
    c.Esearch: multisearch.multisearch,
    c.Notify: notify.notify,
    c.Fetch: fetch.fetch,
    c.Store: flags.store,
    c.Copy: copy.copy,
    c.GetQuota: quota.getquota,
    c.GetQuotaRoot: quota.getquotaroot,
    c.SetQuota: quota.setquota,
}
