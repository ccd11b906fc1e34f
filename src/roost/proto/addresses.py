"""The address-list parser of ENVELOPE (RFC 5322 §3.4, lenient like Dovecot's
message-address.c).

The raw field value is tokenized once (quoted strings, comments, domain literals,
specials, atoms), then split at "," and ";" into mailboxes and group markers. Nothing
raises: what cannot be read as an address is skipped or filled with Dovecot's
MISSING_* placeholders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Address", "Token", "parse_addresses"]


@dataclass(frozen=True, slots=True)
class Address:
    """One IMAP ENVELOPE address (RFC 9051 §7.5.2).

    A group is a start marker (mailbox = group name, host None) followed by its members
    and an end marker (all four None), as RFC 3501 §7.4.2 draws it.
    """

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None


_ATOM = re.compile(r'[^\s()<>@,;:\\".\[\]]+')
Token = tuple[str, str, bool]  # (kind, text, preceded by white space)


def _scan_quoted(value: str, i: int) -> tuple[str, int]:
    """Content of the quoted-string opening at value[i], and the index after it."""
    out: list[str] = []
    i += 1
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        i += 1
        if ch == '"':
            break
        out.append(ch)
    return "".join(out), i


def _scan_comment(value: str, i: int) -> tuple[str, int]:
    """Content of the (nested) comment opening at value[i], and the index after it."""
    out: list[str] = []
    depth = 0
    while i < len(value):
        ch = value[i]
        i += 1
        if ch == "\\" and i < len(value):
            out.append(value[i])
            i += 1
            continue
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                break
        out.append(ch)
    return "".join(out), i


def _address_tokens(value: str) -> list[Token]:
    tokens: list[Token] = []
    i, space = 0, False
    while i < len(value):
        ch = value[i]
        if ch.isspace():
            i, space = i + 1, True
            continue
        if ch == '"':
            text, i = _scan_quoted(value, i)
            tokens.append(("quoted", text, space))
        elif ch == "(":
            text, i = _scan_comment(value, i)
            tokens.append(("comment", text, space))
        elif ch == "[":
            close = value.find("]", i)
            close = len(value) - 1 if close < 0 else close
            tokens.append(("atom", value[i : close + 1], space))
            i = close + 1
        elif ch in "<>@,;:.":
            tokens.append((ch, ch, space))
            i += 1
        elif (match := _ATOM.match(value, i)) is not None:
            tokens.append(("atom", match.group(), space))
            i = match.end()
        else:  # a stray ")", "]" or "\\": not part of any address
            i += 1
        space = False
    return tokens


def _join(tokens: list[Token]) -> str:
    return "".join((" " if space and n else "") + text for n, (_, text, space) in enumerate(tokens))


def parse_addresses(value: str | None) -> tuple[Address, ...]:
    """Parse an address-list into ENVELOPE addresses, groups bracketed by markers."""
    out: list[Address] = []
    current: list[Token] = []
    in_group = in_angle = False
    for token in _address_tokens(value or ""):
        kind = token[0]
        if in_angle or kind in "<>":
            in_angle = (in_angle or kind == "<") and kind != ">"
            current.append(token)
        elif kind == ":" and not in_group:
            name = _join([t for t in current if t[0] != "comment"])
            out.append(Address(None, None, name, None))
            in_group, current = True, []
        elif kind in ",;":
            _flush_mailbox(current, out)
            current = []
            if kind == ";" and in_group:
                out.append(Address(None, None, None, None))
                in_group = False
        else:
            current.append(token)
    _flush_mailbox(current, out)
    if in_group:
        out.append(Address(None, None, None, None))
    return tuple(out)


def _flush_mailbox(tokens: list[Token], out: list[Address]) -> None:
    words = [t for t in tokens if t[0] != "comment"]
    if not words:
        return
    name: str | None = None
    adl: str | None = None
    spec = words
    if any(t[0] == "<" for t in words):
        angle = next(i for i, t in enumerate(words) if t[0] == "<")
        name = _join(words[:angle]) or None
        inner = words[angle + 1 :]
        close = next((i for i, t in enumerate(inner) if t[0] == ">"), len(inner))
        adl, spec = _route(inner[:close])
    comments = [t[1].strip() for t in tokens if t[0] == "comment" and t[1].strip()]
    if name is None and comments:
        name = comments[-1]  # "user@host (Real Name)": Dovecot names it by the comment
    out.append(Address(name, adl, *_addr_spec(spec)))


def _route(tokens: list[Token]) -> tuple[str | None, list[Token]]:
    """Split an obsolete source route "@a,@b:" (RFC 5322 §4.4) off an angle-addr."""
    if not tokens or tokens[0][0] != "@":
        return None, tokens
    colon = next((i for i, t in enumerate(tokens) if t[0] == ":"), None)
    if colon is None:
        return None, tokens
    return "".join(t[1] for t in tokens[:colon]), tokens[colon + 1 :]


def _addr_spec(tokens: list[Token]) -> tuple[str, str]:
    """(mailbox, host); Dovecot's MISSING_* placeholders keep them non-NIL, so that a
    broken address is never mistaken for a group marker."""
    at = max((i for i, t in enumerate(tokens) if t[0] == "@"), default=len(tokens))
    mailbox = _join(tokens[:at])
    host = "".join(t[1] for t in tokens[at + 1 :])
    return mailbox or "MISSING_MAILBOX", host or "MISSING_DOMAIN"
