"""Out-of-office replies (RFC 3834), sent when mail is delivered to an account that set
one (ActiveSync Settings Oof; roost.store.api.OutOfOffice).

Theory of operation
-------------------
Inbound delivery (SMTP and LMTP, roost.smtp.inbound) calls `out_of_office` once a message
has landed in an account's mailbox. It answers only when every one of these holds:

- the account's out of office is on now (on, or scheduled and within its times);
- the message may be answered (`may_answer`, RFC 3834 §2 and §3.1.8): a sender (the
  envelope's MAIL FROM, where RFC 3834 §3.1.1 sends replies) that is not null, not the
  account itself and not a mailer daemon or list address; no Auto-Submitted other than
  "no"; no Precedence bulk, list or junk; no List-Id, List-Post or List-Unsubscribe; no
  X-Auto-Response-Suppress asking Exchange-style senders' mail to go unanswered;
- the audience the sender belongs to (this server's domains, or outside) has a reply;
- the store grants the claim (`claim_auto_reply`): this sender has not been answered by
  this account in REPLY_INTERVAL, whichever worker delivered the earlier message.

The reply (`compose`) is from the account to the sender, "Auto: " and the original
subject, In-Reply-To and References the original, Auto-Submitted: auto-replied
(RFC 3834 §3.1.7), and is queued with a null MAIL FROM (§3.3) so that a bounce of it is
never answered; the caller wakes the outbound queue.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from email.utils import format_datetime

from roost.proto.mime_headers import field_name, field_spans, field_value, split_header
from roost.store.api import Account, OofReply, Store

__all__ = ["REPLY_INTERVAL", "compose", "may_answer", "out_of_office"]

log = logging.getLogger("roost.autoreply")

# RFC 3834 §2: not again to the same sender within "a period of several days"; Sieve
# vacation (RFC 5230 §4.1) makes that 7 days by default.
REPLY_INTERVAL = timedelta(days=7)

# Senders that are software, not people (RFC 3834 §2: lists; RFC 5230 §4.5 lists these).
_ROBOT_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "postmaster", "listserv", "majordomo", "noreply", "no-reply"}
)
_ROBOT_AFFIXES = (("owner-", ""), ("", "-request"), ("", "-bounces"), ("", "-owner"))
_LIST_FIELDS = frozenset({"list-id", "list-post", "list-unsubscribe"})
_READ = frozenset(
    {
        "auto-submitted",
        "precedence",
        "x-auto-response-suppress",
        "subject",
        "message-id",
        "references",
        *_LIST_FIELDS,
    }
)


def _fields(data: bytes) -> dict[str, str]:
    """The first value of each header field this module reads, by lower-case name."""
    end = split_header(data)
    values: dict[str, str] = {}
    for start, colon, stop in field_spans(data, 0, end):
        if colon < 0:
            continue
        name = field_name(data, start, colon)
        if name in _READ and name not in values:
            values[name] = field_value(data, colon, stop)
    return values


def _is_robot(sender: str) -> bool:
    local = sender.rpartition("@")[0].lower()
    if local in _ROBOT_LOCAL_PARTS:
        return True
    return any(
        local.startswith(head) and local.endswith(tail) and local != head + tail
        for head, tail in _ROBOT_AFFIXES
        if head or tail
    )


def may_answer(sender: str, recipient: str, data: bytes) -> bool:
    """Whether RFC 3834 lets the recipient's responder answer this message from sender."""
    if not sender or "@" not in sender or sender.lower() == recipient.lower():
        return False
    if _is_robot(sender):
        return False
    fields = _fields(data)
    auto = fields.get("auto-submitted")
    if auto is not None and auto.split(";")[0].strip().lower() != "no":  # §5
        return False
    if fields.get("precedence", "").strip().lower() in ("bulk", "list", "junk"):
        return False
    if _LIST_FIELDS & fields.keys():
        return False
    suppress = {s.strip().lower() for s in fields.get("x-auto-response-suppress", "").split(",")}
    return not suppress & {"oof", "all"}


def compose(
    *, account: str, sender: str, original: bytes, reply: OofReply, hostname: str, now: datetime
) -> bytes:
    """The automatic reply to original (RFC 3834 §3.1)."""
    fields = _fields(original)
    subject = fields.get("subject", "").strip()
    header = [
        f"From: <{account}>",
        f"To: <{sender}>",
        f"Subject: Auto: {subject}" if subject else "Subject: Auto: out of office",
        f"Date: {format_datetime(now)}",
        f"Message-ID: <{secrets.token_hex(16)}@{hostname}>",
    ]
    message_id = fields.get("message-id", "").strip()
    if message_id:
        references = f"{fields.get('references', '').strip()} {message_id}".strip()
        header += [f"In-Reply-To: {message_id}", f"References: {references}"]
    subtype = "html" if reply.html else "plain"
    header += [
        "Auto-Submitted: auto-replied",  # §3.1.7
        "MIME-Version: 1.0",
        f"Content-Type: text/{subtype}; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    body = reply.text.replace("\r\n", "\n").replace("\n", "\r\n")
    if not body.endswith("\r\n"):
        body += "\r\n"
    return ("\r\n".join(header) + "\r\n\r\n").encode() + body.encode("utf-8")


async def out_of_office(
    store: Store, account: Account, sender: str, data: bytes, *, hostname: str, now: datetime
) -> bool:
    """Queues the account's out-of-office reply to sender for data, just delivered, if it
    is due (the module's docstring); True if one was queued (the caller wakes the queue)."""
    oof = await store.get_out_of_office(account.id)
    if not oof.active(now) or not may_answer(sender, account.address, data):
        return False
    internal = await store.is_local_domain(sender.rpartition("@")[2])
    reply = oof.reply_for(internal=internal)
    if reply is None:
        return False
    if not await store.claim_auto_reply(account.id, sender, now, now - REPLY_INTERVAL):
        return False
    message = compose(
        account=account.address,
        sender=sender,
        original=data,
        reply=reply,
        hostname=hostname,
        now=now,
    )
    await store.enqueue(message, "", [sender])
    log.info("out-of-office reply from %s to %s queued", account.address, sender)
    return True
