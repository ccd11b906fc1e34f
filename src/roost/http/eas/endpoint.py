"""The ActiveSync endpoint: `/Microsoft-Server-ActiveSync` ([MS-ASHTTP]).

Theory of operation
-------------------
Every request is authenticated on its own (HTTP Basic with the account's address and
password, through roost.auth.login like every protocol; 401 otherwise, 403 when the
account may not use ActiveSync or the password would cross the network in the clear).

    OPTIONS   the versions (MS-ASProtocolVersions: 14.1,16.1) and the commands served
              (MS-ASProtocolCommands); devices use it to check the password too
    POST      ?Cmd=...&User=...&DeviceId=...&DeviceType=... (or the base64 form,
              roost.proto.eas.query) with a WBXML body: one command

A POST runs in this order: credentials; the request line (400 if malformed, 501 for a
command not served); the device, recorded in the store on every request (type, user
agent, last seen); the policy key (every command but Provision must carry the final key
of roost.http.eas.provision, else HTTP 449 "Retry after sending a PROVISION command", and
always while a remote wipe of the device is pending); the body (at most MAX_BODY octets,
plus max_message_size for SendMail and Smart*, of type application/vnd.ms-sync.wbxml, else
413 / 400);
then the command's handler from HANDLERS. A body that is not WBXML, or not the document
the command expects, is answered with that command's own "protocol error" status, as
[MS-ASCMD] names it; a refusal of the store midway (MailError) is HTTP 503 with
Retry-After; the server keeps serving.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from roost.auth.login import Refusal, log_in
from roost.auth.plaintext import is_loopback, password_allowed
from roost.errors import MailError
from roost.http.eas import (
    estimate,
    find,
    folder_changes,
    folders,
    itemops,
    moves,
    ping,
    provision,
    search,
    sendmail,
    settings,
    smart,
    sync,
)
from roost.http.eas.context import Command, Service
from roost.http.eas.state import policy_key
from roost.proto.eas.query import parse_request_line
from roost.proto.eas.wbxml import Element, WbxmlError, decode, encode
from roost.proto.errors import ProtocolError
from roost.sessions import LiveSession, peer_text
from roost.store.api import Account

__all__ = ["ENDPOINT", "HANDLERS", "MAX_BODY", "SERVICE", "VERSIONS", "options", "post"]

log = logging.getLogger("roost.activesync")

ENDPOINT = "/Microsoft-Server-ActiveSync"
VERSIONS = ("14.1", "16.1")
WBXML = "application/vnd.ms-sync.wbxml"
MAX_BODY = 1024 * 1024  # commands other than SendMail are small (it adds max_message_size)
REALM = 'Basic realm="ActiveSync", charset="UTF-8"'
SERVICE = web.AppKey("activesync", Service)


@dataclass(frozen=True, slots=True)
class Handler:
    run: Callable[[Command, Element | None], Awaitable[Element | None]]  # None: empty 200
    protocol_error: Callable[[], Element]


HANDLERS: dict[str, Handler] = {
    "Provision": Handler(provision.run, provision.protocol_error),
    "FolderSync": Handler(folders.run, folders.protocol_error),
    "Sync": Handler(sync.run, sync.protocol_error),
    "Ping": Handler(ping.run, ping.protocol_error),
    "ItemOperations": Handler(itemops.run, itemops.protocol_error),
    "GetItemEstimate": Handler(estimate.run, estimate.protocol_error),
    "MoveItems": Handler(moves.run, moves.protocol_error),
    "Search": Handler(search.run, search.protocol_error),
    "Find": Handler(find.run, find.protocol_error),
    "Settings": Handler(settings.run, settings.protocol_error),
    "SendMail": Handler(sendmail.run, sendmail.protocol_error),
    **{
        name: Handler(smart.run, functools.partial(smart.protocol_error, name))
        for name in ("SmartReply", "SmartForward")
    },
    **{
        name: Handler(folder_changes.run, functools.partial(folder_changes.protocol_error, name))
        for name in ("FolderCreate", "FolderUpdate", "FolderDelete")
    },
}


def _headers() -> dict[str, str]:
    return {"MS-Server-ActiveSync": "16.1"}


async def options(request: web.Request) -> web.Response:
    await _authenticate(request, request.app[SERVICE])
    headers = _headers() | {
        "Allow": "OPTIONS,POST",
        "Public": "OPTIONS,POST",
        "MS-ASProtocolVersions": ",".join(VERSIONS),
        "MS-ASProtocolCommands": ",".join(HANDLERS),
    }
    return web.Response(status=200, headers=headers)


async def post(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    account = await _authenticate(request, service)
    try:
        line = parse_request_line(request.query_string, request.headers)
    except ProtocolError as exc:
        raise web.HTTPBadRequest(text=f"{exc.text}\n") from None
    version = line.version or VERSIONS[0]
    if version not in VERSIONS:
        raise web.HTTPBadRequest(
            text=f"protocol version {version} is not served\n",
            headers={"MS-ASProtocolVersions": ",".join(VERSIONS)},
        )
    handler = HANDLERS.get(line.command)
    if handler is None:
        raise web.HTTPNotImplemented(text=f"command {line.command} is not served\n")
    user_agent = request.headers.get("User-Agent", "")
    device = await service.store.device_seen(
        account.id, line.device_id, line.device_type, user_agent
    )
    final = policy_key(account.password_hash, line.device_id, final=True)
    if line.command != "Provision" and (device.wipe_pending or line.policy_key != final):
        # A wipe asked for: the device provisions again and hears it there (provision.py).
        # [MS-ASPROV] §3.2.5.2 / [MS-ASHTTP] §3.2.5.1: 449, provision first
        return web.Response(status=449, reason="Retry With", headers=_headers())
    composing = line.command in ("SendMail", "SmartReply", "SmartForward")
    limit = service.config.max_message_size + MAX_BODY if composing else MAX_BODY
    body = await _body(request, limit)
    try:
        document = None if body is None else decode(body)
        result = await handler.run(
            Command(service=service, account=account, device=device, line=line), document
        )
    except WbxmlError as exc:
        log.debug("activesync %s: undecodable body: %s", line.command, exc.text)
        result = handler.protocol_error()
    except ProtocolError as exc:
        log.debug("activesync %s: %s", line.command, exc.text)
        result = handler.protocol_error()
    except MailError as exc:
        # The store refused midway (a folder deleted meanwhile, a quota): the device
        # retries later and then gets the status of what it finds ([MS-ASHTTP] 503).
        log.warning("activesync %s of %s: %s", line.command, account.address, exc.text)
        raise web.HTTPServiceUnavailable(
            text="try again later\n", headers={"Retry-After": "30"} | _headers()
        ) from None
    if result is None:
        return web.Response(status=200, headers=_headers())
    return web.Response(body=encode(result), content_type=WBXML, headers=_headers())


async def _body(request: web.Request, limit: int) -> bytes | None:
    """The request body (None when empty), refused past limit without reading it all."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        return None
    if not request.content_type.startswith("application/vnd.ms-sync"):
        raise web.HTTPBadRequest(text=f"a command body is {WBXML}\n")
    return body


async def _authenticate(request: web.Request, service: Service) -> Account:
    user, password = _credentials(request)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not password_allowed(
        secure=request.secure,
        loopback=is_loopback(peer),
        allow_on_loopback=service.config.allow_plaintext_auth_on_loopback,
    ):
        raise web.HTTPForbidden(text="use HTTPS: passwords are not taken in the clear\n")
    live = LiveSession(protocol="activesync", peer=peer_text(peer))
    result = await log_in(
        service.store,
        live,
        user,
        password,
        mechanism="basic",
        service="activesync",
        throttle=service.throttle,
    )
    if result is Refusal.BLOCKED:  # MS-ASHTTP: a device waits Retry-After, then tries again
        blocked = service.throttle.blocked(live.peer) if service.throttle else 0
        raise web.HTTPServiceUnavailable(
            text="too many failed logins from this address; try again later\n",
            headers={"Retry-After": str(max(1, int(blocked)))},
        )
    if result is Refusal.CREDENTIALS:
        raise _unauthorized()
    if result is Refusal.SERVICE:
        raise web.HTTPForbidden(text="ActiveSync is not enabled for this account\n")
    assert isinstance(result, Account)
    return result


def _credentials(request: web.Request) -> tuple[str, str]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized()
    try:
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized() from None
    user, colon, password = text.partition(":")
    if not colon or not user:
        raise _unauthorized()
    return user, password


def _unauthorized() -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(
        text="credentials required\n", headers={"WWW-Authenticate": REALM} | _headers()
    )
