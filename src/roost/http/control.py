"""The control channel: what the `roost` CLI asks of the running server.

A small HTTP/JSON API on a Unix socket in the data directory (`control.sock`, mode 0600,
in a 0700 directory): only the server's own user, or root, reaches it, so it needs no
password. The CLI is a separate process; these are the actions it cannot do through the
store alone:

    GET  /status                 live sessions (roost.sessions) and the queue
    POST /kick?address=ADDRESS   ends that account's sessions (IMAP * BYE, POP3 -ERR, 421)
    POST /queue/flush            every queued entry due now, and the queue runner woken

`ControlClient` is the CLI's side: plain http.client over the socket, no event loop.
"""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from roost.auth.accounts import normalise_address
from roost.http.app import DEPS, Deps

__all__ = ["CONTROL_SOCKET", "ControlClient", "NoServer", "control_app", "control_path"]

CONTROL_SOCKET = "control.sock"


def control_path(data_dir: Path) -> Path:
    return data_dir / CONTROL_SOCKET


def control_app(deps: Deps) -> web.Application:
    app = web.Application()
    app[DEPS] = deps
    app.router.add_get("/status", status)
    app.router.add_post("/kick", kick)
    app.router.add_post("/queue/flush", flush)
    return app


async def status(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    queue = await deps.store.queue_entries()
    oldest = min((entry.created for entry in queue), default=None)
    return web.json_response(
        {
            "sessions": [info.as_json() for info in deps.sessions.list()],
            "queue": {
                "entries": len(queue),
                "oldest": oldest.isoformat(timespec="seconds") if oldest else None,
            },
        }
    )


async def kick(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    try:
        address = normalise_address(request.query.get("address", ""))
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return web.json_response({"ended": deps.sessions.kick(address)})


async def flush(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    due = await deps.store.queue_flush()
    deps.wake_queue()
    return web.json_response({"due": due})


class NoServer(Exception):
    """No server answers on the control socket."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


class ControlClient:
    def __init__(self, data_dir: Path, timeout: float = 10.0) -> None:
        self.path = control_path(data_dir)
        self.timeout = timeout

    def _call(self, method: str, target: str) -> Any:
        connection = _UnixConnection(self.path, self.timeout)
        try:
            connection.request(method, target)
            response = connection.getresponse()
            body = response.read()
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NoServer(f"no server is running on this data directory ({self.path})") from exc
        finally:
            connection.close()
        if response.status != 200:
            raise ValueError(body.decode("utf-8", "replace").strip() or response.reason)
        return json.loads(body)

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/status")
        return result

    def kick(self, address: str) -> int:
        return int(self._call("POST", f"/kick?address={quote(address)}")["ended"])

    def flush(self) -> int:
        return int(self._call("POST", "/queue/flush")["due"])
