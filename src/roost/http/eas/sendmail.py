"""SendMail ([MS-ASCMD] §2.2.1.17): a message composed on the device, sent as submission
(roost.smtp.submission) sends one, with the same building blocks:

1. the account may send only as itself: every From: and Sender: address must be its own
   or an alias (else Status 130, access denied);
2. the recipients are the To:, Cc: and Bcc: addresses (none: Status 119); remote ones are
   queued, local ones delivered to their INBOX (one that fails is queued, and bounces
   from there), all without the Bcc: field; the queue is woken;
3. with SaveInSentItems, one copy goes to Sent, \\Seen, its Bcc: kept, unless the same
   message is already there (roost.smtp.sent: an IMAP client's own APPEND of it).

A retried request (same ClientId within CLIENT_ID_WINDOW, whichever worker serves it, and
after a restart: the store keeps the ids) is answered Status 118 (sent already) and sends
nothing twice; a request refused, or failing midway, leaves its id free for the retry.
Success is an empty 200 answer, as the protocol says.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from roost.errors import MailError
from roost.http.eas.context import Command
from roost.model import AccountId
from roost.proto.eas.requests import parse_send_mail
from roost.proto.eas.wbxml import Element
from roost.smtp.local import (
    Group,
    Local,
    Malformed,
    Unknown,
    classify,
    deliver_to_inbox,
    members_of,
    tag_mailbox,
)
from roost.smtp.message import header_addresses, message_id, without_bcc
from roost.smtp.policy import parse_path
from roost.smtp.sent import save_sent_copy

__all__ = ["protocol_error", "run", "status", "submit"]

log = logging.getLogger("roost.activesync")

C = "ComposeMail"
# [MS-ASCMD] §2.2.2 common statuses
INVALID_MIME, SERVER_ERROR, PREVIOUSLY_SENT, NO_RECIPIENT, SUBMISSION_FAILED = (
    "107",
    "110",
    "118",
    "119",
    "120",
)
ACCESS_DENIED = "130"
# How long a ClientId is remembered: devices retry within minutes; ids are unique per
# message ([MS-ASCMD] §2.2.3.27.1), so a day is ample and the table stays small.
CLIENT_ID_WINDOW = timedelta(days=1)


def status(value: str, command: str = "SendMail") -> Element:
    return Element(C, command, (Element(C, "Status", value=value),))


def protocol_error() -> Element:
    return status(INVALID_MIME)


async def run(command: Command, document: Element | None) -> Element | None:
    if document is None:
        return protocol_error()
    request = parse_send_mail(document)
    return await submit(command, request.client_id, request.mime, request.save_in_sent)


async def submit(
    command: Command, client_id: str, data: bytes, save_in_sent: bool
) -> Element | None:
    """Sends data for the account (steps 1 to 3 above); None when sent, else the
    ComposeMail answer with the status that says why not."""
    account, store = command.account, command.store
    if len(data) > command.service.config.max_message_size:
        return status(SUBMISSION_FAILED)
    senders = header_addresses(data, "from") + header_addresses(data, "sender")
    if not header_addresses(data, "from"):
        return status(INVALID_MIME)
    for sender in senders:
        address = parse_path(sender)
        if not address or not await store.owns_address(account.id, address):
            return status(ACCESS_DENIED)
    named = [a for field in ("to", "cc", "bcc") for a in header_addresses(data, field)]
    recipients = list(dict.fromkeys(r for a in named if (r := parse_path(a))))
    if not recipients:
        return status(NO_RECIPIENT)
    now = datetime.now(UTC)
    if not await store.claim_client_id(account.id, client_id, now, now - CLIENT_ID_WINDOW):
        return status(PREVIOUSLY_SENT)
    try:
        refusal = await _relay(command, recipients, without_bcc(data))
    except BaseException:
        await store.release_client_id(account.id, client_id)
        raise
    if refusal is not None:
        await store.release_client_id(account.id, client_id)
        return status(refusal)
    log.info(
        "activesync submission from %s: %d recipients, %d bytes, %s",
        account.address,
        len(recipients),
        len(data),
        message_id(data) or "no Message-ID",
    )
    if save_in_sent:
        try:
            await save_sent_copy(
                store, account, data, command.service.config.sent_dedup_window, recipients
            )
        except MailError as exc:  # the mail is on its way all the same
            log.warning("%s: no Sent copy: %s", account.address, exc.text)
    return None


async def _relay(command: Command, recipients: list[str], data: bytes) -> str | None:
    """Queues the remote recipients, then delivers to the local ones (as submission does);
    a status if a recipient is no address or no user of a local domain (nothing sent)."""
    store, config = command.store, command.service.config
    local: dict[tuple[AccountId, str | None], Local] = {}  # each account once per mailbox
    remote: list[str] = []
    for address in recipients:
        match await classify(store, address, config):
            case Local() | Group() as found:
                for member in members_of(found):
                    local.setdefault((member.account.id, tag_mailbox(member, config)), member)
            case Unknown() | Malformed():
                return SUBMISSION_FAILED
            case _:
                remote.append(address)
    sender = command.account.address
    if remote:
        await store.enqueue(data, sender, remote)
    failed = []
    for recipient in local.values():
        reply = await deliver_to_inbox(
            store, recipient.account, data, tag_mailbox(recipient, config)
        )
        if not reply.startswith("2"):
            failed.append(recipient.account.address)
    if failed:
        await store.enqueue(data, sender, failed)
    if remote or failed:
        command.service.wake_queue()
    return None
