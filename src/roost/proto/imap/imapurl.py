"""IMAP URLs of messages and their parts (RFC 5092), as CATENATE (RFC 4469) names them.

    imessagepart = enc-mailbox [uidvalidity] "/;UID=" nz-number [isection] [ipartial]
    uidvalidity  = ";UIDVALIDITY=" nz-number
    isection     = "/;SECTION=" enc-section
    ipartial     = "/;PARTIAL=" number ["." nz-number]

either after "/" (an absolute path in the session's own server) or after "imap://" and
the server's authority. URLAUTH-authorised URLs (RFC 4467) are not supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from roost.proto.errors import ProtocolError
from roost.proto.imap import commands as c
from roost.proto.imap.fetchitems import parse_section

__all__ = ["MessageUrl", "parse_message_url"]

_URL = re.compile(
    r"(?:imap://[^/]*)?/(?P<mailbox>[^;]+?)(?:;UIDVALIDITY=(?P<uidvalidity>[1-9]\d{0,9}))?"
    r"/;UID=(?P<uid>[1-9]\d{0,9})(?:/;SECTION=(?P<section>[^/;]+))?"
    r"(?:/;PARTIAL=(?P<start>\d{1,19})(?:\.(?P<length>[1-9]\d{0,18}))?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageUrl:
    mailbox: str  # %-decoded: the name as the client writes names (modified UTF-7 or UTF-8)
    uidvalidity: int | None
    uid: int
    section: c.Section | None
    partial: tuple[int, int | None] | None  # (start, length or to the end)


def parse_message_url(url: str) -> MessageUrl:
    """The message (part) a URL names; ValueError if it names none."""
    m = _URL.fullmatch(url)
    if m is None:
        raise ValueError("not an IMAP URL of a message")
    try:
        section = parse_section(unquote(m["section"])) if m["section"] else None
    except ProtocolError as exc:
        raise ValueError(exc.text) from None
    start, length = m["start"], m["length"]
    return MessageUrl(
        mailbox=unquote(m["mailbox"], errors="strict"),
        uidvalidity=int(m["uidvalidity"]) if m["uidvalidity"] else None,
        uid=int(m["uid"]),
        section=section,
        partial=None if start is None else (int(start), int(length) if length else None),
    )
