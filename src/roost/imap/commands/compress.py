"""COMPRESS DEFLATE (RFC 4978): a phone on a slow link trades a little CPU for bandwidth."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.imap.reply import ANSWERED, Reply, bad, no
from roost.proto.imap import commands as c
from roost.proto.imap.responses import tagged

if TYPE_CHECKING:
    from roost.imap.session import Session


async def compress(s: Session, cmd: c.Compress) -> Reply:
    if cmd.mechanism != "DEFLATE":
        return bad(f"Unsupported compression mechanism {cmd.mechanism}")
    if s.conn.compressing:
        return no("Compression is already active", "COMPRESSIONACTIVE")
    # The OK is the last uncompressed octets; whatever the client pipelined after the
    # command is already compressed (RFC 4978 §3).
    await s.send(tagged(cmd.tag, "OK", "DEFLATE active"))
    await s.flush()
    s.receiver.receive_data(s.conn.start_compression(s.receiver.take_buffered()))
    return ANSWERED
