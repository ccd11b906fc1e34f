"""The control channel: what the `roost` CLI asks of the running server.

A small HTTP/JSON API on a Unix socket in the data directory (`control.sock`, mode 0600,
in a 0700 directory): only the server's own user, or root, reaches it, so it needs no
password. The CLI is a separate process; these are the actions it cannot do through the
store alone:

    GET  /status                 live sessions (roost.sessions) and the queue
    POST /kick?address=ADDRESS   ends that account's sessions (IMAP * BYE, POP3 -ERR, 421)
    POST /queue/flush            every queued entry due now, and the queue runner woken
    POST /queue/wake             the queue runner woken (another worker queued mail)

A server of several workers (roost.serve) has one socket per worker: `control.sock` is the
primary's (worker 0, which runs the queue), `control-N.sock` worker N's. `ControlClient`
is the CLI's side: plain http.client over the sockets, no event loop; status and kick
gather every worker's sessions.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from roost.auth.accounts import normalise_address
from roost.http.app import DEPS, Deps

__all__ = [
    "CONTROL_SOCKET",
    "ControlClient",
    "NoServer",
    "control_app",
    "control_path",
    "wake_primary",
]

log = logging.getLogger("roost.http")

CONTROL_SOCKET = "control.sock"


def control_path(data_dir: Path, worker: int = 0) -> Path:
    """The control socket of a server (of its worker `worker`: each has one, and the first
    is the primary's, which answers for the queue)."""
    return data_dir / (CONTROL_SOCKET if worker == 0 else f"control-{worker}.sock")


def _worker_paths(data_dir: Path) -> list[Path]:
    """The control sockets of the other workers of a server with several."""
    return sorted(data_dir.glob("control-*.sock"))


def control_app(deps: Deps) -> web.Application:
    app = web.Application()
    app[DEPS] = deps
    app.router.add_get("/status", status)
    app.router.add_post("/kick", kick)
    app.router.add_post("/queue/flush", flush)
    app.router.add_post("/queue/wake", wake)
    return app


async def status(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    queue = await deps.store.queue_entries()
    oldest = min((entry.created for entry in queue), default=None)
    return web.json_response(
        {
            # Which process serves each: one of several workers (roost.serve), or the server.
            "sessions": [info.as_json() | {"pid": os.getpid()} for info in deps.sessions.list()],
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


async def wake(request: web.Request) -> web.Response:
    """Another worker queued mail: the queue runner (the primary's) looks at once."""
    request.app[DEPS].wake_queue()
    return web.json_response({})


async def wake_primary(data_dir: Path) -> None:
    """Wakes the primary worker's queue runner from another worker. Best effort: a wake-up
    lost only waits for the runner's own next look."""
    connector = aiohttp.UnixConnector(path=str(control_path(data_dir)))
    try:
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post("http://localhost/queue/wake") as response,
        ):
            await response.read()
    except (aiohttp.ClientError, OSError) as exc:
        log.warning("could not wake the queue runner of worker 0: %s", exc)


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
    def __init__(self, data_dir: Path, timeout: float = 10.0, path: Path | None = None) -> None:
        """The server's client (its primary worker's socket), or that of the socket at path."""
        self.path = path or control_path(data_dir)
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
        for other in self._others():
            with contextlib.suppress(NoServer):
                result["sessions"] += other._call("GET", "/status")["sessions"]
        return result

    def kick(self, address: str) -> int:
        target = f"/kick?address={quote(address)}"
        ended = int(self._call("POST", target)["ended"])
        for other in self._others():
            with contextlib.suppress(NoServer):
                ended += int(other._call("POST", target)["ended"])
        return ended

    def _others(self) -> list[ControlClient]:
        """Clients of the other workers' sockets (none for a server of one process)."""
        data_dir = self.path.parent
        return [ControlClient(data_dir, self.timeout, path) for path in _worker_paths(data_dir)]

    def flush(self) -> int:
        return int(self._call("POST", "/queue/flush")["due"])
