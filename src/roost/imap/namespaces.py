"""Where a user finds their own mailboxes and those shared with them (RFC 2342 NAMESPACE).

Three namespaces, each with "/" as its separator:

    ""              the user's own mailboxes (personal);
    "Other Users/"  a person's mailbox shared with the user: alice's Projects appears to
                    bob as "Other Users/alice/Projects" (RFC 2342 §4 "other users");
    "Shared/"       a team's mailboxes, which belong to no one: "Shared/support/INBOX".

An owner is named by the local part of their address when it shares the user's domain,
else by the whole address ("Other Users/carol@example.net/Lists"), so that two owners never
get one name. A team's INBOX keeps its name below the team ("Shared/support/INBOX") rather
than standing for the team itself: one rule for every shared mailbox, and "Shared/support"
lists as the team's folder, as Dovecot's shared namespace does.

Pure functions of names: no store, no session.
"""

from __future__ import annotations

from roost.store.api import SharedMailbox

OTHER_USERS = "Other Users"
SHARED = "Shared"
PREFIXES = (OTHER_USERS, SHARED)

# RFC 2342 §5: each namespace as (prefix delimiter); personal, other users, shared.
NAMESPACE_RESPONSE = f'NAMESPACE (("" "/")) (("{OTHER_USERS}/" "/")) (("{SHARED}/" "/"))'


def owner_label(viewer: str, owner: str) -> str:
    """How the viewer names the owner: the local part within one domain, else the address."""
    local, _, domain = owner.rpartition("@")
    return local if viewer.rpartition("@")[2] == domain else owner


def owner_prefix(viewer: str, shared: SharedMailbox) -> str:
    """The name every mailbox of the shared mailbox's owner starts with, to the viewer."""
    top = SHARED if shared.team else OTHER_USERS
    return f"{top}/{owner_label(viewer, shared.owner)}/"


def shared_name(viewer: str, shared: SharedMailbox) -> str:
    return owner_prefix(viewer, shared) + shared.mailbox.name


def is_shared_name(name: str) -> bool:
    """Whether name lies in a shared namespace (no personal mailbox may be named so)."""
    return name.split("/", 1)[0] in PREFIXES


def superiors(name: str) -> list[str]:
    """The names above name ("Shared/support/INBOX" -> "Shared", "Shared/support")."""
    parts = name.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
