"""Store refusals (MailErrorKind) as IMAP response codes (RFC 9051 §7.1, RFC 5530)."""

from __future__ import annotations

from roost.errors import MailError, MailErrorKind

CODES = {
    MailErrorKind.NONEXISTENT: "NONEXISTENT",
    MailErrorKind.ALREADY_EXISTS: "ALREADYEXISTS",
    MailErrorKind.HAS_CHILDREN: "HASCHILDREN",
    MailErrorKind.CANNOT: "CANNOT",
    MailErrorKind.OVER_QUOTA: "OVERQUOTA",
    MailErrorKind.TOO_BIG: "TOOBIG",
    MailErrorKind.NO_PERMISSION: "NOPERM",
    MailErrorKind.AUTH_FAILED: "AUTHENTICATIONFAILED",
    MailErrorKind.IN_USE: "INUSE",
    MailErrorKind.LIMIT: "LIMIT",
    MailErrorKind.MODIFIED: "CANNOT",
    MailErrorKind.CORRUPTED: "CORRUPTION",  # RFC 5530 §3
    MailErrorKind.UNAVAILABLE: "UNAVAILABLE",  # RFC 5530 §3: a subsystem is down, retry
}


def code_for(error: MailError) -> str:
    return CODES[error.kind]
