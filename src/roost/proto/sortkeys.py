"""What SORT and THREAD compare, derived once at delivery from header values (RFC 5256).

    base subject   §2.1: the subject without "Re:", "Fwd:", "[list]" leaders, "(fwd)"
                   trailers and "[fwd: ...]" wrappers, white space collapsed
    fold           the i;ascii-casemap collation (RFC 4790 §9.2), the SORT default: ASCII
                   letters compare as upper case, everything else octet by octet
    address keys   §3 FROM/TO/CC: the addr-mailbox of the first address; RFC 5957
                   DISPLAYFROM/DISPLAYTO: its display-name, else its addr-spec
    message ids    §3 REFERENCES: the msg-ids of References, else of In-Reply-To

Everything here is a pure function of strings: encoded-words are decoded by the caller.
The ABNF of §5 that the subject rules use:

    subj-trailer    = "(fwd)" / WSP
    subj-fwd-hdr    = "[fwd:"
    subj-fwd-trl    = "]"
    subj-blob       = "[" *BLOBCHAR "]" *WSP
    subj-refwd      = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
    subj-leader     = (*subj-blob subj-refwd) / WSP
    BLOBCHAR        = %x01-5a / %x5c / %x5e-ff   ; anything but "[" and "]"
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence

from roost.proto.addresses import Address

__all__ = ["base_subject", "display_key", "fold", "mailbox_key", "message_ids", "thread_parents"]

_WHITE = re.compile(r"[ \t\r\n]+")
_TRAILER = re.compile(r"(?:\(fwd\)| )\Z", re.IGNORECASE)
_BLOB = r"\[[^\[\]]*\] *"
_LEADER = re.compile(rf"(?:(?:{_BLOB})*(?:re|fwd?) *(?:{_BLOB})?:| )", re.IGNORECASE)
_BLOB_PREFIX = re.compile(_BLOB)
_FOLD = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_MSG_ID = re.compile(r"<([^<>\s@]+@[^<>\s]+)>")


def base_subject(subject: str) -> tuple[str, bool]:
    """The base subject (RFC 5256 §2.1) and whether the subject marked a reply or forward
    (a subj-refwd leader, a "(fwd)" trailer or a "[fwd: ...]" wrapper), which REFERENCES
    threading needs in its step (5)."""
    # (1) tabs and line breaks are spaces, runs of spaces one space
    text = _WHITE.sub(" ", subject)
    reply = False
    while True:
        # (2) trailers, repeatedly
        while (m := _TRAILER.search(text)) is not None:
            reply |= m.group() != " "
            text = text[: m.start()]
        # (5) repeat (3) and (4) until nothing changes
        while True:
            before = text
            # (3) leaders, repeatedly
            while (m := _LEADER.match(text)) is not None:
                reply |= m.group() != " "
                text = text[m.end() :]
            # (4) a leading blob, if something is left after it
            blob = _BLOB_PREFIX.match(text)
            if blob is not None and text[blob.end() :]:
                text = text[blob.end() :]
            if text == before:
                break
        # (6) "[fwd: ... ]" is a forward of the inner subject: unwrap and start again
        if text[:5].lower() == "[fwd:" and text.endswith("]"):
            text = text[5:-1]
            reply = True
            continue
        return text, reply  # (7)


def fold(text: str) -> str:
    """The i;ascii-casemap form: comparing folded strings with < is the collation."""
    return text.translate(_FOLD)


def _first(addresses: Sequence[Address]) -> Address | None:
    # The first ENVELOPE address as RFC 3501 §7.4.2 draws it: a group's start marker
    # (mailbox: the group's name) counts, as Dovecot sorts (imaptest sort-addresses).
    return next((a for a in addresses if a.mailbox is not None), None)


def mailbox_key(addresses: Sequence[Address]) -> str:
    """RFC 5256 §3 FROM/TO/CC: the addr-mailbox of the first address (of a group, its
    name), "" if none."""
    first = _first(addresses)
    return "" if first is None or first.mailbox is None else first.mailbox


def display_key(addresses: Sequence[Address], decode: Callable[[str], str] = str) -> str:
    """RFC 5957 §3 DISPLAYFROM/DISPLAYTO: the first address's display-name (through
    `decode`, which undoes RFC 2047), or its addr-spec when it has none (a group's name,
    a bare local part); "" without one."""
    first = _first(addresses)
    if first is None:
        return ""
    name = decode(first.name).strip() if first.name else ""
    if first.host is None:
        return name or first.mailbox or ""
    return name or f"{first.mailbox}@{first.host}"


def message_ids(value: str | None) -> list[str]:
    """The msg-ids in a field value, without their angle brackets (RFC 5322 §3.6.4).
    Message-ID comparisons are case-sensitive (RFC 5256 §3), so nothing is folded."""
    return _MSG_ID.findall(value) if value else []


def thread_parents(references: str | None, in_reply_to: str | None) -> tuple[str, ...]:
    """RFC 5256 §3 REFERENCES: the References ids, oldest first; without valid ones the
    first valid id of In-Reply-To is the only reference."""
    ids = message_ids(references)
    if ids:
        return tuple(ids)
    return tuple(message_ids(in_reply_to)[:1])
