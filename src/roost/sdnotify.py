"""systemd's readiness protocol (sd_notify(3)), without libsystemd: one datagram to the
socket named by $NOTIFY_SOCKET, when systemd started us with Type=notify (deploy/).
Elsewhere (no variable) every call is a no-op."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

__all__ = ["notify"]

log = logging.getLogger("roost")


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Sends state ("READY=1", "STOPPING=1", "RELOADING=1", "STATUS=...") to systemd;
    returns whether there was a socket to send it to."""
    path = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not path:
        return False
    if path.startswith("@"):  # an abstract socket (sd_notify(3))
        path = "\0" + path[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(path)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("cannot notify systemd at %s: %s", path, exc.strerror or exc)
        return False
    return True
