"""The values of the Content-* header fields (RFC 2045, RFC 2183, RFC 2231, RFC 3282).

Lenient like the rest of MIME analysis: comments are dropped, an invalid Content-Type
means the default, and RFC 2231 continuations are joined (their encoding kept, as
Dovecot reports them).
"""

from __future__ import annotations

import re

__all__ = [
    "DEFAULT_CHARSET",
    "Params",
    "content_type",
    "disposition",
    "encoding",
    "language",
    "nonempty",
]

Params = tuple[tuple[str, str], ...]

DEFAULT_CHARSET = ("charset", "us-ascii")  # RFC 2045 §5.2

_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")  # RFC 2045 §5.1 token
_CONTINUATION = re.compile(r"(.+?)\*([0-9]{1,4})(\*?)")  # RFC 2231 §3 name*0*, name*1


def _strip_comments(value: str) -> str:
    """Drop RFC 5322 §3.2.2 comments (nested, escapes honoured) outside quoted strings."""
    out: list[str] = []
    depth, quoted, escaped = 0, False, False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
        elif ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
        elif depth == 0 and ch == '"':
            quoted = not quoted
            out.append(ch)
        elif not quoted and ch == "(":
            depth += 1
        elif depth > 0 and ch == ")":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _split_semicolons(value: str) -> list[str]:
    pieces: list[str] = []
    piece_start, quoted, escaped = 0, False, False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = quoted
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            pieces.append(value[piece_start:i])
            piece_start = i + 1
    pieces.append(value[piece_start:])
    return pieces


def _unquote(value: str) -> str:
    """The content of a quoted-string (to its closing quote), or the value as is."""
    if not value.startswith('"'):
        return value
    out: list[str] = []
    escaped = False
    for ch in value[1:]:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            break
        else:
            out.append(ch)
    return "".join(out)


def _parse_params(pieces: list[str]) -> Params:
    raw: list[tuple[str, str]] = []
    for piece in pieces:
        name, eq, value = piece.partition("=")
        name = name.strip().lower()
        if eq and name:
            raw.append((name, _unquote(value.strip())))
    return _join_continuations(raw)


def _join_continuations(raw: list[tuple[str, str]]) -> Params:
    """RFC 2231 §3: name*0, name*1... become one parameter, at the first one's place.

    As in Dovecot, a value with extended (charset'language'%XX) segments keeps its
    encoding and the name keeps its trailing "*"; clients decode it.
    """
    segments: dict[str, list[tuple[int, bool, str]]] = {}
    order: list[tuple[str, str] | str] = []
    for name, value in raw:
        match = _CONTINUATION.fullmatch(name)
        if match is None:
            order.append((name, value))
            continue
        base = match.group(1)
        if base not in segments:
            segments[base] = []
            order.append(base)
        segments[base].append((int(match.group(2)), match.group(3) == "*", value))
    params: list[tuple[str, str]] = []
    for item in order:
        if isinstance(item, tuple):
            params.append(item)
            continue
        parts = sorted(segments[item], key=lambda s: s[0])
        extended = any(s[1] for s in parts)
        params.append((item + ("*" if extended else ""), "".join(s[2] for s in parts)))
    return tuple(params)


def content_type(value: str | None, default: tuple[str, str]) -> tuple[str, str, Params]:
    """(type, subtype, params); RFC 2045 §5.2: absent or invalid means the default."""
    if value is None:
        kind, subkind = default
        return kind, subkind, ((DEFAULT_CHARSET,) if kind == "text" else ())
    pieces = _split_semicolons(_strip_comments(value))
    kind, slash, subkind = pieces[0].partition("/")
    kind, subkind = kind.strip().lower(), subkind.strip().lower()
    if not (slash and _TOKEN.fullmatch(kind) and _TOKEN.fullmatch(subkind)):
        return "text", "plain", (DEFAULT_CHARSET,)
    params = _parse_params(pieces[1:])
    if kind == "text" and not any(name == "charset" for name, _ in params):
        params += (DEFAULT_CHARSET,)  # RFC 2045 §5.2, as Dovecot reports it
    return kind, subkind, params


def encoding(value: str | None) -> str:
    words = _strip_comments(value or "").split()
    return words[0].upper() if words else "7BIT"  # RFC 2045 §6.1 default


def disposition(value: str | None) -> tuple[str, Params] | None:
    if value is None:
        return None
    pieces = _split_semicolons(_strip_comments(value))
    kind = pieces[0].strip().lower()
    return (kind, _parse_params(pieces[1:])) if _TOKEN.fullmatch(kind) else None


def language(value: str | None) -> tuple[str, ...]:
    words = _strip_comments(value or "").replace(",", " ").split()
    return tuple(words)


def nonempty(value: str | None) -> str | None:
    return value or None
