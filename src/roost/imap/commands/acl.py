"""GETACL, SETACL, DELETEACL, LISTRIGHTS and MYRIGHTS (RFC 4314 §3), over the store's rights
(roost.store.api.AclStore). Identifiers are user addresses; a mailbox's owner holds every
right and is listed with them (a team's mailboxes have no owner to list). Each command
finds its mailbox through roost.imap.access, so a user without "l" on it hears only NO
[NONEXISTENT], as for a name that is nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.errors import MailError, MailErrorKind
from roost.imap.access import Visible, find, require
from roost.imap.reply import Reply, bad, no, ok
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged
from roost.proto.imap.strings import render_string
from roost.store.api import ALL_RIGHTS, changed_rights

if TYPE_CHECKING:
    from roost.imap.session import Session

# RFC 4314 §2.1.1: the obsolete "c" and "d" are still understood in SETACL.
_KNOWN = set(ALL_RIGHTS) | {"c", "d"}
# RFC 4314 §3.5 MYRIGHTS: any of these lets a user ask what they hold.
_MAY_ASK = "lrikxa"


async def _administered(s: Session, name: str) -> Visible:
    mailbox = await find(s, s.decode_mailbox(name))
    require(mailbox, "a")  # RFC 4314 §4: the ACL commands need "a"
    return mailbox


def _line(s: Session, verb: str, mailbox: Visible, *fields: str) -> bytes:
    rendered = [render_string(f, utf8=s.utf8) for f in fields]
    return untagged(verb.encode() + b" " + b" ".join([s.render_mailbox(mailbox.name), *rendered]))


async def getacl(s: Session, cmd: c.GetAcl) -> Reply:
    mailbox = await _administered(s, cmd.mailbox)
    entries = [(e.address, e.rights) for e in await s.store.get_acl(mailbox.mailbox.id)]
    owner = await _owner(s, mailbox)
    if owner is not None:
        entries.insert(0, (owner, ALL_RIGHTS))
    fields = [field for entry in entries for field in entry]
    await s.send(_line(s, "ACL", mailbox, *fields))
    return ok("GETACL completed")


async def _owner(s: Session, mailbox: Visible) -> str | None:
    """The owner's address (None for a team's mailbox, which belongs to no one)."""
    assert s.account is not None
    if mailbox.owned:
        return s.account.address
    shared = await s.store.shared_mailboxes(s.account.id)
    found = next((m for m in shared if m.mailbox.id == mailbox.mailbox.id), None)
    return None if found is None or found.team else found.owner


async def setacl(s: Session, cmd: c.SetAcl) -> Reply:
    letters = cmd.rights[1:] if cmd.rights[:1] in ("+", "-") else cmd.rights
    if not set(letters.lower()) <= _KNOWN:
        return bad("Unknown right")  # RFC 4314 §3.1: an unknown right is BAD
    mailbox = await _administered(s, cmd.mailbox)
    current = {e.address: e.rights for e in await s.store.get_acl(mailbox.mailbox.id)}
    identifier = cmd.identifier.lower()
    try:
        new = changed_rights(current.get(identifier, ""), cmd.rights)
        await s.store.set_rights(mailbox.mailbox.id, identifier, new)
    except MailError as exc:
        return _refused(exc)
    return ok("SETACL completed")


async def deleteacl(s: Session, cmd: c.DeleteAcl) -> Reply:
    mailbox = await _administered(s, cmd.mailbox)
    try:
        await s.store.delete_rights(mailbox.mailbox.id, cmd.identifier.lower())
    except MailError as exc:
        return _refused(exc)
    return ok("DELETEACL completed")


def _refused(exc: MailError) -> Reply:
    """The mailbox was found, so NONEXISTENT here names the identifier, not the mailbox."""
    if exc.kind is MailErrorKind.NONEXISTENT:
        return no("No such user")
    if exc.kind is MailErrorKind.CANNOT:
        return no(exc.text, "CANNOT")
    raise exc


async def listrights(s: Session, cmd: c.ListRights) -> Reply:
    mailbox = await _administered(s, cmd.mailbox)
    owner = await _owner(s, mailbox)
    identifier = cmd.identifier.lower()
    # RFC 4314 §3.4: the rights always granted, then each that may be granted on its own.
    groups = [ALL_RIGHTS] if identifier == owner else ["", *ALL_RIGHTS]
    await s.send(_line(s, "LISTRIGHTS", mailbox, cmd.identifier, *groups))
    return ok("LISTRIGHTS completed")


async def myrights(s: Session, cmd: c.MyRights) -> Reply:
    mailbox = await find(s, s.decode_mailbox(cmd.mailbox))
    if not any(right in mailbox.rights for right in _MAY_ASK):
        # Without any of them (so without "l"), as for no mailbox at all.
        raise MailError(MailErrorKind.NONEXISTENT, "No such mailbox")
    await s.send(_line(s, "MYRIGHTS", mailbox, mailbox.rights))
    return ok("MYRIGHTS completed")
