"""SmartReply and SmartForward ([MS-ASCMD] §2.2.1.20, §2.2.1.19): the server completes a
reply or a forward that the device wrote without downloading the original.

The device sends only its own text (MIME); the server sends, in one multipart/mixed:

    1. the device's message body, as the device wrote it (its Content-* fields kept);
    2. the original's text, inline, under "On <date>, <sender> wrote:" with each line
       quoted by "> " (a reply), or under a "Forwarded message" block naming its sender,
       date, subject and recipients (a forward);
    3. for a forward, every attachment of the original, byte for byte as it was stored.

The top-level fields are the device's (From, To, Subject, In-Reply-To, ...), except its
Content-* fields, which now describe the multipart. The text added is UTF-8 in base64,
so any relay takes it. Everything here is bytes in, bytes out.
"""

from __future__ import annotations

import base64
import secrets

from roost.proto.addresses import Address
from roost.proto.eas.email import attachments
from roost.proto.mime_headers import field_name, field_spans, split_header
from roost.proto.mime_parts import Envelope, Part
from roost.proto.mime_text import decode_words, displayed_text, html_to_text

__all__ = ["complete_forward", "complete_reply"]

CRLF = b"\r\n"


def complete_reply(new: bytes, original: bytes, root: Part, envelope: Envelope) -> bytes:
    date = envelope.date or "an earlier date"
    intro = f"On {date}, {_people(envelope.from_) or 'someone'} wrote:"
    quoted = "\r\n".join("> " + line for line in _text(original, root).splitlines())
    return _assemble(new, f"{intro}\r\n{quoted}\r\n", [])


def complete_forward(new: bytes, original: bytes, root: Part, envelope: Envelope) -> bytes:
    block = [
        "---------- Forwarded message ----------",
        f"From: {_people(envelope.from_)}",
        f"Date: {envelope.date or ''}",
        f"Subject: {decode_words(envelope.subject or '')}",
        f"To: {_people(envelope.to)}",
    ]
    if envelope.cc:
        block.append(f"Cc: {_people(envelope.cc)}")
    text = "\r\n".join(block) + "\r\n\r\n" + _text(original, root) + "\r\n"
    kept = [original[info.part.start : info.part.end] for info in attachments(root)]
    return _assemble(new, text, kept)


def _text(data: bytes, root: Part) -> str:
    plain = displayed_text(data, root, "plain")
    if plain is None:
        html = displayed_text(data, root, "html")
        plain = "" if html is None else html_to_text(html)
    return plain.replace("\r\n", "\n").replace("\x00", "")


def _people(addresses: tuple[Address, ...]) -> str:
    out = []
    for address in addresses:
        if address.mailbox is None:
            continue  # a group's start or end
        where = f"{address.mailbox}@{address.host}"
        out.append(f"{decode_words(address.name)} <{where}>" if address.name else where)
    return ", ".join(out)


def _assemble(new: bytes, text: str, kept: list[bytes]) -> bytes:
    size = split_header(new)
    header, body = new[:size], new[size:]
    top: list[bytes] = []
    content: list[bytes] = []
    for start, colon, end in field_spans(header, 0, len(header)):
        if colon < 0:
            continue
        field = header[start:end].rstrip(b"\r\n") + CRLF
        name = field_name(header, start, colon)
        if name.startswith("content-"):
            content.append(field)
        elif name != "mime-version":
            top.append(field)
    boundary = "=_roost_" + secrets.token_hex(12)
    own = b"".join(content) or b"Content-Type: text/plain; charset=us-ascii\r\n"
    encoded = base64.encodebytes(text.encode("utf-8")).replace(b"\n", CRLF)
    parts = [
        own + CRLF + body,
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Disposition: inline\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded,
        *kept,
    ]
    delimiter = b"--" + boundary.encode()
    out = [b"".join(top), b"MIME-Version: 1.0\r\n"]
    out.append(f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode())
    for part in parts:
        out += [delimiter, CRLF, part if part.endswith(CRLF) else part + CRLF]
    out += [delimiter, b"--", CRLF]
    return b"".join(out)
