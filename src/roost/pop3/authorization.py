"""The AUTHORIZATION state: CAPA (RFC 2449), STLS (RFC 2595), USER/PASS (RFC 1939 §7) and
AUTH PLAIN with an initial response or after "+ " (RFC 5034, RFC 4616).

Users log in with their full address. A password is taken only over TLS, or from this
machine when the configuration allows it (roost.auth.plaintext), as for IMAP LOGIN. Each
wrong password on a connection is answered a little later than the one before
(`failure_delay`), and after MAX_FAILURES the connection is closed; limiting logins across
connections is the job of a server-wide limiter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.auth.login import Refusal
from roost.auth.login import log_in as check_login
from roost.pop3.maildrop import open_maildrop
from roost.proto.pop3 import commands as p
from roost.proto.pop3.responses import continuation, err, multiline, ok
from roost.proto.sasl import decode_response, parse_plain

if TYPE_CHECKING:
    from roost.pop3.session import Session

MAX_FAILURES = 10
MECHANISMS = ("PLAIN",)


def failure_delay(failures: int) -> float:
    """Seconds before answering the nth wrong password of a connection: 1, 2, 4, 8, 15..."""
    return float(min(2 ** (failures - 1), 15))


def capabilities(s: Session) -> list[str]:
    caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
    if s.maildrop is None:  # not logged in: RFC 2449 §6, these are for AUTHORIZATION
        if s.tls_available and not s.conn.secure:
            caps.append("STLS")
        if s.may_authenticate():
            caps += ["USER", "SASL " + " ".join(MECHANISMS)]
    return [*caps, "IMPLEMENTATION Roost"]


async def capa(s: Session, cmd: p.Capa) -> bytes:
    return multiline("Capability list follows", capabilities(s))


async def stls(s: Session, cmd: p.Stls) -> bytes:
    if s.conn.secure:
        return err("TLS is already active")
    if not s.tls_available:
        return err("TLS is not configured")
    # The +OK goes out in the clear before the handshake; anything the client pipelined
    # after STLS is discarded (RFC 2595 §4: a man in the middle may have injected it).
    await s.send(ok("Begin TLS negotiation now"))
    s.receiver.discard_buffered()
    s.user = None
    await s.conn.start_tls()
    return b""  # answered above


async def user(s: Session, cmd: p.User) -> bytes:
    if not s.may_authenticate():
        return _plaintext_refused(s)
    s.user = cmd.name
    return ok("Send PASS")


async def pass_(s: Session, cmd: p.Pass) -> bytes:
    if s.user is None:
        return err("Send USER first")
    name, s.user = s.user, None
    return await log_in(s, name, cmd.password, "USER")


async def auth(s: Session, cmd: p.Auth) -> bytes:
    if cmd.mechanism is None:
        return multiline("Mechanisms follow", MECHANISMS)  # as clients of RFC 1734 ask
    if cmd.mechanism not in MECHANISMS:
        return err(f"Unsupported mechanism {cmd.mechanism}; use PLAIN")
    if not s.may_authenticate():
        return _plaintext_refused(s)
    if cmd.initial is None:
        s.receiver.expect_raw_line()
        return continuation()
    return await _plain(s, cmd.initial)


async def finish_auth(s: Session, line: bytes) -> bytes:
    """The client's answer to "+ " after AUTH PLAIN."""
    if line.strip() == b"*":
        return err("AUTH cancelled")  # RFC 5034 §4
    return await _plain(s, line.strip())


async def _plain(s: Session, response: bytes) -> bytes:
    credentials = parse_plain(decode_response(response))  # bad base64: -ERR
    if credentials is None:
        return await _failed(s, "Malformed PLAIN credentials")
    if credentials.acts_for_another:
        return await _failed(s, "Acting as another user is not allowed")
    return await log_in(s, credentials.authcid, credentials.password, "PLAIN")


async def log_in(s: Session, address: str, password: str, mechanism: str) -> bytes:
    account = await check_login(
        s.store, s.live, address, password, mechanism=mechanism, service="pop3", throttle=s.throttle
    )
    if account is Refusal.BLOCKED:
        # RFC 3206 §4: SYS/TEMP, a temporary problem; the client may try again later.
        return err("[SYS/TEMP] Too many failed logins from your address; try again later")
    if account is Refusal.SERVICE:
        return err("[AUTH] This account has no POP3 access; contact the administrator")
    if account is Refusal.CREDENTIALS:
        return await _failed(s, "Invalid credentials")
    if s.place is not None and not s.place.log_in(account.address):
        # RFC 2449 §8.1.1: IN-USE, the credentials were right but the maildrop is busy.
        return err("[IN-USE] Too many connections for this account; close another one first")
    maildrop = await open_maildrop(s.store, account.id, s.sizes)
    s.logged_in(account, maildrop)
    count, octets = maildrop.totals()
    return ok(f"Logged in; maildrop has {count} messages ({octets} octets)")


async def _failed(s: Session, text: str) -> bytes:
    s.failures += 1
    await s.sleep(failure_delay(s.failures))
    if s.failures >= MAX_FAILURES:
        s.close()
        return err(f"[AUTH] {text}; too many failures, closing")
    return err(f"[AUTH] {text}")


def _plaintext_refused(s: Session) -> bytes:
    tls = f"STLS, or port {s.config.ports.pop3s}" if s.config.ports.pop3s else "STLS"
    return err(f"[AUTH] Log in over TLS ({tls}) or from this machine")
