"""Messages between the workers of one server, for what must behave as in one process.

Theory of operation
-------------------
Most of what workers share lives in the store (mail, the change log, the queue). What
does not, and must still behave as if the server were one process, is told to the other
workers as it happens: the login throttle's failures and successes (roost.auth.throttle),
so that a guesser whose connections the kernel spreads over N workers gets as few attempts
as against one, and each worker's connection counts per address and per account
(roost.auth.connections), so that those limits hold for the server as a whole.

The supervisor makes one Unix datagram socket pair per worker before it forks any:
worker i reads its pair's first end, and the others send on its second end. The pairs
have no name, so no other process on the machine can send on them (only the server's own
processes hold them), and a restarted worker reads the same end as the worker it
replaces. Sending never blocks: a message to a worker whose buffer is full, or that is
being restarted, is dropped, which the throttle can afford (a guesser gets one attempt
more); the connection counts are sent again in full every few seconds, so a lost message
is corrected. Each message is a small JSON object: a topic (which part of the server it is
for), the sending worker's index, and a body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["Link", "WorkerBus"]

log = logging.getLogger(__name__)

# The largest message read; a message is a few hundred octets.
_MAX_MESSAGE = 64 * 1024


class WorkerBus:
    """The sockets of every worker of one server, made by the supervisor before forking."""

    __slots__ = ("_pairs",)

    def __init__(self, count: int) -> None:
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        try:
            for _ in range(count):
                receiving, sending = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
                receiving.setblocking(False)
                sending.setblocking(False)
                self._pairs.append((receiving, sending))
        except BaseException:
            self.close()
            raise

    def link(self, index: int) -> Link:
        """Worker index's end: it reads its own socket and sends to every other's."""
        others = [sending for n, (_, sending) in enumerate(self._pairs) if n != index]
        return Link(index, self._pairs[index][0], others)

    def close(self) -> None:
        for receiving, sending in self._pairs:
            receiving.close()
            sending.close()


Handler = Callable[[int, Any], None]


class Link:
    """One worker's end of the bus."""

    __slots__ = ("_handlers", "_loop", "_others", "_receiving", "index")

    def __init__(self, index: int, receiving: socket.socket, others: list[socket.socket]) -> None:
        self.index = index
        self._receiving = receiving
        self._others = others
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handlers: dict[str, Handler] = {}

    def send(self, topic: str, body: Any) -> None:
        """Sends body, under topic, to every other worker; never blocks, never raises."""
        message = {"topic": topic, "from": self.index, "body": body}
        data = json.dumps(message, separators=(",", ":")).encode()
        for other in self._others:
            try:
                other.send(data)
            except OSError:  # full, or too large: dropped (see the module's notes)
                pass

    def listen(self, handlers: dict[str, Handler]) -> None:
        """Calls handlers[topic](sender's index, body), on this event loop, for each
        message the other workers send. A handler raises ValueError, TypeError, KeyError
        or IndexError for a body it does not understand."""
        self._loop = asyncio.get_running_loop()
        self._handlers = handlers
        self._loop.add_reader(self._receiving.fileno(), self._read)

    def _read(self) -> None:
        while True:
            try:
                data = self._receiving.recv(_MAX_MESSAGE)
            except (BlockingIOError, InterruptedError):
                return
            try:
                message = json.loads(data)
                handler = self._handlers[message["topic"]]
                sender = message["from"]
                if not isinstance(sender, int):
                    raise TypeError("from: not a worker's index")
                handler(sender, message["body"])
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                log.warning("ignored a malformed message from another worker: %r", exc)

    def close(self) -> None:
        """Stops listening (the sockets belong to the supervisor's bus)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._receiving.fileno())
        self._loop = None
