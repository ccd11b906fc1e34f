"""COMPRESS=DEFLATE (RFC 4978) over a real socket, pipelined data included."""

from __future__ import annotations

import socket
import zlib

import pytest

from tests.e2e.conftest import PASSWORD, Server

pytestmark = pytest.mark.e2e


class Deflated:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.out = zlib.compressobj(wbits=-15)
        self.inflate = zlib.decompressobj(wbits=-15)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, "server closed the connection"
            self.buffer += self.inflate.decompress(chunk)
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line


def test_compressed_session(server: Server, user: str) -> None:
    with socket.create_connection((server.host, server.imap_port), timeout=10) as sock:
        f = sock.makefile("rb", buffering=0)  # unbuffered: compressed bytes must stay in the socket
        f.readline()
        sock.sendall(f'a LOGIN {user} "{PASSWORD}"\r\n'.encode())
        caps = f.readline()
        assert b"COMPRESS=DEFLATE" in caps
        # Pipeline the first compressed command right behind COMPRESS.
        out = zlib.compressobj(wbits=-15)
        pipelined = out.compress(b"c NOOP\r\n") + out.flush(zlib.Z_SYNC_FLUSH)
        sock.sendall(b"b COMPRESS DEFLATE\r\n" + pipelined)
        assert f.readline() == b"b OK DEFLATE active\r\n"
        z = Deflated(sock)
        z.out = out
        assert z.line() == b"c OK NOOP completed"
        body = b"Subject: squeezed\r\n\r\n" + b"hello " * 2000 + b"\r\n"
        z.send(b"d APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
        assert z.line().startswith(b"d OK [APPENDUID")
        z.send(b"e SELECT INBOX\r\n")
        while not (line := z.line()).startswith(b"e "):
            pass
        assert line.startswith(b"e OK")
        z.send(b"f FETCH 1 BODY.PEEK[]\r\n")
        assert z.line() == b"* 1 FETCH (BODY[] {%d}" % len(body)
        z.send(b"g COMPRESS DEFLATE\r\n")
        rest = z.line()
        while not rest.startswith(b"g "):
            rest = z.line()
        assert rest.startswith(b"g NO [COMPRESSIONACTIVE]")
        z.send(b"h LOGOUT\r\n")
        assert z.line().startswith(b"* BYE")
        f.close()
