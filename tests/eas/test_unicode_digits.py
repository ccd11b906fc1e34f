"""Ids with Unicode digits ("²" is a digit to str.isdigit(), and int() refuses it) get the
status of an unknown folder or item, never an exception (issue 9, found by
tests/proto/test_codec_fuzz.py in the request parsers)."""

from __future__ import annotations

from pathlib import Path

from tests.eas.scene import E, EasScene, first_text, run, texts
from tests.eas.test_folders_ping import ping_request
from tests.eas.test_sync import start, sync


def test_ping_of_a_folder_id_in_unicode_digits(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        answer = (await s.command("Ping", ping_request("²"))).document
        assert first_text(answer, "Ping", "Status") == "7"  # the folder hierarchy changed

    run(tmp_path, scenario)


def test_sync_of_a_collection_id_in_unicode_digits(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await start(s)
        answer = await sync(s, "²", "0")
        assert first_text(answer, "AirSync", "Status") == "12"  # folder hierarchy changed

    run(tmp_path, scenario)


def test_attachment_reference_in_unicode_digits(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        io = "ItemOperations"
        reference = E("AirSyncBase", "FileReference", value="1:1:²")
        fetch = E(io, io, E(io, "Fetch", E(io, "Store", value="Mailbox"), reference))
        answer = (await s.command(io, fetch)).document
        # The request was read (Status 1), and no such attachment (15), not HTTP 500.
        assert texts(answer, io, "Status") == ["1", "15"]

    run(tmp_path, scenario)
