"""The three error families, mapped once at the edge.

    Exception
    ├── ProtocolError        the peer sent something malformed (IMAP BAD, SMTP 5xx, POP3 -ERR);
    │                        raised by roost.proto and by command handlers
    └── MailError(kind)      the store refused an operation for a mail reason; it knows nothing of
                             any protocol: roost.imap.codes maps each kind to a response code

Anything else that escapes a handler is a bug: it is logged with its traceback and the client
gets a fixed "[SERVERBUG]" text, never str(exc).
"""

from __future__ import annotations

import enum

# ProtocolError lives in the sans-IO layer (roost.proto may import nothing else of Roost);
# it is re-exported here so the hierarchy has one home.
from roost.proto.errors import ProtocolError


class MailErrorKind(enum.Enum):
    NONEXISTENT = "nonexistent"  # no such mailbox / message
    ALREADY_EXISTS = "already-exists"  # mailbox name taken
    HAS_CHILDREN = "has-children"  # cannot delete: inferior names exist
    CANNOT = "cannot"  # operation never allowed (delete INBOX, rename into itself)
    OVER_QUOTA = "over-quota"
    TOO_BIG = "too-big"  # message exceeds the size limit
    NO_PERMISSION = "no-permission"
    AUTH_FAILED = "auth-failed"
    IN_USE = "in-use"  # transient: retry later
    LIMIT = "limit"  # a server limit was hit (e.g. too many mailboxes)
    MODIFIED = "modified"  # conditional store lost a race (CONDSTORE)
    CORRUPTED = "corrupted"  # stored data no longer matches its checksum (a blob's hash)
    # transient: the storage cannot be written now (disk full, read-only, I/O error, the
    # database server unreachable); nothing was changed
    UNAVAILABLE = "unavailable"


class MailError(Exception):
    """A mail-level refusal from the store or account layer."""

    def __init__(self, kind: MailErrorKind, text: str = "") -> None:
        super().__init__(text or kind.value)
        self.kind = kind
        self.text = text or kind.value


# What a client hears when the storage fails (roost.store engines and blob files log the
# cause, one line, for the operator).
STORAGE_UNAVAILABLE = "The server cannot store anything now; try again later"


def storage_unavailable() -> MailError:
    return MailError(MailErrorKind.UNAVAILABLE, STORAGE_UNAVAILABLE)


def took_too_long() -> MailError:
    """A read stopped at its time limit (a search; roost.store.engines.api.Engine.run)."""
    return MailError(MailErrorKind.LIMIT, "The search took too long; narrow it down")


__all__ = [
    "STORAGE_UNAVAILABLE",
    "MailError",
    "MailErrorKind",
    "ProtocolError",
    "storage_unavailable",
    "took_too_long",
]
