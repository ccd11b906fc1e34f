"""A login as every protocol does it: the password, then the account's services, then one
log line (roost.sessions) saying which.

IMAP, POP3 and submission (and ActiveSync later) call `log_in` with the credentials the
client sent and the mechanism it used; each maps a `Refusal` to its own reply:

    Refusal.CREDENTIALS   IMAP NO [AUTHENTICATIONFAILED], POP3 -ERR [AUTH], SMTP 535 5.7.8
    Refusal.SERVICE       IMAP NO [CONTACTADMIN],         POP3 -ERR [AUTH], SMTP 535 5.7.8,
                          HTTP 403
    Refusal.BLOCKED       IMAP NO [UNAVAILABLE],          POP3 -ERR [SYS/TEMP],
                          SMTP 454 4.7.0, HTTP 429 (a temporary failure: too many failed
                          logins from this address, roost.auth.throttle)

With a `Throttle`, an attempt from a blocked address is refused before the password is
looked at, and a source or account with many recent failures waits before the check.

A service refusal comes only after the right password, so it tells nothing to a guesser;
it is logged as "login refused" (not "login failed": fail2ban must not ban a customer who
merely lacks a service).
"""

from __future__ import annotations

import asyncio
import enum

from roost.auth.accounts import authenticate
from roost.auth.throttle import Throttle
from roost.sessions import LiveSession
from roost.store.api import Account, Store

__all__ = ["SERVICES", "Refusal", "log_in", "parse_services"]

# The services an account may be given (roost user add|set --services).
SERVICES = ("imap", "pop3", "submission", "activesync")


class Refusal(enum.Enum):
    CREDENTIALS = "invalid credentials"
    SERVICE = "service not allowed for this account"
    BLOCKED = "too many failed logins from this address"


def parse_services(text: str) -> frozenset[str]:
    """ "imap,pop3" -> {"imap", "pop3"}; "all" is every service; ValueError names an unknown one."""
    names = {name.strip().lower() for name in text.split(",") if name.strip()}
    if names == {"all"}:
        return frozenset(SERVICES)
    unknown = sorted(names - set(SERVICES))
    if unknown:
        raise ValueError(f"unknown service {unknown[0]!r}; services are {', '.join(SERVICES)}")
    return frozenset(names)


async def log_in(
    store: Store,
    live: LiveSession,
    user: str,
    password: str,
    *,
    mechanism: str,
    service: str,
    throttle: Throttle | None = None,
) -> Account | Refusal:
    """The account if the password is right and the account may use service."""
    if throttle is not None:
        if throttle.blocked(live.peer):
            # Still "login failed": fail2ban, where it runs, takes over from here.
            live.login_failed(user, mechanism, Refusal.BLOCKED.value)
            return Refusal.BLOCKED
        delay = throttle.delay(live.peer, user)
        if delay:
            await asyncio.sleep(delay)
    account = await authenticate(store, user, password)
    if account is None:
        live.login_failed(user, mechanism, Refusal.CREDENTIALS.value)
        if throttle is not None:
            throttle.failed(live.peer, user)
        return Refusal.CREDENTIALS
    if throttle is not None:
        throttle.succeeded(user)
    allowed = await store.account_services(account.id)
    if allowed is not None and service not in allowed:
        live.login_refused(account.address, mechanism, service)
        return Refusal.SERVICE
    live.login_ok(account.address, mechanism)
    return account
