"""FETCH of body sections parses a message's stored part tree once while it is in use
(fetch.part_tree), and answers the same the second time as the first (issue 17)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roost.imap.commands import fetch
from roost.proto import mime
from tests.imap.transcript import Scene, crlf

MESSAGE = crlf(
    """
    Subject: parts
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="b"

    --b
    Content-Type: text/plain

    first
    --b
    Content-Type: text/html

    <p>second</p>
    --b--
    """
)


def test_sections_of_one_message_parse_its_part_tree_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[bytes] = []
    deserialize = mime.deserialize_parts

    def counted(blob: bytes) -> mime.Part:
        parsed.append(blob)
        return deserialize(blob)

    monkeypatch.setattr(mime, "deserialize_parts", counted)
    fetch.part_tree.cache_clear()

    async def body() -> list[bytes]:
        async with Scene(tmp_path) as scene:
            await scene.login(1)
            client = await scene.client(1)
            await client.session.feed(b"a APPEND INBOX {%d+}\r\n%b\r\n" % (len(MESSAGE), MESSAGE))
            await client.session.feed(b"s SELECT INBOX\r\n")
            client.receive()
            client.pending.clear()
            answers = []
            for tag in (b"f1", b"f2"):
                await client.session.feed(
                    tag
                    + b" FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[HEADER.FIELDS (Subject)])\r\n"
                )
                answers.append("\r\n".join(client.receive()).encode())
                client.pending.clear()
            return answers

    first, second = asyncio.run(body())

    assert len(parsed) == 1
    assert b"BODY[1] {5}\r\nfirst" in first
    assert b"BODY[2.MIME] {27}\r\nContent-Type: text/html\r\n\r\n" in first
    assert first.replace(b"f1 OK", b"f2 OK") == second
