"""The Sent folder in sync: every submitted message gets one copy in the sender's Sent.

Clients that also save their own copy to Sent must not end up with two, whichever comes
first: Outlook APPENDs and then submits (the submission finds the copy and files none),
mutt, neomutt and Thunderbird submit and then APPEND (the APPEND finds the server's copy,
stores nothing and answers OK with that copy's APPENDUID, roost.imap.commands.append).
A copy is "the same message" when its Message-ID matches and the digest of its body
(line endings and trailing white space normalised, since a client may re-encode them)
matches, and it arrived in the Sent mailbox within `sent_dedup_window` seconds. Headers
are left out of the digest: the two routes differ there (Bcc:, Received:, ...).

The server's own copy is \\Seen and names the blind-copied recipients in a Bcc: field
(from the envelope, when the client left the field out), so the user still sees them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from roost.auth.accounts import normalise_address
from roost.delivery import PARSE_INLINE_LIMIT, analyse, analyse_async, deliver, find_copy
from roost.errors import MailError, MailErrorKind
from roost.model import SEEN
from roost.proto.mime_headers import split_header
from roost.smtp.message import header_addresses
from roost.store.api import Account, Mailbox, Store

__all__ = [
    "blind_recipients",
    "find_sent_mailbox",
    "save_sent_copy",
    "with_bcc",
]

log = logging.getLogger("roost.smtp")


# Header addresses looked up as possible aliases of a recipient, at most (issue 9: a To:
# of 200,000 addresses made as many store lookups, 25 s of one submission).
MAX_ALIAS_LOOKUPS = 1000


async def blind_recipients(store: Store, data: bytes, recipients: Sequence[str]) -> list[str]:
    """The envelope recipients that the To:, Cc: and Bcc: fields do not name. A local
    recipient is in the envelope as its account's address, so a field naming one of its
    aliases names it too (the first MAX_ALIAS_LOOKUPS addresses are looked up, and only
    while a recipient is still unnamed)."""
    named: dict[str, None] = {}
    for address in (a for name in ("to", "cc", "bcc") for a in header_addresses(data, name)):
        try:
            named[normalise_address(address)] = None
        except ValueError:
            continue
    blind: dict[str, str] = {}
    for recipient in recipients:
        if recipient.lower() not in named:
            blind.setdefault(recipient.lower(), recipient)
    for lookups, address in enumerate(named):
        if not blind or lookups >= MAX_ALIAS_LOOKUPS:
            break
        for account in await store.find_recipients(address):
            blind.pop(account.address.lower(), None)
    return list(blind.values())


def with_bcc(data: bytes, blind: Sequence[str]) -> bytes:
    """data with a Bcc: field naming `blind` (RFC 5322 §3.6.3), added at the end of the
    header; data itself if there is no one to name."""
    if not blind:
        return data
    field = b"Bcc: " + ", ".join(blind).encode()
    size = split_header(data)
    head, body = data[:size], data[size:]
    for ending in (b"\r\n", b"\n"):
        if head == ending:  # no header at all
            return field + ending + head + body
        if head.endswith(ending + ending):  # the usual case: before the empty line
            return head[: -len(ending)] + field + ending + ending + body
    # A header with no empty line after it, and so no body.
    return data + (b"" if data.endswith(b"\n") else b"\r\n") + field + b"\r\n"


async def find_sent_mailbox(store: Store, account: Account) -> Mailbox:
    """The account's \\Sent mailbox; "Sent" is created if the user deleted every one."""
    mailboxes = await store.list_mailboxes(account.id)
    for mailbox in mailboxes:
        if mailbox.special_use == "\\Sent":
            return mailbox
    for mailbox in mailboxes:
        if mailbox.name.lower() == "sent":
            return mailbox
    try:
        return await store.create_mailbox(account.id, "Sent", "\\Sent")
    except MailError as exc:
        if exc.kind is not MailErrorKind.ALREADY_EXISTS:
            raise
        return await store.find_mailbox(account.id, "Sent")


async def save_sent_copy(
    store: Store,
    account: Account,
    data: bytes,
    window: int,
    recipients: Sequence[str] = (),
) -> bool:
    """Stores data in the account's Sent mailbox, \\Seen, with a Bcc: field for the
    envelope recipients it does not name, unless it is already there. Returns whether a
    copy was added."""
    data = with_bcc(data, await blind_recipients(store, data, recipients))
    parsed = analyse(data) if len(data) <= PARSE_INLINE_LIMIT else await analyse_async(data)
    sent = await find_sent_mailbox(store, account)
    if await find_copy(store, sent.id, data, parsed, window) is not None:
        log.info("%s: Sent already holds %s", account.address, parsed.message_id)
        return False
    await deliver(store, sent.id, data, frozenset({SEEN}), parsed=parsed)
    return True
