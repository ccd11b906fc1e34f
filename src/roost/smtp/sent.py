"""The Sent folder in sync: every submitted message gets one copy in the sender's Sent.

Clients that also APPEND their own copy (Thunderbird, Outlook) must not end up with two.
A copy is "the same message" when its Message-ID matches and the digest of its body
(line endings and trailing white space normalised, since a client may re-encode them)
matches, and it arrived in the Sent mailbox within `sent_dedup_window` seconds. Headers
are left out of the digest: the two routes differ there (Bcc:, Received:, ...).

`is_duplicate` is the check both routes use; the IMAP APPEND side calls it as well once
it wants to (it may skip its append and answer with the existing UID).
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta

from roost.delivery import PARSE_INLINE_LIMIT, analyse, analyse_async, deliver
from roost.errors import MailError, MailErrorKind
from roost.model import SEEN, MailboxId, ParsedMessage
from roost.store.api import Account, Mailbox, Store

__all__ = ["body_digest", "find_sent_mailbox", "is_duplicate", "save_sent_copy"]

log = logging.getLogger("roost.smtp")

_TRAILING_SPACE = re.compile(rb"[ \t]+(?=\n)")


def body_digest(data: bytes, header_size: int) -> str:
    body = data[header_size:].replace(b"\r\n", b"\n")
    body = _TRAILING_SPACE.sub(b"", body).rstrip(b"\n")
    return hashlib.sha256(body).hexdigest()


async def is_duplicate(
    store: Store, mailbox: MailboxId, data: bytes, parsed: ParsedMessage, window: int
) -> bool:
    if parsed.message_id is None or window <= 0:
        return False
    since = _now() - timedelta(seconds=window)
    candidates = await store.find_by_message_id(mailbox, parsed.message_id, since)
    digest = body_digest(data, parsed.header_size)
    for _uid, blob in candidates:
        other = await store.read_blob(blob)
        header_size = (await analyse_async(other)).header_size
        if body_digest(other, header_size) == digest:
            return True
    return False


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


async def save_sent_copy(store: Store, account: Account, data: bytes, window: int) -> bool:
    """Stores data in the account's Sent mailbox, \\Seen, unless it is already there.
    Returns whether a copy was added."""
    parsed = analyse(data) if len(data) <= PARSE_INLINE_LIMIT else await analyse_async(data)
    sent = await find_sent_mailbox(store, account)
    if await is_duplicate(store, sent.id, data, parsed, window):
        log.info("%s: Sent already holds %s", account.address, parsed.message_id)
        return False
    await deliver(store, sent.id, data, frozenset({SEEN}), parsed=parsed)
    return True


def _now() -> datetime:
    return datetime.now(UTC)
