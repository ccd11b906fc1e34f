"""The COMPRESS=DEFLATE codec: round trips, and inflation stays bounded."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.deflate import Deflate
from roost.proto.errors import ProtocolError


@given(st.lists(st.binary(max_size=2000), max_size=10))
def test_what_one_side_compresses_the_other_inflates(chunks: list[bytes]) -> None:
    server, client = Deflate(), Deflate()
    wire = b"".join(server.compress(chunk) for chunk in chunks)
    out = client.decompress(wire)
    while client.pending:
        out += client.more()
    assert out == b"".join(chunks)


def test_a_bomb_comes_out_a_chunk_at_a_time() -> None:
    bomb = zlib.compressobj(wbits=-15)
    wire = bomb.compress(b"\0" * 50_000_000) + bomb.flush(zlib.Z_SYNC_FLUSH)
    assert len(wire) < 100_000
    codec = Deflate(chunk=1 << 20)
    first = codec.decompress(wire)
    assert len(first) == 1 << 20 and codec.pending
    total = len(first)
    while codec.pending:
        piece = codec.more()
        assert len(piece) <= 1 << 20
        total += len(piece)
    assert total == 50_000_000


def test_garbage_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        Deflate().decompress(b"\xff\xff\xff\xff not deflate")
