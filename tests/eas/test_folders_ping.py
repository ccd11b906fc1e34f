"""FolderSync from the account's mailbox log, and Ping: push on the store's hints."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from roost.delivery import analyse
from roost.http.eas import ping
from roost.model import SEEN, Uid
from roost.proto.eas.wbxml import Element
from roost.store.api import FlagMode, NewMessage
from roost.store.engines.sqlite import SqliteStore
from tests.eas.scene import DEVICE, E, EasScene, find_all, first_text, message, run
from tests.eas.test_sync import key_of, start, sync
from tests.imap.transcript import ADDRESS

FH = "FolderHierarchy"


def folder_sync(key: str) -> Element:
    return E(FH, "FolderSync", E(FH, "SyncKey", value=key))


def changes(document: Element) -> list[tuple[str, ...]]:
    out = []
    for change in find_all(document, FH, "Changes")[0].children:
        if change.tag == "Count":
            continue
        fields = [c.text() for c in change.children]
        out.append((change.tag, *fields))
    return out


def test_initial_folder_list_with_parents(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        projects = await s.store.create_mailbox(s.account.id, "Projects/Roost")
        parent = await s.store.find_mailbox(s.account.id, "Projects")
        document = (await s.command("FolderSync", folder_sync("0"))).document
        listed = {c[3]: c for c in changes(document)}
        assert first_text(document, FH, "Count") == str(len(listed))
        assert listed["INBOX"] == ("Add", str(s.inbox.id), "0", "INBOX", "2")
        assert listed["Roost"] == ("Add", str(projects.id), str(parent.id), "Roost", "12")
        assert listed["Trash"][4] == "4" and listed["Sent"][4] == "5"
        names = [c[3] for c in changes(document)]
        assert names.index("Projects") < names.index("Roost")  # parents first

    run(tmp_path, scenario)


def test_incremental_folder_sync_replays_the_mailbox_log(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        key = first_text((await s.command("FolderSync", folder_sync("0"))).document, FH, "SyncKey")
        quiet = (await s.command("FolderSync", folder_sync(key))).document
        assert first_text(quiet, FH, "SyncKey") == key and changes(quiet) == []
        account = s.account.id
        kept = await s.store.create_mailbox(account, "Kept")
        await s.store.create_mailbox(account, "Fleeting")
        await s.store.delete_mailbox(account, "Fleeting")
        await s.store.rename_mailbox(account, "Archive", "Old")
        archive_id = next(m.id for m in await s.store.list_mailboxes(account) if m.name == "Old")
        junk = await s.store.find_mailbox(account, "Junk")
        await s.store.delete_mailbox(account, "Junk")
        document = (await s.command("FolderSync", folder_sync(key))).document
        assert sorted(changes(document)) == sorted(
            [
                ("Add", str(kept.id), "0", "Kept", "12"),
                ("Update", str(archive_id), "0", "Old", "12"),
                ("Delete", str(junk.id)),
            ]
        )
        bad = (await s.command("FolderSync", folder_sync("nonsense"))).document
        assert first_text(bad, FH, "Status") == "9"

    run(tmp_path, scenario)


def ping_request(*folders: str, heartbeat: int = 60) -> Element:
    P = "Ping"
    items = [E(P, "Folder", E(P, "Id", value=f), E(P, "Class", value="Email")) for f in folders]
    return E(P, "Ping", E(P, "HeartbeatInterval", value=str(heartbeat)), E(P, "Folders", *items))


def test_ping_wakes_when_another_session_changes_a_watched_folder(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        await s.append(message("one"))
        key_of(await sync(s, box, await start(s)))
        pending = asyncio.create_task(s.command("Ping", ping_request(str(box))))
        await asyncio.sleep(0.3)
        assert not pending.done()
        changed_at = time.monotonic()
        await s.store.store_flags(box, [Uid(1)], FlagMode.ADD, frozenset({SEEN}))
        document = (await pending).document
        woke = time.monotonic() - changed_at
        assert first_text(document, "Ping", "Status") == "2"
        assert [f.text() for f in find_all(document, "Ping", "Folder")] == [str(box)]
        assert woke < 2

    run(tmp_path, scenario)


def test_ping_reports_what_changed_since_the_last_sync_at_once(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        key_of(await sync(s, box, await start(s)))
        await s.append(message("arrived between the Sync and the Ping"))
        document = (await s.command("Ping", ping_request(str(box)))).document
        assert first_text(document, "Ping", "Status") == "2"

    run(tmp_path, scenario)


def test_after_a_restart_ping_reports_what_changed_since_the_last_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The device's positions are in the store: a Ping served by another worker, or by the
    server after a restart, knows what the device last synced and answers at once."""
    monkeypatch.setattr(ping, "MIN_HEARTBEAT", 1)
    keys: list[str] = []

    async def before(s: EasScene) -> None:
        key_of(await sync(s, s.inbox.id, await start(s)))
        assert s.policy_key is not None
        keys.append(s.policy_key)

    async def meanwhile() -> None:  # the server is down; mail arrives through the CLI
        store = await SqliteStore.open(tmp_path)
        try:
            account = await store.find_account(ADDRESS)
            assert account is not None
            inbox = await store.find_mailbox(account.id, "INBOX")
            new = message("arrived while the server was down")
            await store.append(inbox.id, [NewMessage(data=new, parsed=analyse(new))])
        finally:
            await store.close()

    async def after(s: EasScene) -> None:
        s.policy_key = keys[0]
        box = str(s.inbox.id)
        document = (await s.command("Ping", ping_request(box, heartbeat=1))).document
        assert first_text(document, "Ping", "Status") == "2"
        assert [f.text() for f in find_all(document, "Ping", "Folder")] == [box]
        [device] = await s.store.list_devices(s.account.id)
        assert (device.device_id, device.device_type) == (DEVICE, "TestPhone")
        assert device.last_sync is not None  # the Sync before the restart

    run(tmp_path, before)
    asyncio.run(meanwhile())
    run(tmp_path, after)


def test_quiet_ping_and_a_change_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ping, "MIN_HEARTBEAT", 1)

    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        sent = await s.store.find_mailbox(s.account.id, "Sent")
        key_of(await sync(s, box, await start(s)))
        pending = asyncio.create_task(s.command("Ping", ping_request(str(box), heartbeat=1)))
        await asyncio.sleep(0.2)
        await s.append(message("not watched"), sent)  # a hint, but not for INBOX
        document = (await pending).document
        assert first_text(document, "Ping", "Status") == "1"

    run(tmp_path, scenario)


def test_ping_statuses_for_bad_requests(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        P = "Ping"
        too_short = (await s.command(P, ping_request(str(s.inbox.id), heartbeat=5))).document
        assert first_text(too_short, P, "Status") == "5"
        assert first_text(too_short, P, "HeartbeatInterval") == "60"
        unknown = (await s.command(P, ping_request("424242"))).document
        assert first_text(unknown, P, "Status") == "7"
        empty = (await s.command(P, None)).document
        assert first_text(empty, P, "Status") == "3"

    run(tmp_path, scenario)


def test_a_waiting_ping_does_not_hold_up_shutdown(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        key_of(await sync(s, box, await start(s)))
        pending = asyncio.create_task(s.command("Ping", ping_request(str(box), heartbeat=3000)))
        await asyncio.sleep(0.3)
        began = time.monotonic()
        assert s._server is not None
        await s._server.close()
        document = (await pending).document
        assert first_text(document, "Ping", "Status") == "1"
        assert time.monotonic() - began < 5
        s._server = None

    run(tmp_path, scenario)


def folder_change(command: str, key: str, **fields: str) -> Element:
    children = [E(FH, "SyncKey", value=key)]
    for name in ("ServerId", "ParentId", "DisplayName", "Type"):
        if name in fields:
            children.append(E(FH, name, value=fields[name]))
    return E(FH, command, *children)


def test_folder_changes_refused_as_the_spec_says(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        document = (await s.command("FolderSync", folder_sync("0"))).document
        key = first_text(document, FH, "SyncKey")
        sent = await s.store.find_mailbox(s.account.id, "Sent")

        async def status(command: str, **fields: str) -> str:
            reply = await s.command(command, folder_change(command, key, **fields))
            return first_text(reply.document, FH, "Status")

        assert await status("FolderDelete", ServerId=str(s.inbox.id)) == "3"
        assert (
            await status("FolderUpdate", ServerId=str(sent.id), ParentId="0", DisplayName="Outbox")
            == "3"
        )
        assert await status("FolderDelete", ServerId="999") == "4"
        assert await status("FolderCreate", ParentId="0", DisplayName="Sent", Type="12") == "2"
        assert await status("FolderCreate", ParentId="999", DisplayName="x", Type="12") == "5"
        assert await status("FolderCreate", ParentId="0", DisplayName="a/b", Type="12") == "10"
        reply = await s.command(
            "FolderCreate",
            folder_change("FolderCreate", key, ParentId="0", DisplayName="New", Type="12"),
        )
        new_key = first_text(reply.document, FH, "SyncKey")
        # the device's own change is not replayed to it ...
        quiet = (await s.command("FolderSync", folder_sync(new_key))).document
        assert changes(quiet) == []
        # ... and a device whose list is behind must catch up first
        assert await status("FolderCreate", ParentId="0", DisplayName="Other", Type="12") == "9"

    run(tmp_path, scenario)


def test_item_estimate_statuses(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        G = "GetItemEstimate"
        await s.append(message("one"))
        key = await start(s)

        async def estimate(collection: str, sync_key: str) -> tuple[str, str | None]:
            request = E(
                G,
                G,
                E(
                    G,
                    "Collections",
                    E(
                        G,
                        "Collection",
                        E("AirSync", "SyncKey", value=sync_key),
                        E(G, "CollectionId", value=collection),
                    ),
                ),
            )
            document = (await s.command(G, request)).document
            found = find_all(document, G, "Estimate")
            return first_text(document, G, "Status"), found[0].text() if found else None

        box = str(s.inbox.id)
        assert await estimate(box, key) == ("1", "1")
        assert await estimate(box, "0") == ("3", None)
        assert await estimate(box, "bogus") == ("4", None)
        assert await estimate("31337", key) == ("2", None)

    run(tmp_path, scenario)
