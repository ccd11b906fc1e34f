"""Types that carry meaning across layers.

A UID and a message sequence number are both small integers; mixing them up is the
classic IMAP server bug, so each gets its own NewType and mypy keeps them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NewType

Uid = NewType("Uid", int)
Msn = NewType("Msn", int)
ModSeq = NewType("ModSeq", int)
UidValidity = NewType("UidValidity", int)
MailboxId = NewType("MailboxId", int)
AccountId = NewType("AccountId", int)
BlobId = NewType("BlobId", str)  # hex SHA-256 of the message bytes

# The five system flags of RFC 9051 §2.3.2 in their canonical spelling. Flags are
# case-insensitive; the store keeps system flags in this spelling and keywords as given.
SEEN = "\\Seen"
ANSWERED = "\\Answered"
FLAGGED = "\\Flagged"
DELETED = "\\Deleted"
DRAFT = "\\Draft"
SYSTEM_FLAGS = (SEEN, ANSWERED, FLAGGED, DELETED, DRAFT)

# Special-use attributes (RFC 6154) that every new account's mailboxes carry.
DEFAULT_MAILBOXES = (
    ("Drafts", "\\Drafts"),
    ("Sent", "\\Sent"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SortFields:
    """What SORT and THREAD compare (RFC 5256, RFC 5957), derived at delivery. Text keys
    are folded for the i;ascii-casemap collation, so they compare with < and ORDER BY."""

    subject: str = ""  # base subject (RFC 5256 §2.1)
    reply: bool = False  # the subject marked a reply or forward
    from_: str = ""  # addr-mailbox of the first From address
    to: str = ""
    cc: str = ""
    display_from: str = ""  # RFC 5957 display-name, else addr-spec
    display_to: str = ""
    references: tuple[str, ...] = ()  # thread parents (msg-ids), oldest first


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedMessage:
    """What delivery computes once per message so FETCH and SEARCH never re-parse it.

    The protocol-neutral description of the message is `envelope_fields` (its envelope:
    dates, subject, addresses, ids) and `parts` (the MIME part tree with byte offsets), as
    roost.proto.mime serializes them; ENVELOPE, BODYSTRUCTURE and BODY are IMAP's rendering
    of that description, kept as a cache (roost.delivery.render_imap makes them from it).
    Every field is opaque bytes to the store: it keeps and returns them.
    """

    size: int
    header_size: int
    envelope: bytes  # rendered IMAP ENVELOPE, parenthesised
    bodystructure: bytes  # rendered IMAP BODYSTRUCTURE (extension data included)
    body: bytes  # rendered IMAP BODY (no extension data)
    parts: bytes  # serialized part map (see roost.proto.mime), used to locate sections
    preview: str  # up to 256 characters of plain text (RFC 8970)
    headers_text: str  # unfolded, decoded header block: one "name: value" per line
    body_text: str  # decoded text of the text/* parts, for SEARCH BODY/TEXT
    sent_date: datetime | None  # the Date: header, for SENTBEFORE/SENTON/SENTSINCE
    message_id: str | None
    sort: SortFields = SortFields()
    # The envelope as protocol-neutral JSON (None: not described, for mail stored before
    # schema 14; its blob still says everything).
    envelope_fields: bytes | None = None
