"""What the SMTP policies check and change in a message's bytes; pure functions.

- `bare_line_ending`: RFC 5321 §2.3.8 allows CR and LF in mail data only together, as
  CRLF. aiosmtpd already ends DATA only at CRLF "." CRLF, so "<LF>.<LF>" and its cousins
  are never read as the end of a message; a message still carrying a bare CR or LF is
  refused, so no later hop (which may read LF alone as a line end) can be made to see a
  second message inside it (SMTP smuggling).
- `received_header`: the trace field every hop prepends (RFC 5321 §4.4).
- `header_addresses` and `without_bcc`: the From: check and the Bcc: stripping of
  submission (RFC 6409 §8).
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime

from roost.proto.addresses import parse_addresses
from roost.proto.mime_headers import (
    field_name,
    field_spans,
    field_value,
    header_fields,
    split_header,
)

__all__ = [
    "bare_line_ending",
    "header_addresses",
    "received_header",
    "without_bcc",
]

# A CR not followed by LF, or an LF not preceded by CR.
_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def bare_line_ending(data: bytes) -> bool:
    return _BARE.search(data) is not None


def received_header(
    *,
    helo: str,
    peer: str,
    by: str,
    protocol: str,
    queue_id: str,
    recipient: str | None,
    when: datetime,
) -> bytes:
    """`Received: from helo ([peer]) by host with protocol id queue_id for <rcpt>; date`.

    `protocol` is one of the RFC 3848 "with" keywords (ESMTP, ESMTPS, ESMTPSA, LMTP...).
    The recipient is named only when there is one, so a copy never lists the others.
    """
    helo = _printable(helo) or "unknown"
    lines = [f"Received: from {helo} ({peer})", f"\tby {by} (Roost) with {protocol}"]
    lines.append(f"\tid {queue_id}")
    if recipient is not None:
        lines[-1] += f" for <{_printable(recipient)}>"
    lines[-1] += ";"
    lines.append(f"\t{format_datetime(when)}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _printable(text: str) -> str:
    # What the client said goes into a header: keep it on one line, without controls.
    return "".join(ch for ch in text if ch.isprintable() and ch not in "()")[:255]


def header_addresses(data: bytes, name: str) -> list[str]:
    """The addresses (`local@domain`, as written) of every `name` field of the header."""
    header = data[: split_header(data)]
    found: list[str] = []
    for start, colon, end in field_spans(header, 0, len(header)):
        if colon < 0 or field_name(header, start, colon) != name:
            continue
        for address in parse_addresses(field_value(header, colon, end)):
            if address.mailbox is not None and address.host is not None:
                found.append(f"{address.mailbox}@{address.host}")
    return found


def message_id(data: bytes) -> str | None:
    """The Message-ID field's value (RFC 5322 §3.6.4), for log lines; None if absent."""
    header = data[: split_header(data)]
    for start, colon, end in field_spans(header, 0, len(header)):
        if colon >= 0 and field_name(header, start, colon) == "message-id":
            value = _printable(field_value(header, colon, end).strip())
            return value or None
    return None


def without_bcc(data: bytes) -> bytes:
    """The message without its Bcc: fields (RFC 5322 §3.6.3: a copy for relaying)."""
    size = split_header(data)
    if not any(
        colon >= 0 and field_name(data, start, colon) == "bcc"
        for start, colon, _ in field_spans(data, 0, size)
    ):
        return data
    return header_fields(data[:size], {"bcc"}, exclude=True) + data[size:]
