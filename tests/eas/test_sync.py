"""Sync for email: keys from the change log, windows, body preferences, the client's own
changes, and what another device (the store, as an IMAP session would use it) did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from roost.model import FLAGGED, SEEN, MailboxId, Uid
from roost.proto.eas.wbxml import Element
from roost.store.api import FlagMode
from tests.eas.scene import A, E, EasScene, find_all, first_text, message, run, texts

ASB = "AirSyncBase"


def body_preference(
    type_: int, truncation: int | None = None, *, preview: int = 0, all_or_none: bool = False
) -> Element:
    children = [E(ASB, "Type", value=str(type_))]
    if truncation is not None:
        children.append(E(ASB, "TruncationSize", value=str(truncation)))
    if all_or_none:
        children.append(E(ASB, "AllOrNone", value="1"))
    if preview:
        children.append(E(ASB, "Preview", value=str(preview)))
    return E(ASB, "BodyPreference", *children)


def sync_request(
    collection: MailboxId | str,
    key: str,
    *,
    window: int | None = None,
    options: tuple[Element, ...] = (),
    commands: tuple[Element, ...] = (),
    get_changes: bool | None = None,
    deletes_as_moves: bool | None = None,
) -> Element:
    children = [A("SyncKey", value=key), A("CollectionId", value=str(collection))]
    if deletes_as_moves is not None:
        children.append(A("DeletesAsMoves", value="1" if deletes_as_moves else "0"))
    if get_changes is not None:
        children.append(A("GetChanges", value="1" if get_changes else "0"))
    if window is not None:
        children.append(A("WindowSize", value=str(window)))
    if options:
        children.append(A("Options", *options))
    if commands:
        children.append(A("Commands", *commands))
    return A("Sync", A("Collections", A("Collection", *children)))


async def sync(s: EasScene, collection: MailboxId | str, key: str, **options: Any) -> Element:
    reply = await s.command("Sync", sync_request(collection, key, **options))
    (answer,) = find_all(reply.document, "AirSync", "Collection")
    return answer


async def start(s: EasScene, mailbox: MailboxId | None = None) -> str:
    await s.provision()
    answer = await sync(s, mailbox or s.inbox.id, "0")
    assert first_text(answer, "AirSync", "Status") == "1"
    assert answer.find("AirSync", "Commands") is None  # SyncKey 0 sends no items
    return first_text(answer, "AirSync", "SyncKey")


def ids(answer: Element, tag: str) -> list[str]:
    commands = answer.find("AirSync", "Commands")
    if commands is None:
        return []
    return [c.child_text("AirSync", "ServerId") or "" for c in commands.iter("AirSync", tag)]


def key_of(answer: Element) -> str:
    return first_text(answer, "AirSync", "SyncKey")


def more(answer: Element) -> bool:
    return answer.find("AirSync", "MoreAvailable") is not None


def test_window_and_more_available(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        for n in range(5):
            await s.append(message(f"m{n}"))
        key = await start(s)
        box = s.inbox.id
        pages = []
        while True:
            answer = await sync(s, box, key, window=2)
            pages.append(ids(answer, "Add"))
            key = key_of(answer)
            if not more(answer):
                break
        # newest first: a phone shows today's mail before yesterday's
        assert pages == [[f"{box}:5", f"{box}:4"], [f"{box}:3", f"{box}:2"], [f"{box}:1"]]
        quiet = await sync(s, box, key)
        assert key_of(quiet) == key and quiet.find("AirSync", "Commands") is None

    run(tmp_path, scenario)


def test_a_retried_request_gets_the_same_answer(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        for n in range(3):
            await s.append(message(f"m{n}"))
        key = await start(s)
        first = await sync(s, s.inbox.id, key)
        again = await sync(s, s.inbox.id, key)  # the device lost the first answer
        assert first == again
        await s.store.store_flags(s.inbox.id, [Uid(2)], FlagMode.ADD, frozenset({SEEN}))
        later = await sync(s, s.inbox.id, key_of(first))
        assert ids(later, "Change") == [f"{s.inbox.id}:2"]
        assert texts(later, "Email", "Read") == ["1"]
        assert await sync(s, s.inbox.id, key_of(first)) == later

    run(tmp_path, scenario)


def test_changes_fill_windows_in_passes_and_lose_nothing(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        for n in range(5):
            await s.append(message(f"m{n}"))
        key = key_of(await sync(s, box, await start(s)))
        uids = [Uid(n) for n in range(1, 6)]
        await s.store.store_flags(box, uids, FlagMode.ADD, frozenset({FLAGGED}))
        first = await sync(s, box, key, window=2)
        assert ids(first, "Change") == [f"{box}:1", f"{box}:2"] and more(first)
        # meanwhile another device changes a message this pass has already sent
        await s.store.store_flags(box, [Uid(1)], FlagMode.REMOVE, frozenset({FLAGGED}))
        second = await sync(s, box, key_of(first), window=2)
        assert ids(second, "Change") == [f"{box}:3", f"{box}:4"] and more(second)
        third = await sync(s, box, key_of(second), window=2)
        assert ids(third, "Change") == [f"{box}:5"] and not more(third)
        # the pass is over: the later change of uid 1 comes next, and only it
        fourth = await sync(s, box, key_of(third), window=2)
        assert ids(fourth, "Change") == [f"{box}:1"]
        flag = find_all(fourth, "Email", "Flag")[0]
        assert flag.children == ()  # an empty Flag: not flagged any more

    run(tmp_path, scenario)


def test_body_preference_truncation_and_preview(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        text = "Grüße aus Köln. " * 40
        await s.append(message("long", text))
        key = await start(s)
        answer = await sync(s, s.inbox.id, key, options=(body_preference(1, 21, preview=40),))
        body = find_all(answer, ASB, "Body")[0]
        assert body.child_text(ASB, "Type") == "1"
        assert body.child_text(ASB, "Truncated") == "1"
        assert body.child_text(ASB, "EstimatedDataSize") == str(len(text.encode()))
        data = body.child_text(ASB, "Data") or ""
        assert text.startswith(data) and 0 < len(data.encode()) <= 21  # whole characters
        preview = body.child_text(ASB, "Preview") or ""
        assert preview == text[:40].strip() or text.startswith(preview)
        assert 0 < len(preview) <= 40

    run(tmp_path, scenario)


def test_body_types(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        raw = message("plain <only>", "a < b")
        await s.append(raw)
        key = await start(s)
        html = await sync(s, s.inbox.id, key, options=(body_preference(2),))
        assert first_text(html, ASB, "Type") == "2"
        assert "<pre>a &lt; b</pre>" in first_text(html, ASB, "Data")
        nothing = await sync(s, s.inbox.id, key, options=(body_preference(1, 2, all_or_none=True),))
        body = find_all(nothing, ASB, "Body")[0]
        assert body.find(ASB, "Data") is None and body.child_text(ASB, "Truncated") == "1"
        mime = await sync(
            s, s.inbox.id, key, options=(body_preference(4), A("MIMESupport", value="2"))
        )
        data = find_all(mime, ASB, "Data")[0]
        assert first_text(mime, ASB, "Type") == "4" and data.value == raw

    run(tmp_path, scenario)


def test_client_changes_apply_and_are_not_echoed(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        for n in range(3):
            await s.append(message(f"m{n}"))
        key = key_of(await sync(s, box, await start(s)))
        read = A(
            "Change",
            A("ServerId", value=f"{box}:1"),
            A("ApplicationData", E("Email", "Read", value="1")),
        )
        flag = A(
            "Change",
            A("ServerId", value=f"{box}:2"),
            A("ApplicationData", E("Email", "Flag", E("Email", "Status", value="2"))),
        )
        missing = A(
            "Change",
            A("ServerId", value=f"{box}:99"),
            A("ApplicationData", E("Email", "Read", value="1")),
        )
        answer = await sync(s, box, key, commands=(read, flag, missing))
        assert ids(answer, "Change") == []
        responses = answer.find("AirSync", "Responses")
        assert responses is not None
        assert [
            (c.child_text("AirSync", "ServerId"), c.child_text("AirSync", "Status"))
            for c in responses.children
        ] == [(f"{box}:99", "8")]
        flags = {f.uid: f.flags for f in await s.store.fetch_flags(box, [Uid(1), Uid(2)])}
        assert flags[Uid(1)] == {SEEN} and flags[Uid(2)] == {FLAGGED}
        assert ids(await sync(s, box, key_of(answer)), "Change") == []

    run(tmp_path, scenario)


def test_deletes_move_to_trash_or_expunge(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        for n in range(2):
            await s.append(message(f"m{n}"))
        key = key_of(await sync(s, box, await start(s)))
        delete = A("Delete", A("ServerId", value=f"{box}:1"))
        answer = await sync(s, box, key, commands=(delete,))
        trash = await s.store.find_mailbox(s.account.id, "Trash")
        assert (await s.store.status(trash.id)).messages == 1
        delete = A("Delete", A("ServerId", value=f"{box}:2"))
        await sync(s, box, key_of(answer), commands=(delete,), deletes_as_moves=False)
        assert (await s.store.status(trash.id)).messages == 1
        assert (await s.store.status(box)).messages == 0

    run(tmp_path, scenario)


def test_fetch_inside_sync(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        await s.append(message("fetched", "whole body here"))
        key = key_of(await sync(s, box, await start(s)))
        fetch = A("Fetch", A("ServerId", value=f"{box}:1"))
        answer = await sync(s, box, key, commands=(fetch,))
        responses = answer.find("AirSync", "Responses")
        assert responses is not None
        assert first_text(responses, "AirSync", "Status") == "1"
        assert first_text(responses, ASB, "Data") == "whole body here"

    run(tmp_path, scenario)


def test_keys_that_cannot_be_answered(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        key = await start(s)
        v = key.split(".")[0][1:]
        for bad in ("garbage", "S1.0.1.0.0", f"S{v}.999.1.0.0", f"S{v}.0.0.0.0"):
            answer = await sync(s, box, bad)
            assert first_text(answer, "AirSync", "Status") == "3", bad
            assert key_of(answer) == "0"
        other = await s.store.create_account("mallory@example.org", "x")
        theirs = await s.store.find_mailbox(other.id, "INBOX")
        for collection in (str(theirs.id), "12345", "x"):
            answer = await sync(s, collection, key)
            assert first_text(answer, "AirSync", "Status") == "12", collection

    run(tmp_path, scenario)


def test_a_recreated_mailbox_starts_over(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = await s.store.create_mailbox(s.account.id, "Lists")
        key = await start(s, box.id)
        await s.store.delete_mailbox(s.account.id, "Lists")
        assert first_text(await sync(s, box.id, key), "AirSync", "Status") == "12"

    run(tmp_path, scenario)


def test_a_quiet_sync_with_heartbeat_waits_for_a_change(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        import asyncio

        box = s.inbox.id
        await s.append(message("one"))
        key = key_of(await sync(s, box, await start(s)))
        request = sync_request(box, key)
        long_poll = A("Sync", *request.children, A("HeartbeatInterval", value="120"))
        pending = asyncio.create_task(s.command("Sync", long_poll))
        await asyncio.sleep(0.3)
        assert not pending.done()
        await s.store.store_flags(box, [Uid(1)], FlagMode.ADD, frozenset({SEEN}))
        (answer,) = find_all((await pending).document, "AirSync", "Collection")
        assert ids(answer, "Change") == [f"{box}:1"]

    run(tmp_path, scenario)


def test_wait_and_heartbeat_bounds(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        key = await start(s)
        request = sync_request(s.inbox.id, key)
        for extra, limit in (
            (A("Wait", value="0"), "1"),
            (A("HeartbeatInterval", value="10"), "60"),
        ):
            document = (await s.command("Sync", A("Sync", *request.children, extra))).document
            assert first_text(document, "AirSync", "Status") == "14"
            assert first_text(document, "AirSync", "Limit") == limit

    run(tmp_path, scenario)


def test_conflicts_server_wins_unless_the_client_says(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        await s.append(message("contested"))
        key = key_of(await sync(s, box, await start(s)))
        # another device marks it read, then this one, not knowing, marks it unread
        await s.store.store_flags(box, [Uid(1)], FlagMode.ADD, frozenset({SEEN}))
        unread = A(
            "Change",
            A("ServerId", value=f"{box}:1"),
            A("ApplicationData", E("Email", "Read", value="0")),
        )
        answer = await sync(s, box, key, commands=(unread,))
        (flags,) = await s.store.fetch_flags(box, [Uid(1)])
        assert SEEN in flags.flags  # the server's version stayed ...
        assert ids(answer, "Change") == [f"{box}:1"]  # ... and goes back to the device
        assert texts(answer, "Email", "Read") == ["1"]
        client_wins = (A("Conflict", value="0"),)
        await sync(s, box, key, commands=(unread,), options=client_wins)
        (flags,) = await s.store.fetch_flags(box, [Uid(1)])
        assert SEEN not in flags.flags

    run(tmp_path, scenario)


def test_new_mail_comes_before_the_rest_of_the_backlog(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        for n in range(4):
            await s.append(message(f"old {n}"))
        first = await sync(s, box, await start(s), window=2)
        assert ids(first, "Add") == [f"{box}:4", f"{box}:3"] and more(first)
        await s.append(message("just arrived"))
        second = await sync(s, box, key_of(first), window=2)
        assert ids(second, "Add") == [f"{box}:5", f"{box}:2"] and more(second)
        third = await sync(s, box, key_of(second), window=2)
        assert ids(third, "Add") == [f"{box}:1"] and not more(third)
        # every held message is now in the device's range: a change to any is sent
        await s.store.store_flags(box, [Uid(1), Uid(5)], FlagMode.ADD, frozenset({SEEN}))
        fourth = await sync(s, box, key_of(third))
        assert ids(fourth, "Change") == [f"{box}:1", f"{box}:5"]

    run(tmp_path, scenario)


def test_filter_type_limits_how_far_back(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    async def scenario(s: EasScene) -> None:
        box = s.inbox.id
        now = datetime.now(UTC)
        await s.append(message("a year ago"), when=now - timedelta(days=365))
        await s.append(message("last month"), when=now - timedelta(days=20))
        await s.append(message("yesterday"), when=now - timedelta(days=1))
        await s.append(message("today"), when=now)
        key = await start(s)
        two_weeks = (A("FilterType", value="4"),)
        answer = await sync(s, box, key, options=two_weeks)
        assert ids(answer, "Add") == [f"{box}:4", f"{box}:3"] and not more(answer)
        # a wider filter later reaches further back, from where the range ends
        month = (A("FilterType", value="5"),)
        wider = await sync(s, box, key_of(answer), options=month)
        assert ids(wider, "Add") == [f"{box}:2"]
        # and a change to a message outside the range is not the device's business
        await s.store.store_flags(box, [Uid(1)], FlagMode.ADD, frozenset({SEEN}))
        quiet = await sync(s, box, key_of(wider), options=month)
        assert ids(quiet, "Change") == [] and ids(quiet, "Add") == []

    run(tmp_path, scenario)


def test_a_draft_added_by_the_client_goes_to_drafts(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        drafts = await s.store.find_mailbox(s.account.id, "Drafts")
        key = key_of(await sync(s, drafts.id, await start(s, drafts.id)))
        draft = b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: later\r\n\r\nhalf\r\n"
        add = A(
            "Add",
            A("ClientId", value="d1"),
            A(
                "ApplicationData",
                E(ASB, "Body", E(ASB, "Type", value="4"), E(ASB, "Data", value=draft.decode())),
                E("Email", "Read", value="1"),
            ),
        )
        answer = await sync(s, drafts.id, key, commands=(add,))
        responses = answer.find("AirSync", "Responses")
        assert responses is not None
        assert texts(responses, "AirSync", "Status") == ["1"]
        assert texts(responses, "AirSync", "ServerId") == [f"{drafts.id}:1"]
        assert ids(answer, "Add") == []  # the client has it: not sent back
        (flags,) = await s.store.fetch_flags(drafts.id, [Uid(1)])
        assert flags.flags == {"\\Draft", SEEN}
        assert ids(await sync(s, drafts.id, key_of(answer)), "Add") == []
        # anywhere but Drafts, Exchange's answer: Status 6
        inbox_key = key_of(await sync(s, s.inbox.id, "0"))
        refused = await sync(s, s.inbox.id, inbox_key, commands=(add,))
        assert texts(refused, "AirSync", "Status") == ["1", "6"]

    run(tmp_path, scenario)
