"""Ingest once: everything FETCH and SEARCH will ask of a message, computed at arrival.

`analyse` is pure (bytes in, ParsedMessage out); storing the blob and allocating
UID/MODSEQ happen in the store. `deliver` is the one path by which mail arriving from
outside a mailbox session (SMTP, LMTP, submission's Sent copy) lands in a mailbox:
analyse once, append (the store publishes the hint that wakes idling sessions).
`find_copy` tells whether a mailbox already holds a message (the Sent copy that submission
and a client's own APPEND must not both file).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from roost.model import MailboxId, ParsedMessage, SortFields, Uid
from roost.proto import mime, sortkeys
from roost.proto.imap.bodystructure import render_bodystructure, render_envelope
from roost.store.api import AppendResult, NewMessage, Store

# Parsing a big message takes long enough to stall other connections: do it off the loop.
PARSE_INLINE_LIMIT = 256 * 1024


async def deliver(
    store: Store,
    mailbox: MailboxId,
    data: bytes,
    flags: frozenset[str] = frozenset(),
    *,
    parsed: ParsedMessage | None = None,
) -> AppendResult:
    """Appends one message (analysed here unless `parsed` is given); returns once it is
    durable."""
    if parsed is None:
        parsed = analyse(data) if len(data) <= PARSE_INLINE_LIMIT else await analyse_async(data)
    return await store.append(mailbox, [NewMessage(data=data, parsed=parsed, flags=flags)])


async def analyse_async(data: bytes) -> ParsedMessage:
    return await asyncio.to_thread(analyse, data)


def analyse(data: bytes) -> ParsedMessage:
    """Parse a message once and render what the store keeps beside its blob."""
    envelope, root = mime.parse_message(data)
    header_size = root.body_start
    message_id = (envelope.message_id or "").strip()
    imap_envelope, bodystructure, body = render_imap(envelope, root)
    return ParsedMessage(
        size=len(data),
        header_size=header_size,
        envelope=imap_envelope,
        bodystructure=bodystructure,
        body=body,
        envelope_fields=mime.serialize_envelope(envelope),
        parts=mime.serialize_parts(root),
        preview=mime.preview(data, root),
        headers_text=mime.decoded_headers(data[:header_size]),
        body_text=mime.body_text(data, root),
        sent_date=sent_date(envelope.date),
        message_id=message_id or None,
        sort=sort_fields(envelope),
    )


def render_imap(envelope: mime.Envelope, root: mime.Part) -> tuple[bytes, bytes, bytes]:
    """IMAP's ENVELOPE, BODYSTRUCTURE and BODY of a message, rendered from its description
    (the stored envelope_fields and parts, deserialized, give the same bytes again)."""
    return (
        render_envelope(envelope),
        render_bodystructure(root, extensible=True),
        render_bodystructure(root, extensible=False),
    )


def sort_fields(envelope: mime.Envelope) -> SortFields:
    """SORT and THREAD keys (RFC 5256, RFC 5957), decoded and folded once here."""
    subject, reply = sortkeys.base_subject(mime.decode_words(envelope.subject or ""))

    def display(addresses: tuple[mime.Address, ...]) -> str:
        return sortkeys.fold(sortkeys.display_key(addresses, mime.decode_words))

    return SortFields(
        subject=sortkeys.fold(subject),
        reply=reply,
        from_=sortkeys.fold(sortkeys.mailbox_key(envelope.from_)),
        to=sortkeys.fold(sortkeys.mailbox_key(envelope.to)),
        cc=sortkeys.fold(sortkeys.mailbox_key(envelope.cc)),
        display_from=display(envelope.from_),
        display_to=display(envelope.to),
        references=sortkeys.thread_parents(envelope.references, envelope.in_reply_to),
    )


def sent_date(value: str | None) -> datetime | None:
    """The Date: header as an aware datetime (RFC 5322 §3.3), or None if unreadable.

    "-0000" (RFC 5322 §3.3: no zone information) and obsolete zone names are read as UTC.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# ----- one message filed twice ----------------------------------------------------------
# A client that saves to Sent after submitting APPENDs what the server filed already, and
# one that submits after saving has its copy found by submission (roost.smtp.sent). Both
# ask `find_copy`, which is why it lives here, beside delivery, rather than in a protocol.

_TRAILING_SPACE = re.compile(rb"[ \t]+(?=\n)")


def body_digest(data: bytes, header_size: int) -> str:
    body = data[header_size:].replace(b"\r\n", b"\n")
    body = _TRAILING_SPACE.sub(b"", body).rstrip(b"\n")
    return hashlib.sha256(body).hexdigest()


async def find_copy(
    store: Store, mailbox: MailboxId, data: bytes, parsed: ParsedMessage, window: int
) -> Uid | None:
    """The uid of the same message filed in mailbox within the window, if there is one."""
    if parsed.message_id is None or window <= 0:
        return None
    since = _now() - timedelta(seconds=window)
    candidates = await store.find_by_message_id(mailbox, parsed.message_id, since)
    digest = body_digest(data, parsed.header_size)
    for uid, blob in candidates:
        other = await store.read_blob(blob)
        header_size = (await analyse_async(other)).header_size
        if body_digest(other, header_size) == digest:
            return uid
    return None


def _now() -> datetime:
    return datetime.now(UTC)
