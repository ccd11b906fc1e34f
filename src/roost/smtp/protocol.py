"""aiosmtpd's protocol classes, adjusted where Roost's policy needs the connection.

aiosmtpd speaks SMTP and LMTP; the policy objects (roost.smtp.inbound, .lmtp,
.submission) decide. These subclasses add only what a handler cannot:

- Enhanced status codes (RFC 2034/3463) on every 2xx/4xx/5xx reply, also aiosmtpd's own
  ("503 Error: need RCPT command" becomes "503 5.5.1 Error: ..."), since ENHANCEDSTATUSCODES
  is advertised. The EHLO/LHLO reply and the greeting carry none (RFC 2034 §3).
- One LiveSession per connection (roost.sessions): its log lines, `roost status`, and a
  421 when the server stops or the administrator kicks the account. A failed STARTTLS
  handshake is one WARNING line. Each command's time is counted there (the Prometheus
  histogram roost_command_seconds, as IMAP's and POP3's): aiosmtpd dispatches through
  its table of `smtp_*` methods, whose entries are wrapped once per connection.
- When AUTH is allowed: over TLS (STARTTLS or implicit TLS from the first byte) or, if the
  configuration allows it, from loopback. aiosmtpd only knows STARTTLS, so the decision
  is made per connection here.
- Time: aiosmtpd closes a connection `timeout` seconds after its last command, DATA
  included, so a large message sent slowly but steadily was cut off while a trickle of
  commands kept a connection for ever. Here a message in DATA earns more time as it
  arrives (`DATA_MIN_RATE`); a timeout says `421 4.4.2` before closing; and on submission
  a client must log in within `LOGIN_WINDOW` seconds of connecting (issue 9).
- AUTH: aiosmtpd reads a client's response to a 334 challenge with readline(), which
  past the reader's limit raised (a "500 Error: (ValueError) ..." reply) and left the rest
  of the line to be read as commands, each with a reply of its own. `challenge_auth` reads
  the response to its end and refuses it once (RFC 4954 §4: `500 5.5.6`).
- DATA: aiosmtpd keeps the whole message in a list of lines while the client sends it
  (a handler sees it only at the end, so no hook can stream it), which let fifty slow
  senders 16 MB into a message each grow the server by 900 MB. `smtp_DATA` is replaced:
  the same reading rules (1000-octet lines, `data_size_limit`, dot-unstuffing, the same
  replies), but the lines go to a spool file past 256 KiB (roost.spool), and the message
  comes back into memory for the policy's `handle_DATA` only under the server-wide
  budget of in-flight bytes (`452 4.3.1` when none frees up in time).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, AnyStr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import MISSING, SMTP, TLSSetupException, _Missing, syntax

from roost.auth.connections import ConnectionLimits, Place
from roost.auth.plaintext import is_loopback, password_allowed
from roost.errors import MailError, storage_unavailable
from roost.sessions import LiveSession, Sessions, peer_text
from roost.smtp.local import reply_for
from roost.spool import BudgetExhausted, MemoryBudget, message_spool, read_back
from roost.streams import TOO_MANY_FROM_ADDRESS

__all__ = ["DATA_MIN_RATE", "LOGIN_WINDOW", "RoostLMTP", "RoostSMTP"]

# Octets a second a sender in DATA must keep up, on average, to get more time than the
# command timeout: a 50 MB message over a slow uplink is fine, a trickle is not.
DATA_MIN_RATE = 10_000
# Seconds a submission client has to log in after connecting (as IMAP's login window).
LOGIN_WINDOW = 60
# The DATA deadline is moved forward every this many octets.
_CREDIT_EVERY = 64 * 1024

_HAS_ENHANCED = re.compile(r"[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}(?: |$)")
_REPLY = re.compile(r"([245]\d\d)([ -])(.*)", re.DOTALL)
# RFC 3463 codes for the replies aiosmtpd writes itself.
_DEFAULT_ENHANCED = {
    "221": "2.0.0",
    "250": "2.0.0",
    "421": "4.4.2",
    "451": "4.3.0",
    "454": "4.7.0",
    "500": "5.5.2",
    "501": "5.5.4",
    "502": "5.5.1",
    "503": "5.5.1",
    "504": "5.5.4",
    "530": "5.7.0",
    "550": "5.0.0",
    "552": "5.3.4",
    "553": "5.1.3",
    "554": "5.0.0",
    "555": "5.5.4",
}

log = logging.getLogger("roost.smtp")


def with_enhanced_code(reply: str) -> str:
    """The reply with an RFC 3463 code after its basic code, unless it has one."""
    match = _REPLY.fullmatch(reply)
    if match is None or reply.startswith("220") or _HAS_ENHANCED.match(reply):
        return reply
    code, separator, text = match.groups()
    enhanced = _DEFAULT_ENHANCED.get(code, f"{code[0]}.0.0")
    return f"{code}{separator}{enhanced} {text}"


# For mypy, the mixin is an SMTP, so that its super() calls check; at run time it is a
# plain mixin placed before SMTP or LMTP in the method resolution order.
if TYPE_CHECKING:
    _Base = SMTP
else:
    _Base = object


class AuthLineTooLong(Exception):
    """A response to an AUTH challenge longer than the reader's limit (read to its end)."""


class _RoostConnection(_Base):
    """Mixed into SMTP and LMTP; `plaintext_auth_on_loopback` is set by the factory."""

    plaintext_auth_on_loopback: bool = False
    _in_hello: bool = False  # the EHLO/LHLO reply carries no enhanced codes
    # Set by the factory (roost.smtp.server): the session table and this listener's name.
    sessions: Sessions | None = None
    label: str = "smtp"
    live: LiveSession | None = None
    # Set by the factory: the server-wide budget of message bytes in memory, and where
    # messages too large for memory wait (roost.spool).
    inflight: MemoryBudget | None = None
    spool_dir: Path | None = None
    # Set by the factory for submission and inbound SMTP (not LMTP, whose client is the
    # MTA of this machine): connections per address and per account.
    limits: ConnectionLimits | None = None
    place: Place | None = None
    _refusal: str | None = None  # said instead of the greeting
    _login_timer: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._smtp_methods = {
            name: self._timed(name, method) for name, method in self._smtp_methods.items()
        }

    def _timed(
        self, name: str, method: Callable[[str], Awaitable[None]]
    ) -> Callable[[str], Awaitable[None]]:
        @functools.wraps(method)  # keeps the __smtp_syntax__ that HELP reads
        async def timed(arg: str) -> None:
            started = time.monotonic()
            try:
                await method(arg)
            finally:
                if self.live is not None:
                    self.live.command(name, time.monotonic() - started)

        return timed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.live is None and self.sessions is not None:  # not the STARTTLS upgrade
            peer = peer_text(transport.get_extra_info("peername"))
            self.live = self.sessions.open(self.label, peer, stop=self.goodbye)
            if self.limits is not None:
                self.place = self.limits.connect(peer)
                if self.place is None:
                    self._refusal = f"421 4.7.0 {self.hostname} {TOO_MANY_FROM_ADDRESS}"
        super().connection_made(transport)
        if self._auth_required and self._login_timer is None:
            self._login_timer = self.loop.call_later(LOGIN_WINDOW, self._login_window_passed)

    def _login_window_passed(self) -> None:
        if self.session is None or not self.session.authenticated:
            self._close_with("421 4.7.0 {} Log in within {} seconds; closing", LOGIN_WINDOW)

    def _timeout_cb(self) -> None:
        # aiosmtpd closes silently; RFC 5321 §4.5.3.2.7 lets the server close, and a 421
        # tells the client why.
        self._close_with("421 4.4.2 {} Timeout after {} seconds; closing", self._timeout_duration)

    def _close_with(self, template: str, seconds: float) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(template.format(self.hostname, round(seconds)).encode() + b"\r\n")
        transport.close()

    async def _handle_client(self) -> None:
        if self._refusal is None:
            await super()._handle_client()
            return
        # RFC 5321 §3.1: a server may answer the connection with 421 instead of 220.
        if self.live is not None:
            self.live.protocol_error(self._refusal)
        await self.push(self._refusal)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        if self._login_timer is not None:
            self._login_timer.cancel()
        if self.place is not None:
            self.place.close()
            self.place = None
        if self.live is not None:
            self.live.close()
        super().connection_lost(error)

    def goodbye(self, reason: str) -> None:
        """Ends the connection from outside (shutdown, roost kick): RFC 5321 §3.8, a 421
        reply, then close."""
        transport = self.transport
        if transport is None:
            return
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(f"421 4.3.2 {self.hostname} {reason}\r\n".encode())
        transport.close()

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException) and self.live is not None:
            self.live.tls_failed(error.__cause__ or error)  # one line, no traceback
            return "421 4.7.0 TLS handshake failed"
        if isinstance(error, AuthLineTooLong):
            return "500 5.5.6 Authentication Exchange line is too long"
        if isinstance(error, MailError):  # a store refusal no handler answered itself
            return reply_for(error)
        # A bug: logged with its traceback; the client hears a temporary failure and retries,
        # never aiosmtpd's "500 Error: (ExceptionName) text".
        log.exception("bug in an SMTP session")
        return "451 4.3.0 Internal error, try again later"

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None and self.spool_dir is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        try:
            spool_file = message_spool(self.spool_dir)
        except OSError as exc:  # the data directory cannot be written: refused before 354
            log.error("cannot spool a message: %s", exc)
            await self.push(reply_for(storage_unavailable()))
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        with spool_file as spool:
            status = await self._receive_data(spool)
            if status is None:
                status = await self._deliver(spool, spool.tell())
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)

    async def _receive_data(self, spool: IO[bytes]) -> str | None:
        """Reads the message up to the lone dot into `spool`, undoing dot-stuffing (RFC 5321
        §4.5.2); a refusal once it has all been read (§4.2.5), or None."""
        refusal: str | None = None
        limit = self.data_size_limit
        size = credited = 0
        started = self.loop.time()
        line: list[bytes] = []  # the pieces of a line longer than the reader's buffer
        mid_line = False
        while self.transport is not None:
            try:
                chunk = await self._reader.readuntil(b"\r\n")
            except asyncio.CancelledError:
                self._writer.close()  # the connection was lost during DATA
                raise
            except asyncio.LimitOverrunError as exc:
                refusal = refusal or "500 Line too long (see RFC5321 4.5.3.1.6)"
                chunk = await self._reader.read(exc.consumed)
            if not mid_line and chunk == b".\r\n":
                break
            size += len(chunk)
            if size - credited >= _CREDIT_EVERY:
                credited = size
                deadline = started + self._timeout_duration + size / DATA_MIN_RATE
                self._reset_timeout(max(deadline - self.loop.time(), 0.001))
            if refusal is None and limit and size > limit:
                refusal = "552 Error: Too much mail data"
            mid_line = not chunk.endswith(b"\r\n")
            if refusal is not None:
                line.clear()  # nothing more is kept; only the lone dot is looked for
                continue
            line.append(chunk)
            if not mid_line:
                whole = b"".join(line)
                line.clear()
                try:
                    spool.write(whole[1:] if whole.startswith(b".") else whole)
                except OSError as exc:  # the spool file's disk is full: refused after the dot
                    log.error("cannot spool a message: %s", exc)
                    refusal = reply_for(storage_unavailable())
        return refusal

    async def challenge_auth(
        self,
        challenge: str | bytes,
        encode_to_b64: bool = True,
        log_client_response: bool = False,
    ) -> _Missing | bytes:
        """aiosmtpd's, but the response line is read whole however long (and refused past
        the reader's limit), so no part of it is taken for a command."""
        data = challenge.encode() if isinstance(challenge, str) else challenge
        await self.push(b"334 " + (base64.b64encode(data) if encode_to_b64 else data))
        response = (await self._response_line()).strip()
        if response == b"*":  # RFC 4954 §4: the client cancels
            await self.push("501 5.7.0 Auth aborted")
            return MISSING
        try:
            return base64.b64decode(response, validate=True)
        except binascii.Error:
            await self.push("501 5.5.2 Can't decode base64")
            return MISSING

    async def _response_line(self) -> bytes:
        too_long = False
        while True:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:  # the client left
                return exc.partial
            except asyncio.LimitOverrunError as exc:
                too_long = True
                await self._reader.read(exc.consumed)
                continue
            if too_long:
                raise AuthLineTooLong
            return line

    async def _deliver(self, spool: IO[bytes], size: int) -> str:
        """The policy's handle_DATA with the message in memory, under the budget."""
        assert self.envelope is not None and self.inflight is not None
        try:
            async with self.inflight.hold(size):
                content = await read_back(spool)
                self.envelope.content = self.envelope.original_content = content
                status = await self._call_handler_hook("DATA")
        except BudgetExhausted:
            return "452 4.3.1 Insufficient system resources; try again later"
        return "250 OK" if status is MISSING else str(status)

    def is_secure(self) -> bool:
        transport = self.transport
        return transport is not None and transport.get_extra_info("ssl_object") is not None

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and not self._in_hello:
            await super().push(with_enhanced_code(status))
        else:
            await super().push(status)


class RoostSMTP(_RoostConnection, SMTP):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._original_transport is None:  # the TCP connection, not the STARTTLS upgrade
            secure = transport.get_extra_info("ssl_object") is not None
            loopback = is_loopback(transport.get_extra_info("peername"))
            # aiosmtpd reads this flag (beside its own STARTTLS state) in EHLO and AUTH.
            self._auth_require_tls = not password_allowed(
                secure=secure, loopback=loopback, allow_on_loopback=self.plaintext_auth_on_loopback
            )
        super().connection_made(transport)

    async def smtp_EHLO(self, hostname: str) -> None:
        self._in_hello = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._in_hello = False


class RoostLMTP(_RoostConnection, LMTP):
    async def smtp_LHLO(self, arg: str) -> None:
        self._in_hello = True
        try:
            await super().smtp_LHLO(arg)
        finally:
            self._in_hello = False
