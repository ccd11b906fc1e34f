"""Delivery status notifications (RFC 3464) for mail the queue could not deliver; pure.

A DSN is a multipart/report (RFC 6522) of three parts: a text a person reads, the
machine-readable message/delivery-status (one block per failed recipient) and the
original message's header (text/rfc822-headers), enough to recognise it without
returning a possibly large body.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from roost.proto.mime_headers import split_header

__all__ = ["Failure", "delivery_status_notification", "status_of"]

_ENHANCED = re.compile(r"^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b")


@dataclass(frozen=True, slots=True)
class Failure:
    recipient: str
    reply: str  # the last SMTP reply, e.g. "550 5.1.1 <x@y>: no such user"


def status_of(reply: str) -> str:
    """The RFC 3463 status of an SMTP reply: its enhanced code, else one by its class."""
    match = _ENHANCED.match(reply)
    if match:
        return match.group(1)
    return "4.0.0" if reply.startswith("4") else "5.0.0"


def delivery_status_notification(
    *,
    reporting_mta: str,
    sender: str,
    original: bytes,
    failures: Sequence[Failure],
    arrival: datetime,
    now: datetime,
) -> bytes:
    boundary = f"=_roost_dsn_{secrets.token_hex(12)}"
    header = [
        f"From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>",
        f"To: <{sender}>",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {format_datetime(now)}",
        f"Message-ID: <{secrets.token_hex(16)}@{reporting_mta}>",
        "Auto-Submitted: auto-replied",  # RFC 3834: nobody should answer it automatically
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
    ]
    names = "\n".join(f"  <{f.recipient}>: {f.reply}" for f in failures)
    explanation = (
        f"This is the mail system at {reporting_mta}.\n\n"
        "Your message could not be delivered to one or more recipients.\n"
        "It has been given up on; the reasons are below.\n\n"
        f"{names}\n"
    )
    status = [f"Reporting-MTA: dns; {reporting_mta}", f"Arrival-Date: {format_datetime(arrival)}"]
    for failure in failures:
        status += [
            "",
            f"Final-Recipient: rfc822; {failure.recipient}",
            "Action: failed",
            f"Status: {status_of(failure.reply)}",
            f"Diagnostic-Code: smtp; {_one_line(failure.reply)}",
            f"Last-Attempt-Date: {format_datetime(now)}",
        ]
    original_header = original[: split_header(original)].rstrip(b"\r\n")
    parts = [
        _part("text/plain; charset=utf-8", explanation.encode("utf-8")),
        _part("message/delivery-status", "\n".join(status).encode("utf-8") + b"\n"),
        _part("text/rfc822-headers", original_header + b"\n"),
    ]
    marker = f"--{boundary}".encode()
    body = b"".join(marker + b"\n" + part for part in parts) + marker + b"--\n"
    text = "\n".join(header).encode("utf-8") + b"\n\n" + b"This is a MIME-encapsulated message.\n\n"
    return _crlf(text + body)


def _part(content_type: str, content: bytes) -> bytes:
    return f"Content-Type: {content_type}\n\n".encode() + content + b"\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
