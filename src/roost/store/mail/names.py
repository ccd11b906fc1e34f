"""The rules for the names the store keeps: mailbox names and account addresses.

The store's hierarchy separator is "/" (api.py); INBOX is case-insensitive (RFC 9051
§5.1), and so is the INBOX level of its inferiors, so "inbox/x" lives under INBOX.
"""

from __future__ import annotations

from roost.errors import MailError, MailErrorKind

__all__ = [
    "INBOX",
    "MAX_LEVELS",
    "MAX_LEVEL_LENGTH",
    "MAX_NAME_LENGTH",
    "SEP",
    "canonical_name",
    "check_new_name",
    "normalise_address",
    "superiors",
]

SEP = "/"
INBOX = "INBOX"
# What a new mailbox name may be (issue 9: one CREATE of a 10,000-level name made 10,000
# mailboxes, and LIST "*" then answered 101 MB). Generous for any real folder tree.
MAX_LEVELS = 32
MAX_LEVEL_LENGTH = 255  # characters of one level
MAX_NAME_LENGTH = 1000  # characters of the whole name


def canonical_name(name: str) -> str:
    """The stored spelling of a mailbox name. CANNOT for an empty level."""
    levels = name.split(SEP)
    if len(levels) > 1 and levels[-1] == "":
        # RFC 9051 §6.3.4: a trailing separator only declares the intent to add inferiors.
        levels.pop()
    if any(level == "" for level in levels):
        raise MailError(MailErrorKind.CANNOT, "invalid mailbox name")
    if levels[0].isascii() and levels[0].upper() == INBOX:
        levels[0] = INBOX
    return SEP.join(levels)


def check_new_name(name: str) -> None:
    """LIMIT for a name (canonical) no mailbox may be created or renamed to."""
    levels = name.split(SEP)
    if len(levels) > MAX_LEVELS:
        raise MailError(MailErrorKind.LIMIT, f"at most {MAX_LEVELS} levels of mailboxes")
    if len(name) > MAX_NAME_LENGTH or any(len(level) > MAX_LEVEL_LENGTH for level in levels):
        raise MailError(
            MailErrorKind.LIMIT,
            f"a mailbox name has at most {MAX_NAME_LENGTH} characters, "
            f"{MAX_LEVEL_LENGTH} in one level",
        )


def superiors(name: str) -> list[str]:
    """Superior names: "a/b/c" -> ["a", "a/b"]."""
    levels = name.split(SEP)
    return [SEP.join(levels[:i]) for i in range(1, len(levels))]


def normalise_address(address: str) -> str:
    """Lower-cases the domain only; CANNOT without a local part and a domain."""
    local, at, domain = address.strip().rpartition("@")
    if not (at and local and domain):
        raise MailError(MailErrorKind.CANNOT, "an address needs a local part and a domain")
    return f"{local}@{domain.lower()}"
