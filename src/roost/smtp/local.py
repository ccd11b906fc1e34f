"""Local recipients: who they are, and delivery into their INBOX with one reply each.

Each recipient's delivery is its own transaction (`roost.delivery.deliver`), so one that
fails (over quota, say) does not undo or block the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from roost.auth.accounts import normalise_address
from roost.delivery import deliver
from roost.errors import MailError, MailErrorKind
from roost.store.api import Account, Store

__all__ = ["Local", "Malformed", "Remote", "Unknown", "classify", "deliver_to_inbox", "reply_for"]

log = logging.getLogger("roost.smtp")


@dataclass(frozen=True, slots=True)
class Local:
    account: Account


@dataclass(frozen=True, slots=True)
class Remote:
    address: str  # normalised; its domain is not one of ours


@dataclass(frozen=True, slots=True)
class Unknown:
    address: str  # a local domain, but no such account


@dataclass(frozen=True, slots=True)
class Malformed:
    text: str


Recipient = Local | Remote | Unknown | Malformed


async def classify(store: Store, address: str) -> Recipient:
    try:
        normalised = normalise_address(address)
    except ValueError:
        return Malformed(address)
    account = await store.find_recipient(normalised)
    if account is not None:
        return Local(account)
    if await store.is_local_domain(normalised.rpartition("@")[2]):
        return Unknown(normalised)
    return Remote(normalised)


# MailError kinds as SMTP replies (RFC 3463 codes). Anything not listed is transient.
_REPLIES = {
    MailErrorKind.OVER_QUOTA: "452 4.2.2 Mailbox full",
    MailErrorKind.TOO_BIG: "552 5.3.4 Message too big for this mailbox",
    MailErrorKind.NONEXISTENT: "550 5.1.1 No such mailbox",
    MailErrorKind.NO_PERMISSION: "550 5.7.1 Delivery not permitted",
}


def reply_for(exc: MailError) -> str:
    return _REPLIES.get(exc.kind, "451 4.3.0 Temporary failure, try again later")


async def deliver_to_inbox(store: Store, account: Account, data: bytes) -> str:
    """Delivers data to the account's INBOX; returns the SMTP reply for this recipient."""
    try:
        inbox = await store.find_mailbox(account.id, "INBOX")
        await deliver(store, inbox.id, data)
    except MailError as exc:
        log.warning("delivery to %s failed: %s", account.address, exc.text)
        return reply_for(exc)
    except Exception:
        # A bug: logged with its traceback; the client retries, never sees the details.
        log.exception("delivery to %s failed", account.address)
        return "451 4.3.0 Internal error, try again later"
    return f"250 2.0.0 <{account.address}> delivered"
