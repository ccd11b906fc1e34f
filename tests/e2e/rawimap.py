"""A deliberately small IMAP client for tests that must see the exact lines a server sends."""

from __future__ import annotations

import itertools
import re
import socket


class RawImap:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rwb")
        self.tags = (f"t{n}" for n in itertools.count(1))
        self.greeting = self.file.readline()

    def command(self, text: str | bytes) -> tuple[str, list[bytes]]:
        """Sends one command; returns its tagged line and the untagged lines before it
        (a literal's bytes are appended to the line that announced it)."""
        tag = next(self.tags)
        data = text.encode() if isinstance(text, str) else text
        self.file.write(tag.encode() + b" " + data + b"\r\n")
        self.file.flush()
        untagged: list[bytes] = []
        while True:
            line = self.read_line()
            if line.startswith(tag.encode() + b" "):
                return line.decode(errors="replace").rstrip("\r\n"), untagged
            untagged.append(line.rstrip(b"\r\n"))

    def read_line(self) -> bytes:
        line = self.file.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        while (m := re.search(rb"\{(\d+)\}\r\n$", line)) is not None:
            line += self.file.read(int(m.group(1)))
            line += self.file.readline()
        return line

    def ok(self, text: str | bytes) -> list[bytes]:
        status, untagged = self.command(text)
        assert status.split()[1] == "OK", (text, status, untagged)
        return untagged

    def close(self) -> None:
        try:
            self.command("LOGOUT")
        except OSError:
            pass
        self.file.close()
        self.sock.close()
