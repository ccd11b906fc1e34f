"""GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208), over the store's per-account quota.

Each account has one quota root, named "" (the convention of RFC 9208 §3.2 examples and
of most servers), covering all its mailboxes. It carries the STORAGE resource (in units
of 1024 octets, RFC 9208 §5.1) and the MESSAGE resource (§5.2) for each limit the
administrator set with `roost user quota`; an account with no limit has no quota root,
since a QUOTA response must list at least one resource (§7, quota-list). The limits are
the administrator's: SETQUOTA is refused.

A mailbox shared with the user counts against its owner (a team's against the team, issue
15), whose quota root the user sees by the owner's place in their namespaces:
"Shared/support" for the team support@, "Other Users/alice" for alice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.imap.access import Visible, find, require, shared
from roost.imap.reply import Reply, no, ok
from roost.model import AccountId
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged
from roost.store.api import Quota

if TYPE_CHECKING:
    from roost.imap.session import Session

ROOT = ""


def resources(quota: Quota) -> list[str]:
    """ "NAME usage limit" for each limited resource (RFC 9208 §7 quota-resource)."""
    found = []
    if quota.storage_limit is not None:
        # Usage rounds up and the limit down, so a client never sees room that is not there.
        used = -(-quota.storage_used // 1024)
        found.append(f"STORAGE {used} {quota.storage_limit // 1024}")
    if quota.message_limit is not None:
        found.append(f"MESSAGE {quota.messages_used} {quota.message_limit}")
    return found


def _quota_line(s: Session, root: str, found: list[str]) -> bytes:
    return untagged(b"QUOTA " + s.render_mailbox(root) + f" ({' '.join(found)})".encode())


def _root(mailbox: Visible) -> str:
    return ROOT if mailbox.owned else mailbox.prefix.rstrip("/")


async def getquota(s: Session, cmd: c.GetQuota) -> Reply:
    assert s.account is not None
    root = cmd.root if cmd.root == ROOT else s.decode_mailbox(cmd.root)
    account: AccountId | None = s.account.id
    if root != ROOT:
        owner = next((v for v in await shared(s) if v.may("l") and _root(v) == root), None)
        account = owner.account if owner is not None else None
    found = resources(await s.store.get_quota(account)) if account is not None else []
    if not found:
        return no("No such quota root", "NONEXISTENT")
    await s.send(_quota_line(s, root, found))
    return ok("GETQUOTA completed")


async def getquotaroot(s: Session, cmd: c.GetQuotaRoot) -> Reply:
    # RFC 9208 §4.3: the mailbox must exist; RFC 4314: one the user may look up.
    mailbox = await find(s, s.decode_mailbox(cmd.mailbox))
    require(mailbox, "l")
    found = resources(await s.store.get_quota(mailbox.account))
    root = _root(mailbox)
    line = b"QUOTAROOT " + s.render_mailbox(mailbox.name)
    await s.send(untagged(line + (b" " + s.render_mailbox(root) if found else b"")))
    if found:
        await s.send(_quota_line(s, root, found))
    return ok("GETQUOTAROOT completed")


async def setquota(s: Session, cmd: c.SetQuota) -> Reply:
    # RFC 9208 §4.1.3 leaves who may set limits to the server: here only the
    # administrator, with `roost user quota`.
    return no("Quotas are set by the administrator", "NOPERM")
