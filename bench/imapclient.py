"""A small asyncio IMAP client for load generation: tagged commands, literals, IDLE.

Theory of operation
-------------------
One coroutine owns a connection; there is no background reader task. `send()` writes a
command and returns its tag without waiting (so callers may pipeline), `wait(tag)` reads
responses until that tag completes, and `command()` is the two together. Every complete
response (a line with its literals spliced in) is handed to the caller's `on_untagged`
callback or kept in the `Reply`, so a 100,000-message FETCH can be counted without being
kept in memory.

Only what the benchmarks need is parsed: the tagged status, response codes such as
APPENDUID, and the number in `* n EXISTS`. Literals are sent non-synchronising (RFC 7888
LITERAL+) when the server advertises it and synchronising otherwise.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

READ_SIZE = 256 * 1024
_LITERAL = re.compile(rb"\{(\d+)\+?\}$")
_EXISTS = re.compile(rb"^\* (\d+) EXISTS$", re.IGNORECASE)
_CODE = re.compile(r"^\[([^\]]*)\]")


class ImapError(Exception):
    """The server answered NO or BAD, or the connection broke."""


@dataclass(slots=True)
class Reply:
    tag: str
    status: str  # OK, NO or BAD
    text: str
    untagged: list[bytes] = field(default_factory=list)
    count: int = 0  # untagged responses seen while this command ran

    @property
    def code(self) -> str:
        """The response code in brackets, e.g. 'APPENDUID 1 42', or ''."""
        match = _CODE.match(self.text)
        return match.group(1) if match else ""


def exists_count(response: bytes) -> int | None:
    match = _EXISTS.match(response)
    return int(match.group(1)) if match else None


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()
        self.pos = 0  # start of the unread bytes in `buffer`
        self.capabilities: set[str] = set()
        self.done: dict[str, Reply] = {}  # completed tags nobody waited for yet
        self.pending: dict[str, Reply] = {}
        self._tags = 0

    # --- connection -----------------------------------------------------------------
    @classmethod
    async def connect(cls, host: str, port: int) -> ImapClient:
        reader, writer = await asyncio.open_connection(host, port, limit=READ_SIZE)
        client = cls(reader, writer)
        greeting = await client.read_response()
        if not greeting.upper().startswith((b"* OK", b"* PREAUTH")):
            raise ImapError(f"unexpected greeting {greeting[:80]!r}")
        client._note_capabilities(greeting)
        return client

    @classmethod
    async def login(cls, host: str, port: int, user: str, password: str) -> ImapClient:
        client = await cls.connect(host, port)
        reply = await client.command(f"LOGIN {quote(user)} {quote(password)}")
        if reply.code.upper().startswith("CAPABILITY"):
            client.capabilities = set(reply.code.upper().split()[1:])
        else:
            await client.refresh_capabilities()
        return client

    async def refresh_capabilities(self) -> None:
        await self.command("CAPABILITY", on_untagged=self._note_capabilities)

    def _note_capabilities(self, response: bytes) -> None:
        text = response.decode("ascii", "replace").upper()
        for marker in ("* CAPABILITY ", "[CAPABILITY "):
            if marker in text:
                words = text.split(marker, 1)[1].split("]", 1)[0].split()
                self.capabilities = set(words)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def logout(self) -> None:
        try:
            async with asyncio.timeout(10):
                await self.command("LOGOUT", check=False)
        except (ImapError, ConnectionError, TimeoutError):
            pass
        await self.close()

    # --- commands -------------------------------------------------------------------
    def next_tag(self) -> str:
        self._tags += 1
        return f"b{self._tags}"

    async def send(self, text: str, literals: Sequence[bytes] = ()) -> str:
        """Writes `text` (each `{}` in it stands for the next literal); returns the tag."""
        tag = self.next_tag()
        pieces = text.split("{}")
        if len(pieces) != len(literals) + 1:
            raise ValueError("one {} per literal")
        plus = "LITERAL+" in self.capabilities
        self.pending[tag] = Reply(tag, "", "")
        head = f"{tag} {pieces[0]}".encode()
        for literal, after in zip(literals, pieces[1:], strict=True):
            marker = f"{{{len(literal)}{'+' if plus else ''}}}\r\n".encode()
            self.writer.write(head + marker)
            if not plus:
                await self._continuation(tag)
            self.writer.write(literal)
            head = after.encode()
        self.writer.write(head + b"\r\n")
        await self.writer.drain()
        return tag

    async def _continuation(self, tag: str) -> None:
        await self.writer.drain()
        while True:
            response = await self.read_response()
            if response.startswith(b"+"):
                return
            if self._dispatch(response, None):
                raise ImapError(f"{tag} refused a literal: {self.done[tag].text}")

    async def wait(
        self,
        tag: str,
        *,
        on_untagged: Callable[[bytes], object] | None = None,
        check: bool = True,
    ) -> Reply:
        while tag not in self.done:
            self._dispatch(await self.read_response(), on_untagged)
        reply = self.done.pop(tag)
        if check and reply.status != "OK":
            raise ImapError(f"{reply.status} {reply.text}")
        return reply

    async def command(
        self,
        text: str,
        literals: Sequence[bytes] = (),
        *,
        on_untagged: Callable[[bytes], object] | None = None,
        check: bool = True,
    ) -> Reply:
        tag = await self.send(text, literals)
        return await self.wait(tag, on_untagged=on_untagged, check=check)

    def _dispatch(self, response: bytes, on_untagged: Callable[[bytes], object] | None) -> bool:
        """Files one response; True if it completed a pending command."""
        if response.startswith((b"*", b"+")):
            for reply in self.pending.values():
                reply.count += 1
            if on_untagged is not None:
                on_untagged(response)
            elif len(self.pending) == 1:
                next(iter(self.pending.values())).untagged.append(response)
            return False
        tag, _, rest = response.decode("utf-8", "replace").partition(" ")
        status, _, text = rest.partition(" ")
        if tag not in self.pending:
            raise ImapError(f"unexpected response {response[:80]!r}")
        completed = self.pending.pop(tag)
        completed.status, completed.text = status.upper(), text
        self.done[tag] = completed
        return True

    # --- IDLE (RFC 2177) ------------------------------------------------------------
    async def idle_start(self) -> str:
        tag = await self.send("IDLE")
        while True:
            response = await self.read_response()
            if response.startswith(b"+"):
                return tag
            if self._dispatch(response, None):
                raise ImapError(f"IDLE refused: {self.done[tag].text}")

    async def idle_done(self, tag: str) -> Reply:
        self.writer.write(b"DONE\r\n")
        await self.writer.drain()
        return await self.wait(tag)

    # --- reading --------------------------------------------------------------------
    async def read_response(self) -> bytes:
        """One complete response without its final CRLF, literals spliced in."""
        line = await self._read_line()
        match = _LITERAL.search(line)
        if match is None:
            return line
        parts = [line]
        while match is not None:
            parts.append(b"\r\n" + await self._read_exactly(int(match.group(1))))
            line = await self._read_line()
            parts.append(line)
            match = _LITERAL.search(line)
        return b"".join(parts)

    async def _fill(self) -> None:
        # Compact only when more bytes are needed: deleting after every line would move
        # the whole buffer once per FETCH response.
        del self.buffer[: self.pos]
        self.pos = 0
        data = await self.reader.read(READ_SIZE)
        if not data:
            raise ImapError("connection closed by the server")
        self.buffer += data

    async def _read_line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n", self.pos)) < 0:
            await self._fill()
        line = bytes(self.buffer[self.pos : end])
        self.pos = end + 2
        return line

    async def _read_exactly(self, size: int) -> bytes:
        while len(self.buffer) - self.pos < size:
            await self._fill()
        data = bytes(self.buffer[self.pos : self.pos + size])
        self.pos += size
        return data
