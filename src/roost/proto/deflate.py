"""COMPRESS=DEFLATE (RFC 4978) as a sans-IO transport codec: raw deflate both ways.

Inflating is bounded: one call never returns more than `chunk` octets, keeping the rest of
the input for `more()`, so a small compressed "bomb" cannot balloon in memory before the
receiver's own limits see it.
"""

from __future__ import annotations

import zlib

from roost.proto.errors import ProtocolError

CHUNK = 256 * 1024


class Deflate:
    __slots__ = ("_in", "_out", "chunk")

    def __init__(self, *, chunk: int = CHUNK) -> None:
        # RFC 4978 §4: raw deflate (no zlib header), 32 KiB window for what we inflate.
        self._in = zlib.decompressobj(wbits=-15)
        self._out = zlib.compressobj(level=6, wbits=-15)
        self.chunk = chunk

    def compress(self, data: bytes) -> bytes:
        # A sync flush after every write: the client must be able to read each response now.
        return self._out.compress(data) + self._out.flush(zlib.Z_SYNC_FLUSH)

    def decompress(self, data: bytes) -> bytes:
        try:
            return self._in.decompress(self._in.unconsumed_tail + data, self.chunk)
        except zlib.error as exc:
            raise ProtocolError(f"invalid compressed data: {exc}") from None

    @property
    def pending(self) -> bool:
        return bool(self._in.unconsumed_tail)

    def more(self) -> bytes:
        return self.decompress(b"")
