"""An email as ActiveSync shows it ([MS-ASEMAIL] §2.2.2, [MS-ASAIRS] §2.2.2): the
ApplicationData of a Sync Add or an ItemOperations Fetch, made from the message's bytes,
its part tree and envelope (roost.proto.mime) and its flags.

The body follows the client's BodyPreference ([MS-ASAIRS] §2.2.2.12): the first type in
its list that can be served (1 plain text, 2 HTML, 4 the whole MIME message; RTF is never
offered), truncated to TruncationSize octets on a UTF-8 character boundary with Truncated
and EstimatedDataSize telling the client there is more, plus a Preview when asked. With no
preference the whole plain text is sent. Attachments are listed with a FileReference that
names the message and the part's section number, for ItemOperations to fetch.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from roost.proto.addresses import Address
from roost.proto.eas.requests import BodyPreference
from roost.proto.eas.wbxml import Element
from roost.proto.mime_parts import Envelope, Part
from roost.proto.mime_text import decode_words, displayed_text, html_to_text, preview

__all__ = [
    "BODY_HTML",
    "BODY_MIME",
    "BODY_PLAIN",
    "AttachmentInfo",
    "EmailSource",
    "application_data",
    "attachments",
    "body_element",
    "eas_date",
    "find_properties",
    "flag_element",
]

BODY_PLAIN = 1
BODY_HTML = 2
BODY_MIME = 4
SEEN = "\\Seen"
FLAGGED = "\\Flagged"
ASB = "AirSyncBase"
EMAIL = "Email"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailSource:
    data: bytes  # the whole message
    root: Part
    envelope: Envelope
    flags: frozenset[str]
    received: datetime  # INTERNALDATE
    file_reference: str  # prefix of its attachments' FileReferences ("mailbox:uid")


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentInfo:
    section: str  # IMAP section number, "2" or "1.3"
    part: Part
    name: str
    size: int
    inline: bool


def eas_date(moment: datetime) -> str:
    """[MS-ASDTYPE] §2.3: 2009-11-12T00:45:06.000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _address(address: Address) -> str:
    mailbox = f"{address.mailbox or ''}@{address.host or ''}"
    if not address.name:
        return f"<{mailbox}>" if address.mailbox is None else mailbox
    name = decode_words(address.name).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}" <{mailbox}>'


def _addresses(addresses: Sequence[Address]) -> str:
    return ", ".join(_address(a) for a in addresses if a.mailbox is not None)


def _display_names(addresses: Sequence[Address]) -> str:
    return "; ".join(
        decode_words(a.name) if a.name else f"{a.mailbox}@{a.host}"
        for a in addresses
        if a.mailbox is not None
    )


def _e(tag: str, value: str | bytes | None = None, *children: Element) -> Element:
    return Element(EMAIL, tag, children, value)


def _b(tag: str, value: str | bytes | None = None, *children: Element) -> Element:
    return Element(ASB, tag, children, value)


def flag_element(flags: frozenset[str]) -> Element:
    """[MS-ASEMAIL] §2.2.2.27: an empty Flag is "not flagged"; \\Flagged is an active
    follow-up flag (Status 2)."""
    if FLAGGED not in flags:
        return _e("Flag")
    return _e("Flag", None, _e("Status", "2"), _e("FlagType", "Flag for follow up"))


def application_data(
    message: EmailSource, preferences: Sequence[BodyPreference], mime_support: int = 0
) -> tuple[Element, ...]:
    """The children of ApplicationData for this message, in the schema's order."""
    env = message.envelope
    fields: list[Element] = []
    for tag, addresses in (("To", env.to), ("Cc", env.cc), ("From", env.from_)):
        if text := _addresses(addresses):
            fields.append(_e(tag, text))
    fields.append(_e("Subject", decode_words(env.subject or "")))
    # An envelope's Reply-To defaults to From (RFC 3501 §7.4.2): only a real one is sent.
    if env.reply_to != env.from_ and (text := _addresses(env.reply_to)):
        fields.append(_e("ReplyTo", text))
    fields += [
        _e("DateReceived", eas_date(message.received)),
        _e("DisplayTo", _display_names(env.to)),
        _e("ThreadTopic", decode_words(env.subject or "")),
        _e("Importance", "1"),
        _e("Read", "1" if SEEN in message.flags else "0"),
    ]
    found = list(attachments(message.root))
    if found:
        fields.append(_attachments_element(message, found))
    fields += [
        body_element(message, preferences, mime_support),
        _e("MessageClass", "IPM.Note"),
        _e("InternetCPID", "65001"),
        flag_element(message.flags),
        _e("ContentClass", "urn:content-classes:message"),
        _b("NativeBodyType", str(BODY_HTML if _has(message, "html") else BODY_PLAIN)),
    ]
    return tuple(fields)


def _has(message: EmailSource, subtype: str) -> bool:
    return displayed_text(message.data, message.root, subtype) is not None


def _chosen(
    message: EmailSource, preferences: Sequence[BodyPreference], mime_support: int
) -> tuple[BodyPreference, str | bytes]:
    """The first preference this message can be served in, and the whole body for it."""
    if mime_support == 2:  # [MS-ASCMD] §2.2.3.108: always MIME, whatever the preferences
        pref = next((p for p in preferences if p.type == BODY_MIME), None)
        return pref or BodyPreference(type=BODY_MIME), message.data
    for pref in preferences:
        if pref.type == BODY_MIME:
            return pref, message.data
        if pref.type == BODY_HTML:
            return pref, _html(message)
        if pref.type == BODY_PLAIN:
            return pref, _plain(message)
    return BodyPreference(type=BODY_PLAIN), _plain(message)


def _plain(message: EmailSource) -> str:
    text = displayed_text(message.data, message.root, "plain")
    if text is None:
        text = displayed_text(message.data, message.root, "html")
        text = "" if text is None else html_to_text(text)
    return text.replace("\x00", "")


def _html(message: EmailSource) -> str:
    text = displayed_text(message.data, message.root, "html")
    if text is None:
        plain = displayed_text(message.data, message.root, "plain") or ""
        text = f"<html><body><pre>{html.escape(plain)}</pre></body></html>"
    return text.replace("\x00", "")


def body_element(
    message: EmailSource, preferences: Sequence[BodyPreference], mime_support: int = 0
) -> Element:
    pref, whole = _chosen(message, preferences, mime_support)
    raw = whole if isinstance(whole, bytes) else whole.encode("utf-8")
    limit = pref.truncation_size
    truncated = limit is not None and len(raw) > limit
    children = [
        _b("Type", str(pref.type)),
        _b("EstimatedDataSize", str(len(raw))),
        _b("Truncated", "1" if truncated else "0"),
    ]
    if not (truncated and pref.all_or_none):  # AllOrNone: all of it or nothing
        part = raw[:limit] if truncated and limit is not None else raw
        if pref.type == BODY_MIME:
            children.append(_b("Data", part))  # opaque: MIME may hold any octet
        else:
            children.append(_b("Data", part.decode("utf-8", "ignore")))
    if pref.preview:
        summary = preview(message.data, message.root)[: pref.preview]
        children.append(_b("Preview", summary))
    return _b("Body", None, *children)


def attachments(root: Part) -> Iterator[AttachmentInfo]:
    """The parts a client shows as attachments: every leaf that is not the displayed
    text (disposition attachment, or not text/plain or text/html)."""
    yield from _walk(root, ())


def _walk(part: Part, path: tuple[int, ...]) -> Iterator[AttachmentInfo]:
    if part.is_multipart:
        for number, child in enumerate(part.children, 1):
            yield from _walk(child, (*path, number))
        return
    disposition = part.disposition[0] if part.disposition else None
    is_text = part.type == "text" and part.subtype in ("plain", "html")
    if disposition != "attachment" and (is_text or not path):
        return
    name = _filename(part) or f"part-{'.'.join(map(str, path or (1,)))}"
    yield AttachmentInfo(
        section=".".join(map(str, path or (1,))),
        part=part,
        name=name,
        size=part.end - part.body_start,
        inline=disposition == "inline",
    )


def _filename(part: Part) -> str | None:
    if part.disposition is not None:
        for key, value in part.disposition[1]:
            if key == "filename":
                return decode_words(value)
    name = part.param("name")
    return None if name is None else decode_words(name)


def _attachments_element(message: EmailSource, found: Sequence[AttachmentInfo]) -> Element:
    items = []
    for info in found:
        children = [
            _b("DisplayName", info.name),
            _b("FileReference", f"{message.file_reference}:{info.section}"),
            _b("Method", "1"),
            _b("EstimatedDataSize", str(info.size)),
        ]
        if info.part.id:
            children.append(_b("ContentId", info.part.id.strip("<>")))
        if info.inline:
            children.append(_b("IsInline", "1"))
        items.append(_b("Attachment", None, *children))
    return _b("Attachments", None, *items)


def find_properties(message: EmailSource) -> tuple[Element, ...]:
    """[MS-ASCMD] §2.2.3.139.1: what a Find result shows of a message, in schema order."""
    env = message.envelope
    found = "Find"
    fields = [
        _e("Subject", decode_words(env.subject or "")),
        _e("DateReceived", eas_date(message.received)),
        _e("DisplayTo", _display_names(env.to)),
        Element(found, "DisplayCc", value=_display_names(env.cc)),
        Element(found, "DisplayBcc", value=_display_names(env.bcc)),
        _e("Importance", "1"),
        _e("Read", "1" if SEEN in message.flags else "0"),
        Element("Email2", "IsDraft", value="1" if "\\Draft" in message.flags else "0"),
        Element(found, "Preview", value=preview(message.data, message.root)[:255]),
        Element(found, "HasAttachments", value="1" if any(attachments(message.root)) else "0"),
    ]
    if text := _addresses(env.from_):
        fields.append(_e("From", text))
    return tuple(fields)
