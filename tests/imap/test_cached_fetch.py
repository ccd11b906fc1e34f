"""FETCH of stored items (roost.imap.cached_fetch) answers byte for byte what the general
path of fetch.py answers for the same items: many messages and item lists, \\Recent for
some of them, MODSEQ with CONDSTORE, UID FETCH of an unordered set, UIDONLY, and messages
expunged by another session between the view's resolve and the store's read."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from roost.delivery import analyse
from roost.imap import cached_fetch
from roost.proto.imap import commands as c
from roost.store.api import NewMessage
from tests.imap.transcript import Client, Scene

ITEMS = (
    "UID",
    "FLAGS",
    "MODSEQ",
    "INTERNALDATE",
    "RFC822.SIZE",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY",
    "PREVIEW",
    "SAVEDATE",
    "EMAILID",
    "THREADID",
)
SYNC = "UID FLAGS ENVELOPE BODYSTRUCTURE"
KEYWORDS = ("$Forwarded", "Work", "$Junk")


def message(n: int, rng: random.Random) -> NewMessage:
    """Messages that differ in every stored item: structure, headers, flags, dates, zones."""
    subject = rng.choice(["Lunch", "Réunion", 'Quote "this"', "", f"Re: {n}"])
    headers = f"From: Bob {n} <bob{n}@example.org>\r\nTo: alice@example.org\r\n"
    if subject:
        headers += f"Subject: {subject}\r\n"
    if n % 3:
        headers += f"Date: Mon, 7 Feb 1994 21:52:{n % 60:02d} -0800\r\nMessage-ID: <m{n}@x>\r\n"
    if n % 4 == 0:
        body = f"Line one {n}\r\nline two é\r\n"
        data = headers + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
    elif n % 4 == 1:
        data = (
            headers + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            f"Content-Type: text/plain\r\n\r\nHello {n}\r\n--b\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            "\r\nAAEC\r\n--b--\r\n"
        )
    else:
        data = headers + "\r\n" + ("" if n % 4 == 2 else "x" * (n % 300))
    zone = timezone(timedelta(minutes=rng.choice([0, -480, 330, 60])))
    flags = {f for f in ("\\Seen", "\\Flagged", "\\Answered", *KEYWORDS) if rng.random() < 0.3}
    return NewMessage(
        data=data.encode(),
        parsed=analyse(data.encode()),
        flags=frozenset(flags),
        internaldate=datetime(2024, 1, 1, tzinfo=UTC).astimezone(zone)
        + timedelta(hours=n * 7, seconds=n),
    )


async def both(client: Client, command: str, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """What the command answers through the stored-items path; asserts the general path
    answers the same bytes, and returns them."""
    fast = await answer(client, command)
    with monkeypatch.context() as m:
        m.setattr(cached_fetch, "plan", lambda items, uidonly: None)
        general = await answer(client, command)
    assert fast == general, command
    return fast


async def answer(client: Client, command: str) -> bytes:
    client.conn.output.clear()
    await client.session.feed(command.encode() + b"\r\n")
    out = bytes(client.conn.output)
    client.conn.output.clear()
    assert out.endswith(b" completed\r\n"), out[-300:]
    return out


async def filled(s: Scene, count: int) -> list[int]:
    """count messages in INBOX, the first half seen as recent by connection 1 only."""
    rng = random.Random(5)
    inbox = await s.store.find_mailbox(s.account.id, "INBOX")
    half = [message(n, rng) for n in range(count // 2)]
    await s.store.append(inbox.id, half)
    await s.login(1, 2)
    await answer(s.clients["1"], "s1 SELECT INBOX")  # claims the first half as \Recent
    rest = [message(n, rng) for n in range(count // 2, count)]
    result = await s.store.append(inbox.id, rest)
    await answer(s.clients["2"], "s2 SELECT INBOX")  # the second half is recent for 2
    return [*range(1, count // 2 + 1), *result.uids]


def test_every_item_list_renders_as_the_general_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as s:
            await filled(s, 300)
            one, two = s.clients["1"], s.clients["2"]
            await answer(two, "k UID STORE 1:40 +FLAGS (Other \\Deleted)")
            await answer(one, "n NOOP")  # hears of it now, not after the first FETCH below
            for client in (one, two):
                # CONDSTORE on first: the first FETCH MODSEQ also reports HIGHESTMODSEQ.
                await answer(client, "c FETCH 1 (MODSEQ)")
            combos = [
                *((i,) for i in ITEMS),
                *itertools.combinations(ITEMS, 2),
                tuple(ITEMS),
                tuple(reversed(ITEMS)),
                ("FLAGS", "UID", "FLAGS"),
            ]
            for client in (one, two):
                for number, items in enumerate(combos):
                    out = await both(
                        client, f"f{number} FETCH 1:* ({' '.join(items)})", monkeypatch
                    )
                    assert out.count(b" FETCH (") == 300
            recent = await both(two, f"r FETCH 1:* ({SYNC})", monkeypatch)
            assert recent.count(b"\\Recent") == 150
            assert b"* 160 FETCH (UID 160 FLAGS (" in recent
            assert b"BODYSTRUCTURE ((" in recent  # multipart
            await answer(two, "e ENABLE UTF8=ACCEPT")
            await both(two, "u FETCH 1:* (PREVIEW ENVELOPE)", monkeypatch)

    asyncio.run(main())


def test_condstore_uid_fetch_order_and_uidonly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as s:
            await filled(s, 60)
            two = s.clients["2"]
            await answer(two, "e ENABLE CONDSTORE")
            await answer(two, "k STORE 3:9 +FLAGS.SILENT (\\Flagged)")
            out = await both(two, f"a FETCH 1:* ({SYNC} MODSEQ)", monkeypatch)
            assert out.count(b" MODSEQ (") == 60
            out = await both(two, "b UID FETCH 50,3,7:5,*,1 (FLAGS RFC822.SIZE)", monkeypatch)
            lines = [line.split(b" ")[1] for line in out.split(b"\r\n")[:-2]]
            assert lines == [b"1", b"3", b"5", b"6", b"7", b"50", b"60"]  # ascending by UID
            await both(two, "c UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)", monkeypatch)
            await answer(two, "d ENABLE UIDONLY")
            out = await both(two, f"e UID FETCH 10:20 ({SYNC})", monkeypatch)
            assert out.startswith(b"* 10 UIDFETCH (UID 10 FLAGS (")

    asyncio.run(main())


def test_messages_expunged_after_resolve_are_left_out_by_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as s:
            await filled(s, 40)
            one, two = s.clients["1"], s.clients["2"]
            await answer(one, "d STORE 2,5:6 +FLAGS.SILENT (\\Deleted)")
            await answer(one, "x EXPUNGE")
            # Connection 2 still has them in its view (RFC 9051 §7.5.1: no EXPUNGE while
            # answering FETCH by sequence number); the store no longer has them.
            out = await both(two, f"a FETCH 1:* ({SYNC})", monkeypatch)
            assert out.count(b" FETCH (") == 37
            assert b"* 2 FETCH" not in out and b"* 5 FETCH" not in out
            assert b"* 7 FETCH (UID 7 " in out
            assert b"EXPUNGE" not in out

    asyncio.run(main())


def test_body_sections_keep_the_general_path() -> None:
    assert cached_fetch.plan(("UID", "FLAGS"), uidonly=False) is not None
    assert cached_fetch.plan(("UID", "RFC822"), uidonly=False) is None
    assert cached_fetch.plan(("RFC822.HEADER",), uidonly=False) is None
    peek = c.FetchBody(section=c.Section(specifier="HEADER"), peek=True)
    assert cached_fetch.plan(("UID", peek), uidonly=False) is None
