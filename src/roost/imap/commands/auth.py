"""STARTTLS, LOGIN and AUTHENTICATE PLAIN with SASL-IR (RFC 9051 §6.2, RFC 4616, RFC 4959)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.auth.login import Refusal, log_in
from roost.imap.reply import ANSWERED, Reply, bad, no, ok
from roost.proto.imap import commands as c
from roost.proto.imap.responses import continuation, tagged
from roost.proto.sasl import decode_response, parse_plain

if TYPE_CHECKING:
    from roost.imap.session import Session

TOO_MANY_FOR_ACCOUNT = "Too many connections for this account; close another one first"
_PLAINTEXT_REFUSED = "Log in over TLS (STARTTLS or port 1993) or from this machine"


async def starttls(s: Session, cmd: c.StartTls) -> Reply:
    if s.conn.secure:
        return bad("TLS is already active")
    if not s.tls_available:
        return no("TLS is not configured")
    # The OK must go out in the clear before the handshake; the session sends it from
    # here and asks the server to upgrade. Anything the client pipelined after STARTTLS
    # is discarded (RFC 9051 §6.2.1: a man in the middle may have injected it).
    await s.send(tagged(cmd.tag, "OK", "Begin TLS negotiation now"))
    await s.flush()
    s.receiver.discard_buffered()
    await s.conn.start_tls()
    return ANSWERED


async def login(s: Session, cmd: c.Login) -> Reply:
    if not s.may_authenticate():
        return no(_PLAINTEXT_REFUSED, "PRIVACYREQUIRED")
    return await _log_in(s, cmd.user, cmd.password, "LOGIN")


async def authenticate(s: Session, cmd: c.Authenticate) -> Reply:
    if cmd.mechanism != "PLAIN":
        return no(f"Unsupported mechanism {cmd.mechanism}; use PLAIN", "CANNOT")
    if not s.may_authenticate():
        return no(_PLAINTEXT_REFUSED, "PRIVACYREQUIRED")
    if cmd.initial is None:
        s.pending_auth = cmd.tag
        s.receiver.expect_raw_line()
        await s.send(continuation(""))
        return ANSWERED
    return await _plain(s, cmd.initial)


async def finish_authenticate(s: Session, line: bytes) -> Reply:
    if line.strip() == b"*":
        return bad("AUTHENTICATE cancelled")
    return await _plain(s, line.strip())


async def _plain(s: Session, response: bytes) -> Reply:
    credentials = parse_plain(decode_response(response))  # bad base64: ProtocolError, BAD
    if credentials is None:
        # RFC 4616 §2: a message not of the form authzid NUL authcid NUL passwd fails.
        return no("Malformed PLAIN credentials", "AUTHENTICATIONFAILED")
    if credentials.acts_for_another:
        return no("Acting as another user is not allowed", "AUTHORIZATIONFAILED")
    return await _log_in(s, credentials.authcid, credentials.password, "PLAIN")


async def _log_in(s: Session, user: str, password: str, mechanism: str) -> Reply:
    account = await log_in(
        s.store, s.live, user, password, mechanism=mechanism, service="imap", throttle=s.throttle
    )
    if account is Refusal.BLOCKED:
        # RFC 5530 §3: UNAVAILABLE, a temporary failure; the client may try again later.
        return no("Too many failed logins from your address; try again later", "UNAVAILABLE")
    if account is Refusal.SERVICE:
        # RFC 5530 §3: CONTACTADMIN, the user should contact the system administrator.
        return no("This account has no IMAP access", "CONTACTADMIN")
    if account is Refusal.CREDENTIALS:
        return no("Invalid credentials", "AUTHENTICATIONFAILED")
    if s.place is not None and not s.place.log_in(account.address):
        return no(TOO_MANY_FOR_ACCOUNT, "LIMIT")  # roost.auth.connections
    s.logged_in(account)
    await s.remember_client()  # a client that sent ID before logging in
    from roost.imap.commands.general import capabilities

    return ok("Logged in", "CAPABILITY " + " ".join(capabilities(s)))
