"""The HTTP layer: one aiohttp application for clients and Prometheus, one for the local
control channel, and the listeners that serve them.

Theory of operation
-------------------
`public_app` answers on `ports.http` and on `ports.https` (TLS with the server's
certificate; ActiveSync takes passwords only there, or from this machine when
`allow_plaintext_auth_on_loopback` is on):

    GET  /.well-known/autoconfig/mail/config-v1.1.xml   Thunderbird (roost.http.autoconfig)
    GET  /mail/config-v1.1.xml                          the same, on autoconfig.<domain>
    POST /autodiscover/autodiscover.xml                 Outlook (roost.http.autodiscover)
    GET  /mobileconfig?emailaddress=ADDRESS             Apple (roost.http.mobileconfig)
    GET  /metrics                                       Prometheus (roost.metrics)
    OPTIONS, POST /Microsoft-Server-ActiveSync          ActiveSync (roost.http.eas)

A client-setup answer is given only for a local domain (404 otherwise) and never says
whether an account exists. `control_app` (roost.http.control) listens on a Unix socket in
the data directory, reachable only by the server's own user; the `roost` CLI uses it.

Handlers get everything from `Deps`, built once by roost.app; nothing is global.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from roost.auth.accounts import normalise_address, normalise_domain
from roost.auth.throttle import Throttle
from roost.config import Config
from roost.errors import ProtocolError
from roost.http import autoconfig, autodiscover, eas, mobileconfig
from roost.http.endpoints import endpoints
from roost.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from roost.metrics import Metrics
from roost.notify.api import Notifier
from roost.sessions import Sessions
from roost.store.api import Store

__all__ = ["DEPS", "Deps", "HttpServer", "public_app"]

log = logging.getLogger("roost.http")

XML = "application/xml"


@dataclass(frozen=True, slots=True, kw_only=True)
class Deps:
    config: Config
    store: Store
    metrics: Metrics
    sessions: Sessions
    wake_queue: Callable[[], None]
    notifier: Notifier
    throttle: Throttle | None = None  # failed logins, shared with IMAP, POP3 and SMTP


DEPS = web.AppKey("deps", Deps)


def public_app(deps: Deps) -> web.Application:
    app = web.Application(client_max_size=autodiscover.MAX_REQUEST)
    app[DEPS] = deps
    app.router.add_get("/.well-known/autoconfig/mail/config-v1.1.xml", thunderbird)
    app.router.add_get("/mail/config-v1.1.xml", thunderbird)
    for path in ("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"):
        app.router.add_post(path, outlook)
    app.router.add_get("/mobileconfig", apple)
    app.router.add_get("/metrics", metrics)
    eas.install(
        app,
        config=deps.config,
        store=deps.store,
        notifier=deps.notifier,
        sessions=deps.sessions,
        wake_queue=deps.wake_queue,
        throttle=deps.throttle,
    )
    return app


async def _local_domain(deps: Deps, domain: str) -> str:
    try:
        domain = normalise_domain(domain)
    except ValueError:
        raise web.HTTPBadRequest(text="not a domain name\n") from None
    if not await deps.store.is_local_domain(domain):
        raise web.HTTPNotFound(text=f"{domain} is not a domain of this server\n")
    return domain


def _address(text: str) -> str:
    try:
        return normalise_address(text)
    except ValueError:
        raise web.HTTPBadRequest(text="emailaddress must be an address, local@domain\n") from None


async def thunderbird(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    given = request.query.get("emailaddress", "")
    if given:
        domain = _address(given).rpartition("@")[2]
    else:  # autoconfig.<domain> without an address: the domain from the Host header
        domain = (request.host.rpartition(":")[0] or request.host).removeprefix("autoconfig.")
    domain = await _local_domain(deps, domain)
    body = autoconfig.render_autoconfig(domain, endpoints(deps.config))
    return web.Response(body=body, content_type=XML, charset="utf-8")


async def outlook(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    data = await request.read()
    try:
        address = _address(autodiscover.parse_request(data))
    except ProtocolError as exc:
        raise web.HTTPBadRequest(text=f"{exc.text}\n") from None
    await _local_domain(deps, address.rpartition("@")[2])
    if autodiscover.wants_mobilesync(data):  # a phone: the ActiveSync endpoint
        https = deps.config.ports.https
        if not https:
            raise web.HTTPNotFound(text="ActiveSync needs the HTTPS listener\n")
        host = deps.config.hostname if https == 443 else f"{deps.config.hostname}:{https}"
        url = f"https://{host}{eas.ENDPOINT}"
        body = autodiscover.render_mobilesync(address, url)
        return web.Response(body=body, content_type=XML, charset="utf-8")
    body = autodiscover.render_response(address, endpoints(deps.config))
    return web.Response(body=body, content_type=XML, charset="utf-8")


async def apple(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    address = _address(request.query.get("emailaddress", ""))
    await _local_domain(deps, address.rpartition("@")[2])
    profile = mobileconfig.render_profile(address, endpoints(deps.config))
    if profile is None:
        raise web.HTTPNotFound(text="no IMAP/POP3 and submission listeners are enabled\n")
    filename = address.replace("@", "-at-") + ".mobileconfig"
    return web.Response(
        body=profile,
        content_type=mobileconfig.CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def metrics(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    queue = await deps.store.queue_entries()
    data_dir = None if deps.config.database_url else deps.config.data_dir
    deps.metrics.refresh(queue, data_dir)
    response = web.Response(body=deps.metrics.render())
    response.headers["Content-Type"] = METRICS_CONTENT_TYPE
    return response


class HttpServer:
    """Owns the HTTP(S) listeners and the control socket."""

    def __init__(self, public: web.Application, control: web.Application | None = None) -> None:
        self._public = web.AppRunner(public, access_log=None, handle_signals=False)
        self._control = (
            web.AppRunner(control, access_log=None, handle_signals=False)
            if control is not None
            else None
        )
        self._started: list[web.AppRunner] = []
        self.reuse_port = False  # other workers listen on the same ports (roost.serve)

    async def _runner(self, runner: web.AppRunner) -> web.AppRunner:
        if runner not in self._started:
            await runner.setup()
            self._started.append(runner)
        return runner

    async def listen(self, host: str, port: int, tls: ssl.SSLContext | None) -> list[object]:
        """Serves the public app on host:port (with TLS if given); returns the addresses."""
        runner = await self._runner(self._public)
        before = list(runner.addresses)
        site = web.TCPSite(
            runner, host, port, ssl_context=tls, reuse_address=True, reuse_port=self.reuse_port
        )
        await site.start()
        return [address for address in runner.addresses if address not in before]

    async def listen_control(self, path: Path) -> None:
        assert self._control is not None
        runner = await self._runner(self._control)
        _remove_stale(path)
        site = web.UnixSite(runner, str(path))
        await site.start()
        _owner_only(path)

    async def close(self) -> None:
        for runner in reversed(self._started):
            await runner.cleanup()
        self._started.clear()


def _remove_stale(path: Path) -> None:
    path.unlink(missing_ok=True)  # left by a server that died; nothing listens on it


def _owner_only(path: Path) -> None:
    path.chmod(0o600)
