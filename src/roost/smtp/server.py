"""The SMTP and LMTP listeners: aiosmtpd protocol objects served in Roost's event loop.

One protocol object per connection (aiosmtpd's design), made by a factory that gives it
its policy and limits. Submission, inbound SMTP and LMTP each have one policy object for
all their connections; a policy holds no per-connection state (that lives in aiosmtpd's
Session and Envelope).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import weakref
from asyncio import sslproto
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.smtp import SMTP

from roost.auth.connections import ConnectionLimits
from roost.sessions import Sessions, peer_text
from roost.smtp.inbound import InboundPolicy
from roost.smtp.lmtp import LmtpPolicy
from roost.smtp.policy import Policy, Services
from roost.smtp.protocol import RoostLMTP, RoostSMTP
from roost.smtp.submission import SubmissionPolicy
from roost.spool import MemoryBudget, spool_directory

__all__ = ["SmtpServers"]

log = logging.getLogger("roost.smtp")

IDENT = "ESMTP Roost"
TIMEOUT = 300  # seconds between commands (RFC 5321 §4.5.3.2.7 asks at least 5 minutes)
TLS_HANDSHAKE_TIMEOUT = 30


class SmtpServers:
    """Owns the SMTP/LMTP listening sockets and the connections they accept."""

    def __init__(self, services: Services, tls: ssl.SSLContext | None) -> None:
        self.services = services
        self.config = services.config
        self.tls = tls
        self.sessions = services.sessions
        self.inflight = services.inflight or MemoryBudget(self.config.max_inflight_bytes)
        self.limits = services.limits or ConnectionLimits.from_config(self.config)
        self._submission = SubmissionPolicy(services)
        self._inbound = InboundPolicy(services)
        self._lmtp = LmtpPolicy(services)
        self.reuse_port = False  # other workers listen on the same ports (roost.serve)
        self._servers: list[asyncio.Server] = []
        # Closed connections drop out on their own; close() ends the others.
        self._connections: weakref.WeakSet[SMTP] = weakref.WeakSet()

    async def listen_submission(self, port: int, *, implicit_tls: bool) -> asyncio.Server:
        factory = self._factory(
            RoostSMTP, self._submission, auth=True, starttls=not implicit_tls, label="submission"
        )
        return await self._tcp(factory, port, implicit_tls=implicit_tls)

    async def listen_inbound(self, port: int) -> asyncio.Server:
        factory = self._factory(RoostSMTP, self._inbound, auth=False, starttls=True, label="smtp")
        return await self._tcp(factory, port, implicit_tls=False)

    async def listen_lmtp(self, port: int) -> asyncio.Server:
        # LMTP trusts its client (an MTA of this machine) and has no authentication, so it
        # listens on lmtp_bind (loopback by default), never on the public `bind`.
        factory = self._factory(RoostLMTP, self._lmtp, auth=False, starttls=False, label="lmtp")
        return await self._tcp(factory, port, implicit_tls=False, host=self.config.lmtp_bind)

    async def listen_lmtp_socket(self, path: Path) -> asyncio.Server:
        factory = self._factory(RoostLMTP, self._lmtp, auth=False, starttls=False, label="lmtp")
        _prepare_socket_path(path)
        server = await asyncio.get_running_loop().create_unix_server(factory, str(path))
        self._servers.append(server)
        return server

    async def _tcp(
        self,
        factory: Callable[[], SMTP],
        port: int,
        *,
        implicit_tls: bool,
        host: str | None = None,
    ) -> asyncio.Server:
        make: Callable[[], asyncio.BaseProtocol] = factory
        if implicit_tls:
            assert self.tls is not None
            make = _implicit_tls(factory, self.tls, self.sessions)
        bind = self.config.bind if host is None else host
        loop = asyncio.get_running_loop()
        server = await loop.create_server(make, bind, port, reuse_port=self.reuse_port or None)
        self._servers.append(server)
        return server

    def _factory(
        self,
        kind: type[RoostSMTP | RoostLMTP],
        policy: Policy,
        *,
        auth: bool,
        starttls: bool,
        label: str,
    ) -> Callable[[], SMTP]:
        loop = asyncio.get_running_loop()
        config = self.config

        def make() -> SMTP:
            protocol = kind(
                policy,
                data_size_limit=config.max_message_size,
                enable_SMTPUTF8=True,
                hostname=config.hostname,
                ident=IDENT,
                tls_context=self.tls if starttls else None,
                timeout=TIMEOUT,
                auth_required=auth,
                auth_require_tls=True,  # relaxed per connection by RoostSMTP
                loop=loop,
            )
            protocol.plaintext_auth_on_loopback = config.allow_plaintext_auth_on_loopback
            protocol.sessions = self.sessions
            protocol.label = label
            protocol.inflight = self.inflight
            protocol.spool_dir = spool_directory(config.data_dir)
            if kind is not RoostLMTP:  # LMTP's client is this machine's MTA
                protocol.limits = self.limits
            self._connections.add(protocol)
            return protocol

        return make

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for protocol in list(self._connections):
            if protocol.transport is not None:
                protocol.transport.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()


class _ImplicitTls(sslproto.SSLProtocol):
    """TLS from the first byte (port 465, RFC 8314), as create_server(ssl=...) does it, but
    remembering the peer so that a failed handshake is one WARNING line (asyncio itself
    drops it silently)."""

    peer = "unknown"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer = peer_text(transport.get_extra_info("peername"))
        super().connection_made(transport)


def _implicit_tls(
    factory: Callable[[], SMTP], context: ssl.SSLContext, sessions: Sessions
) -> Callable[[], asyncio.BaseProtocol]:
    loop = asyncio.get_running_loop()

    def make() -> asyncio.BaseProtocol:
        waiter: asyncio.Future[None] = loop.create_future()
        protocol = _ImplicitTls(
            loop,
            factory(),
            context,
            waiter,
            server_side=True,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT,
        )

        def handshake_done(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is not None:
                error = done.exception()
                assert error is not None
                sessions.tls_failed("submission", protocol.peer, error)

        waiter.add_done_callback(handshake_done)
        return protocol

    return make


def _prepare_socket_path(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A socket file left by a process that died is in the way; nothing listens on it.
    with contextlib.suppress(FileNotFoundError):
        if path.is_socket():
            path.unlink()
