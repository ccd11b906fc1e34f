"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3).

Printable US-ASCII stands for itself, except "&", written "&-". Any other run of
characters is written "&" + the modified BASE64 of its UTF-16BE form ("," instead of
"/", no "=" padding) + "-". IMAP4rev2 clients send UTF-8 names (RFC 9051 §5.1), but
IMAP4rev1 clients still need this form.

decode() accepts only the canonical form an encoder produces, so that each mailbox
name has exactly one spelling.
"""

from __future__ import annotations

import base64
import binascii
import re

from roost.proto.errors import ProtocolError

_B64_CHARS = re.compile(r"[A-Za-z0-9+,]*")


def _is_direct(ch: str) -> bool:
    return " " <= ch <= "~"


def _encode_run(run: str) -> str:
    """`run` (characters outside printable ASCII) as "&...-"; ValueError on a lone
    surrogate, which no mailbox name can hold."""
    raw = base64.b64encode(run.encode("utf-16-be")).rstrip(b"=")
    return "&" + raw.decode("ascii").replace("/", ",") + "-"


def encode(name: str) -> str:
    """The modified UTF-7 form of a mailbox name."""
    out: list[str] = []
    run_start = -1
    for i, ch in enumerate(name):
        if not _is_direct(ch):
            run_start = i if run_start < 0 else run_start
            continue
        if run_start >= 0:
            out.append(_encode_run(name[run_start:i]))
            run_start = -1
        out.append("&-" if ch == "&" else ch)
    if run_start >= 0:
        out.append(_encode_run(name[run_start:]))
    return "".join(out)


def _decode_run(b64: str) -> str:
    if not _B64_CHARS.fullmatch(b64) or len(b64) % 4 == 1:
        raise ProtocolError(f"bad modified BASE64 in mailbox name: {b64!r}")
    try:
        raw = base64.b64decode(b64.replace(",", "/") + "=" * (-len(b64) % 4), validate=True)
        text = raw.decode("utf-16-be")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"bad modified UTF-7 in mailbox name: {b64!r}") from exc
    # Leftover bits must be zero and printable ASCII must stand for itself (§5.1.3).
    if _encode_run(text) != f"&{b64}-" or any(_is_direct(ch) for ch in text):
        raise ProtocolError(f"non-canonical modified UTF-7 in mailbox name: {b64!r}")
    return text


def decode(name: str) -> str:
    """The mailbox name a modified UTF-7 string stands for; ProtocolError if malformed."""
    out: list[str] = []
    i = 0
    after_run = False  # two encoded runs in a row are not canonical
    while i < len(name):
        ch = name[i]
        if not _is_direct(ch):
            raise ProtocolError(f"8-bit or control character in mailbox name: {ch!r}")
        if ch != "&":
            out.append(ch)
            i, after_run = i + 1, False
            continue
        close = name.find("-", i + 1)
        if close < 0:
            raise ProtocolError("unterminated modified BASE64 in mailbox name")
        if close == i + 1:
            out.append("&")
            after_run = False
        elif after_run:
            raise ProtocolError("adjacent modified BASE64 runs in mailbox name")
        else:
            out.append(_decode_run(name[i + 1 : close]))
            after_run = True
        i = close + 1
    return "".join(out)
