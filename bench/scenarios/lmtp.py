"""LMTP delivery (RFC 2033): 10,000 messages over one LMTP session, one recipient each,
in messages per second. Measured where the server accepts LMTP on its LMTP port;
otherwise reported as not yet supported.
"""

from __future__ import annotations

import asyncio
import time

from bench.corpus import Corpus
from bench.scenarios.base import Context, Figure, Scenario, not_yet


class LmtpError(Exception):
    pass


async def reply(reader: asyncio.StreamReader) -> str:
    """One (possibly multi-line) SMTP reply; raises unless 2xx/3xx."""
    while True:
        line = (await reader.readline()).decode("utf-8", "replace")
        if not line:
            raise LmtpError("connection closed")
        if line[3:4] != "-":
            if line[:1] not in "23":
                raise LmtpError(line.strip())
            return line


def dot_stuff(message: bytes) -> bytes:
    body = message.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


async def deliver(host: str, port: int, recipient: str, corpus: Corpus) -> float:
    # Made before the clock starts: the figure is the server's, not the load generator's.
    messages = [dot_stuff(corpus.message(i)) for i in range(len(corpus))]
    envelope = f"MAIL FROM:<bench@bench.test>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        await reply(reader)
        writer.write(b"LHLO bench.test\r\n")
        await reply(reader)
        start = time.perf_counter()
        for message in messages:
            writer.write(envelope)
            for _ in range(3):
                await reply(reader)
            writer.write(message)
            await reply(reader)  # one reply per recipient after the final dot
        elapsed = time.perf_counter() - start
        writer.write(b"QUIT\r\n")
        await writer.drain()
    finally:
        writer.close()
    return len(corpus) / elapsed


async def accepts(host: str, port: int) -> bool:
    """True if an LMTP server greets on host:port."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    try:
        async with asyncio.timeout(5):
            await reply(reader)
        return True
    except (LmtpError, OSError, TimeoutError):
        return False
    finally:
        writer.close()


async def run(ctx: Context, rep: int) -> list[Figure]:
    total = ctx.scale.n(10_000)
    key = f"LMTP delivery of {total}"
    if ctx.lmtp_port is None or not await accepts(ctx.host, ctx.lmtp_port):
        return not_yet([(key, "msg/s", "higher")], "not yet: no LMTP listener")
    corpus = Corpus(ctx.seed + 700 + rep, total)
    rate = await deliver(ctx.host, ctx.lmtp_port, ctx.user("lmtp"), corpus)
    return [Figure(key, rate, "msg/s", "higher")]


SCENARIO = Scenario("lmtp", run)
