"""Which of the account's mailboxes a NOTIFY event group or an ESEARCH IN source names
(RFC 5465 §6 filter-mailboxes, RFC 7377 §2 subtree-one).

A Scope is evaluated against a mailbox's current name whenever it is needed, so
"subscribed" and "subtree" follow subscriptions and renames made after the command.
Every name it is matched against is one the logged-in user sees: their own mailboxes', or
a shared mailbox's name in their namespaces (roost.imap.namespaces).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from roost.imap.namespaces import is_shared_name
from roost.proto.imap import commands as c

SEP = "/"


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str  # as in roost.proto.imap.commands.MailboxFilter
    names: tuple[str, ...] = ()  # store names (decoded) for SUBTREE, SUBTREE-ONE, MAILBOXES

    def matches(self, name: str, *, subscribed: bool, selected: str | None) -> bool:
        kind = self.kind
        if kind in ("SELECTED", "SELECTED-DELAYED"):
            return name == selected
        if kind == "INBOXES":
            # Mail is only ever delivered to INBOX (roost.smtp.local): it is the one
            # mailbox "to which messages may be delivered" (RFC 5465 §6).
            return name == "INBOX"
        if kind == "PERSONAL":
            return not is_shared_name(name)  # not Other Users/ nor Shared/ (issue 15)
        if kind == "SUBSCRIBED":
            return subscribed
        if kind == "MAILBOXES":
            return name in self.names
        if kind == "SUBTREE":
            return any(name == n or name.startswith(n + SEP) for n in self.names)
        if kind == "SUBTREE-ONE":
            return any(name == n or _child(name, n) for n in self.names)
        raise AssertionError(f"unknown mailbox filter {kind}")

    @property
    def selected(self) -> bool:
        return self.kind in ("SELECTED", "SELECTED-DELAYED")


def _child(name: str, parent: str) -> bool:
    prefix = parent + SEP
    return name.startswith(prefix) and SEP not in name[len(prefix) :]


def scope(f: c.MailboxFilter, decode: Callable[[str], str]) -> Scope:
    """The filter with its mailbox names decoded as the session reads names."""
    return Scope(f.kind, tuple(decode(n) for n in f.mailboxes))
