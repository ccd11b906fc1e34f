"""Local recipients: who they are, and delivery into their INBOX with one reply each.

Each recipient's delivery is its own transaction (`roost.delivery.deliver`), so one that
fails (over quota, say) does not undo or block the others.

Who a recipient is, in this order: an account or alias with that address; in a local
domain, `user+tag@domain` for user@domain (plus-addressing, with `recipient_delimiter`;
the tag may choose the mailbox, `deliver_to_tag_mailbox`); postmaster@ of any local domain
for the configured `postmaster` (RFC 5321 §4.5.1 requires that address everywhere); the
domain's catch-all, if it has one (after postmaster, so that setting always wins);
otherwise unknown in a local domain, or remote.

An alias (or catch-all) may name several accounts: it is then a `Group`, and each of its
accounts gets one copy. One reply answers for the group (`group_reply`): the message was
taken if any account took it, and the caller queues it for those that failed, so a retry
by the client never gives the others a second copy.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from roost.auth.accounts import normalise_address
from roost.config import Config
from roost.delivery import deliver
from roost.errors import MailError, MailErrorKind
from roost.store.api import Account, Store

__all__ = [
    "Group",
    "Local",
    "Malformed",
    "Remote",
    "Unknown",
    "classify",
    "deliver_to_inbox",
    "group_reply",
    "members_of",
    "reply_for",
]

log = logging.getLogger("roost.smtp")


@dataclass(frozen=True, slots=True)
class Local:
    account: Account
    tag: str | None = None  # user+tag@: the tag (plus-addressing)


@dataclass(frozen=True, slots=True)
class Group:
    """An address that delivers to several accounts (an alias, or a catch-all)."""

    address: str  # normalised, as the sender wrote it
    members: tuple[Local, ...]  # one per account, sorted by address


@dataclass(frozen=True, slots=True)
class Remote:
    address: str  # normalised; its domain is not one of ours


@dataclass(frozen=True, slots=True)
class Unknown:
    address: str  # a local domain, but no such account


@dataclass(frozen=True, slots=True)
class Malformed:
    text: str


Recipient = Local | Group | Remote | Unknown | Malformed


async def classify(store: Store, address: str, config: Config | None = None) -> Recipient:
    """Who receives mail for address; config brings plus-addressing and postmaster."""
    try:
        normalised = normalise_address(address)
    except ValueError:
        return Malformed(address)
    found = _found(normalised, await store.find_recipients(normalised))
    if found is not None:
        return found
    local, _, domain = normalised.rpartition("@")
    if not await store.is_local_domain(domain):
        return Remote(normalised)
    if config is not None:
        delimiter = config.recipient_delimiter
        if delimiter and delimiter in local.strip(delimiter):
            user, _, tag = local.partition(delimiter)
            found = _found(normalised, await store.find_recipients(f"{user}@{domain}"), tag)
            if found is not None:
                return found
        if local == "postmaster" and config.postmaster:
            found = _found(normalised, await store.find_recipients(config.postmaster))
            if found is not None:
                return found
    found = _found(normalised, await store.catch_all(domain))
    return found if found is not None else Unknown(normalised)


def _found(address: str, accounts: list[Account], tag: str | None = None) -> Local | Group | None:
    if not accounts:
        return None
    if len(accounts) == 1:
        return Local(accounts[0], tag)
    return Group(address, tuple(Local(account, tag) for account in accounts))


def members_of(recipient: Recipient) -> tuple[Local, ...]:
    """The accounts a recipient delivers to, each as a Local; () if it is not local."""
    match recipient:
        case Local():
            return (recipient,)
        case Group(_, members):
            return members
        case _:
            return ()


def group_reply(group: Group, replies: Sequence[str]) -> str:
    """One reply for the deliveries to a group's accounts: success if any account has the
    message (the caller queues it for the others), else the first transient failure (the
    client retries), else the first failure."""
    if any(reply.startswith("2") for reply in replies):
        return f"250 2.0.0 <{group.address}> delivered"
    transient = [reply for reply in replies if reply.startswith("4")]
    return transient[0] if transient else replies[0]


# MailError kinds as SMTP replies (RFC 3463 codes). Anything not listed is transient.
_REPLIES = {
    MailErrorKind.OVER_QUOTA: "452 4.2.2 Mailbox full",
    MailErrorKind.TOO_BIG: "552 5.3.4 Message too big for this mailbox",
    MailErrorKind.NONEXISTENT: "550 5.1.1 No such mailbox",
    MailErrorKind.NO_PERMISSION: "550 5.7.1 Delivery not permitted",
    # RFC 5321 §4.2.3 (452: insufficient system storage), RFC 3463 X.3.1 (mail system full)
    MailErrorKind.UNAVAILABLE: "452 4.3.1 Insufficient system storage, try again later",
}


def reply_for(exc: MailError) -> str:
    return _REPLIES.get(exc.kind, "451 4.3.0 Temporary failure, try again later")


async def deliver_to_inbox(
    store: Store, account: Account, data: bytes, mailbox: str | None = None
) -> str:
    """Delivers data to the account's INBOX (or to `mailbox`, if it exists); returns the
    SMTP reply for this recipient."""
    try:
        target = None
        if mailbox:
            with contextlib.suppress(MailError):
                target = await store.find_mailbox(account.id, mailbox)
        if target is None:
            target = await store.find_mailbox(account.id, "INBOX")
        await deliver(store, target.id, data)
    except MailError as exc:
        log.warning("delivery to %s failed: %s", account.address, exc.text)
        return reply_for(exc)
    except Exception:
        # A bug: logged with its traceback; the client retries, never sees the details.
        log.exception("delivery to %s failed", account.address)
        return "451 4.3.0 Internal error, try again later"
    return f"250 2.0.0 <{account.address}> delivered"


def tag_mailbox(recipient: Local, config: Config) -> str | None:
    """The mailbox a plus-addressed recipient's mail goes to, if the configuration says so."""
    return recipient.tag if config.deliver_to_tag_mailbox else None
