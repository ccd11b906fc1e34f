"""POP3 commands as frozen dataclasses, read from one line and written back to one.

The grammar (RFC 1939 §3, RFC 2449 §3, RFC 5034 §4), beside the code that reads it:

    command   = keyword *(SP param) CRLF    ; the keyword is case-insensitive
    keyword   = 3*4VCHAR
    param     = 1*VCHAR
    msg       = 1*DIGIT                     ; a message number, 1 is the first
    USER name | PASS string                 ; PASS: the rest of the line, spaces and all
                                            ;   (RFC 1939 §7 lets the server read it so)
    AUTH [mechanism [initial-response]]     ; initial-response: base64, or "=" for empty
    STAT | LIST [msg] | UIDL [msg] | RETR msg | DELE msg | TOP msg lines
    NOOP | RSET | QUIT | CAPA | STLS

Only PASS keeps its spaces; elsewhere parameters are separated by runs of spaces (a client
that ends "LIST " with a space is understood). Numbers are bounded so that a line of
digits never becomes a huge integer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from roost.proto.errors import ProtocolError

__all__ = [
    "Auth",
    "Capa",
    "Command",
    "Dele",
    "List",
    "Noop",
    "Pass",
    "Quit",
    "Retr",
    "Rset",
    "Stat",
    "Stls",
    "Top",
    "Uidl",
    "User",
    "parse_command",
    "render_command",
]

_DIGITS = re.compile(rb"[0-9]{1,10}")
_VCHARS = re.compile(rb"[\x21-\x7e]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Pass:
    password: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Auth:
    mechanism: str | None = None  # None: "AUTH" alone asks for the list of mechanisms
    initial: bytes | None = None  # the initial response, base64 as sent ("=" for empty)


@dataclass(frozen=True, slots=True, kw_only=True)
class Capa:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Stls:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Stat:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class List:
    msg: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Uidl:
    msg: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Retr:
    msg: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Dele:
    msg: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Top:
    msg: int
    lines: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Noop:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Rset:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit:
    pass


Command = (
    User | Pass | Auth | Capa | Stls | Stat | List | Uidl | Retr | Dele | Top | Noop | Rset | Quit
)

# Commands without parameters, by keyword.
_BARE: dict[bytes, type[Capa | Stls | Stat | Noop | Rset | Quit]] = {
    b"CAPA": Capa,
    b"STLS": Stls,
    b"STAT": Stat,
    b"NOOP": Noop,
    b"RSET": Rset,
    b"QUIT": Quit,
}


def parse_command(line: bytes) -> Command:
    """One command line without its CRLF. ProtocolError names what is wrong."""
    keyword, _, rest = line.partition(b" ")
    name = keyword.upper()
    if name == b"PASS":
        # RFC 1939 §7: the whole rest of the line, so a password may hold spaces.
        return Pass(password=_text(rest, "password"))
    params = rest.split()
    if name in _BARE:
        _count(name, params, 0, 0)
        return _BARE[name]()
    if name == b"USER":
        _count(name, params, 1, 1)
        return User(name=_text(params[0], "user name"))
    if name == b"AUTH":
        _count(name, params, 0, 2)
        mechanism = _token(params[0]).upper() if params else None
        return Auth(mechanism=mechanism, initial=params[1] if len(params) > 1 else None)
    if name in (b"LIST", b"UIDL"):
        _count(name, params, 0, 1)
        msg = _number(params[0]) if params else None
        return List(msg=msg) if name == b"LIST" else Uidl(msg=msg)
    if name in (b"RETR", b"DELE"):
        _count(name, params, 1, 1)
        return Retr(msg=_number(params[0])) if name == b"RETR" else Dele(msg=_number(params[0]))
    if name == b"TOP":
        _count(name, params, 2, 2)
        return Top(msg=_number(params[0]), lines=_number(params[1]))
    if not keyword:
        raise ProtocolError("empty command")
    head = keyword[:4]
    shown = head.decode("ascii") if _VCHARS.fullmatch(head) else "?"
    raise ProtocolError(f"unknown command {shown}")


def render_command(command: Command) -> bytes:
    """The line a client sends for `command`, CRLF included (parse_command's inverse)."""
    keyword = type(command).__name__.upper().encode()
    params: list[bytes]
    match command:
        case User(name=text) | Pass(password=text):
            params = [text.encode("utf-8", "surrogateescape")]
        case Auth(mechanism=mechanism, initial=initial):
            params = [mechanism.encode()] if mechanism else []
            params += [initial] if initial else []
        case List(msg=msg) | Uidl(msg=msg):
            params = [] if msg is None else [b"%d" % msg]
        case Retr(msg=msg) | Dele(msg=msg):
            params = [b"%d" % msg]
        case Top(msg=msg, lines=lines):
            params = [b"%d" % msg, b"%d" % lines]
        case _:
            params = []
    return b" ".join([keyword, *params]) + b"\r\n"


def _count(name: bytes, params: list[bytes], least: int, most: int) -> None:
    if not least <= len(params) <= most:
        keyword = name.decode("ascii")
        if most == 0:
            raise ProtocolError(f"{keyword} takes no arguments")
        wanted = f"{least}" if least == most else f"{least} to {most}"
        raise ProtocolError(f"{keyword} takes {wanted} argument{'s' if most > 1 else ''}")


def _number(param: bytes) -> int:
    if not _DIGITS.fullmatch(param):
        raise ProtocolError("expected a number")
    return int(param)


def _token(param: bytes) -> str:
    if not _VCHARS.fullmatch(param):
        raise ProtocolError("unexpected characters in a command")
    return param.decode("ascii")


def _text(param: bytes, what: str) -> str:
    if not param or b"\0" in param:
        raise ProtocolError(f"expected a {what}")
    # Not all clients send UTF-8; undecodable bytes survive as lone surrogates, which
    # match no stored address and no password (roost.auth.passwords).
    return param.decode("utf-8", "surrogateescape")
