"""The tagged completion a command handler returns (RFC 9051 §7.1)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reply:
    status: str  # OK, NO, BAD
    text: str
    code: str | None = None


def ok(text: str, code: str | None = None) -> Reply:
    return Reply("OK", text, code)


def no(text: str, code: str | None = None) -> Reply:
    return Reply("NO", text, code)


def bad(text: str, code: str | None = None) -> Reply:
    return Reply("BAD", text, code)


# The handler already sent the tagged response itself (STARTTLS must answer before the
# handshake), or the command continues (IDLE, AUTHENTICATE awaiting the client's response).
ANSWERED = Reply("", "")
