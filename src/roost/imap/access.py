"""A user's mailboxes as IMAP shows them: their own and those shared with them, each with
the rights the user holds on it (RFC 4314 §4), and the one rule for refusing.

Every command that names a mailbox finds it here (`find`, `visible`, `place`), never by the
store's name alone, so that a shared mailbox is reached only through its shared name and
only with a right on it. A refusal never tells a user who may not look a mailbox up (no
"l") that it exists: they hear the same NO [NONEXISTENT] as for a name that is nothing
(RFC 4314 §4, last paragraph); a user who may see it but not do this hears NO [NOPERM].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from roost.errors import MailError, MailErrorKind
from roost.imap.namespaces import SHARED, is_shared_name, owner_prefix, shared_name
from roost.model import AccountId
from roost.store.api import ALL_RIGHTS, Mailbox

if TYPE_CHECKING:
    from roost.imap.session import Session

__all__ = ["Visible", "destination", "find", "place", "require", "shared", "visible"]

INBOX = "INBOX"


@dataclass(frozen=True, slots=True, kw_only=True)
class Visible:
    """A mailbox as one user sees it."""

    name: str  # the name this user knows it by
    mailbox: Mailbox
    rights: str  # RFC 4314 letters the user holds (every one on their own mailboxes)
    prefix: str = ""  # "" for the user's own; else its owner's ("Shared/support/")

    @property
    def owned(self) -> bool:
        return not self.prefix

    @property
    def account(self) -> AccountId:
        """The account that owns it (and whose quota it counts against)."""
        return self.mailbox.account_id

    @property
    def private_seen(self) -> bool:
        """A team's mailbox: each member has their own \\Seen (roost.store.mail.private)."""
        return self.prefix.startswith(SHARED + "/")

    def may(self, rights: str) -> bool:
        return all(right in self.rights for right in rights)


def require(mailbox: Visible, rights: str) -> None:
    """NO unless the user holds every one of rights on mailbox: NONEXISTENT if they may
    not even look it up, so that nothing tells them it exists; NOPERM otherwise."""
    if mailbox.may(rights):
        return
    if "l" not in mailbox.rights:
        raise MailError(MailErrorKind.NONEXISTENT, "No such mailbox")
    raise MailError(MailErrorKind.NO_PERMISSION, "Permission denied")


def _own(mailbox: Mailbox) -> Visible:
    return Visible(name=mailbox.name, mailbox=mailbox, rights=ALL_RIGHTS)


async def shared(s: Session) -> list[Visible]:
    """The mailboxes others share with the user, by name; the session listens to their
    owners' hints from now on (roost.notify.many)."""
    assert s.account is not None
    address = s.account.address
    found = await s.store.shared_mailboxes(s.account.id)
    s.watch({m.mailbox.account_id for m in found})
    return sorted(
        (
            Visible(
                name=shared_name(address, m),
                mailbox=m.mailbox,
                rights=m.rights,
                prefix=owner_prefix(address, m),
            )
            for m in found
        ),
        key=lambda v: v.name,
    )


async def visible(s: Session) -> list[Visible]:
    """The user's own mailboxes, then the shared ones they hold any right on."""
    assert s.account is not None
    own = [_own(m) for m in await s.store.list_mailboxes(s.account.id)]
    return own + await shared(s)


async def find(s: Session, name: str) -> Visible:
    """The mailbox the user calls name (a store name: decoded already). NONEXISTENT if
    there is none, or none the user holds a right on."""
    assert s.account is not None
    if not is_shared_name(name):
        return _own(await s.store.find_mailbox(s.account.id, name))
    for mailbox in await shared(s):
        if mailbox.name == name:
            return mailbox
    raise MailError(MailErrorKind.NONEXISTENT, "No such mailbox")


async def destination(s: Session, name: str) -> Visible | None:
    """Where APPEND, COPY and MOVE add messages (RFC 4314 §4: "i"). None when there is no
    mailbox the user may add to and may look up: the caller answers as for no mailbox at
    all (TRYCREATE). NOPERM if they may look it up but not add to it."""
    try:
        target = await find(s, name)
    except MailError as exc:
        if exc.kind is MailErrorKind.NONEXISTENT:
            return None
        raise
    if target.may("i"):
        return target
    if "l" not in target.rights:
        return None
    raise MailError(MailErrorKind.NO_PERMISSION, "Permission denied")


async def place(s: Session, name: str) -> tuple[AccountId, str]:
    """Where CREATE name makes its mailbox: (the owner's account, the name there). In a
    shared namespace the user needs "k" on the mailbox it goes below (a team's top-level
    one: below the team's INBOX, whose rights it takes; RFC 4314 §4 CREATE)."""
    assert s.account is not None
    if not is_shared_name(name):
        return s.account.id, name
    views = await shared(s)
    owner = next((v for v in views if name.startswith(v.prefix) and name != v.prefix), None)
    if owner is None:
        raise MailError(MailErrorKind.NO_PERMISSION, "Permission denied")
    rest = name[len(owner.prefix) :]
    if "/" in rest:
        parent_name = owner.prefix + rest.rsplit("/", 1)[0]
    elif owner.prefix.startswith(SHARED + "/"):
        parent_name = owner.prefix + INBOX
    else:
        # RFC 4314 §4: a new top-level mailbox of another person is theirs to make.
        raise MailError(MailErrorKind.NO_PERMISSION, "Permission denied")
    parent = next((v for v in views if v.name == parent_name), None)
    if parent is None or not parent.may("k"):
        # One answer whether the superior exists or not: nothing leaks.
        raise MailError(MailErrorKind.NO_PERMISSION, "Permission denied")
    return owner.account, rest
