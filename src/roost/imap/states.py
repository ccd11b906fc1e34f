"""The states of an IMAP connection (RFC 9051 §3) and the sets of them a command may run in.

Its own module so that the command table (roost.imap.commands) and the session both import
it, and neither imports the other for it.
"""

from __future__ import annotations

import enum


class State(enum.Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


ANY = frozenset(State) - {State.LOGOUT}  # RFC 9051 §6.1
NOT_AUTHENTICATED = frozenset({State.NOT_AUTHENTICATED})  # §6.2
AUTHENTICATED = frozenset({State.AUTHENTICATED, State.SELECTED})  # §6.3
SELECTED = frozenset({State.SELECTED})  # §6.4
