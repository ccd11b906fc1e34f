"""GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208), over the store's per-account quota.

Each account has one quota root, named "" (the convention of RFC 9208 §3.2 examples and
of most servers), covering all its mailboxes. It carries the STORAGE resource (in units
of 1024 octets, RFC 9208 §5.1) and the MESSAGE resource (§5.2) for each limit the
administrator set with `roost user quota`; an account with no limit has no quota root,
since a QUOTA response must list at least one resource (§7, quota-list). The limits are
the administrator's: SETQUOTA is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.imap.reply import Reply, no, ok
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


def _quota_line(found: list[str]) -> bytes:
    return untagged(f'QUOTA "{ROOT}" ({" ".join(found)})')


async def getquota(s: Session, cmd: c.GetQuota) -> Reply:
    assert s.account is not None
    found = resources(await s.store.get_quota(s.account.id))
    if cmd.root != ROOT or not found:
        return no("No such quota root", "NONEXISTENT")
    await s.send(_quota_line(found))
    return ok("GETQUOTA completed")


async def getquotaroot(s: Session, cmd: c.GetQuotaRoot) -> Reply:
    assert s.account is not None
    # RFC 9208 §4.3: the mailbox must exist (find_mailbox answers NO [NONEXISTENT]).
    mailbox = await s.store.find_mailbox(s.account.id, s.decode_mailbox(cmd.mailbox))
    found = resources(await s.store.get_quota(s.account.id))
    roots = f' "{ROOT}"' if found else ""
    await s.send(untagged(b"QUOTAROOT " + s.render_mailbox(mailbox.name) + roots.encode()))
    if found:
        await s.send(_quota_line(found))
    return ok("GETQUOTAROOT completed")


async def setquota(s: Session, cmd: c.SetQuota) -> Reply:
    # RFC 9208 §4.1.3 leaves who may set limits to the server: here only the
    # administrator, with `roost user quota`.
    return no("Quotas are set by the administrator", "NOPERM")
