"""Out of office: Settings Oof Get and Set ([MS-ASCMD] §2.2.3.119) over the store, and the
replies delivery then sends (roost.autoreply, RFC 3834): one per sender in a while, none
to lists or software, through the outbound queue to a smarthost."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from roost.autoreply import compose, may_answer
from roost.proto.eas.wbxml import Element
from roost.store.api import OofReply, OofState, OutOfOffice
from tests.eas.scene import E, EasScene, find_all, first_text, run
from tests.smtp.harness import Harness, RemoteMx

T = "Settings"


def oof_set(state: str, *messages: Element, start: str = "", end: str = "") -> Element:
    times = [E(T, "StartTime", value=start), E(T, "EndTime", value=end)] if start else []
    return E(T, T, E(T, "Oof", E(T, "Set", E(T, "OofState", value=state), *times, *messages)))


def oof_message(audience: str, text: str, enabled: str = "1", body: str = "Text") -> Element:
    return E(
        T,
        "OofMessage",
        E(T, audience),
        E(T, "Enabled", value=enabled),
        E(T, "ReplyMessage", value=text),
        E(T, "BodyType", value=body),
    )


def oof_get() -> Element:
    return E(T, T, E(T, "Oof", E(T, "Get", E(T, "BodyType", value="Text"))))


def test_settings_oof_set_then_get(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        request = oof_set(
            "2",
            oof_message("AppliesToInternal", "Back Monday"),
            oof_message("AppliesToExternalUnknown", "<p>Away</p>", body="HTML"),
            oof_message("AppliesToExternalKnown", "", enabled="0"),
            start="2026-12-01T09:00:00.000Z",
            end="2026-12-08T09:00:00.000Z",
        )
        answer = (await s.command(T, request)).document
        assert texts_of(answer) == [("Status", "1"), ("Oof", "1")]
        stored = await s.store.get_out_of_office(s.account.id)
        assert stored == OutOfOffice(
            state=OofState.SCHEDULED,
            start=datetime(2026, 12, 1, 9, tzinfo=UTC),
            end=datetime(2026, 12, 8, 9, tzinfo=UTC),
            internal=OofReply(text="Back Monday"),
            external_unknown=OofReply(text="<p>Away</p>", html=True),
        )
        got = (await s.command(T, oof_get())).document
        assert first_text(got, T, "OofState") == "2"
        assert first_text(got, T, "StartTime") == "2026-12-01T09:00:00.000Z"
        assert first_text(got, T, "EndTime") == "2026-12-08T09:00:00.000Z"
        messages = [
            (m.children[0].tag, m.child_text(T, "Enabled"), m.child_text(T, "ReplyMessage"))
            for m in find_all(got, T, "OofMessage")
        ]
        assert messages == [
            ("AppliesToInternal", "1", "Back Monday"),
            ("AppliesToExternalKnown", "0", None),
            ("AppliesToExternalUnknown", "1", "<p>Away</p>"),
        ]
        # Turned off, the replies are kept for the next time (an audience not named stays).
        assert texts_of((await s.command(T, oof_set("0"))).document)[1] == ("Oof", "1")
        off = await s.store.get_out_of_office(s.account.id)
        assert off.state is OofState.OFF and off.internal == OofReply(text="Back Monday")
        # Scheduled without its times: a protocol error, and nothing changes.
        bad = (await s.command(T, oof_set("2"))).document
        assert texts_of(bad)[1] == ("Oof", "2")
        assert await s.store.get_out_of_office(s.account.id) == off

    run(tmp_path, scenario)


def texts_of(document: Element) -> list[tuple[str, str | None]]:
    return [
        (c.tag, c.text() if c.tag == "Status" else c.child_text(T, "Status"))
        for c in document.children
    ]


# ----- RFC 3834: what may be answered, and the answer ------------------------------------

ALICE = "alice@example.org"


def mail(*headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"From: carol@remote.test\r\nSubject: Lunch?\r\n{head}\r\nHi\r\n".encode()


@pytest.mark.parametrize(
    ("sender", "headers", "answered"),
    [
        ("carol@remote.test", (), True),
        ("carol@remote.test", ("Auto-Submitted: no",), True),
        ("", (), False),  # the null reverse-path: a bounce
        ("MAILER-DAEMON@remote.test", (), False),
        ("owner-cats@lists.test", (), False),
        ("cats-request@lists.test", (), False),
        (ALICE, (), False),  # herself
        ("carol@remote.test", ("Auto-Submitted: auto-replied",), False),
        ("carol@remote.test", ("Auto-Submitted: auto-generated; x=1",), False),
        ("carol@remote.test", ("Precedence: bulk",), False),
        ("carol@remote.test", ("Precedence: list",), False),
        ("carol@remote.test", ("Precedence: junk",), False),
        ("carol@remote.test", ("List-Id: Cats <cats.lists.test>",), False),
        ("carol@remote.test", ("List-Unsubscribe: <mailto:u@lists.test>",), False),
        ("carol@remote.test", ("X-Auto-Response-Suppress: DR, OOF",), False),
    ],
)
def test_what_may_be_answered(sender: str, headers: tuple[str, ...], answered: bool) -> None:
    assert may_answer(sender, ALICE, mail(*headers)) is answered


def test_the_reply_says_it_is_automatic_and_answers_the_original() -> None:
    original = mail("Message-ID: <m1@remote.test>", "References: <m0@remote.test>")
    reply = compose(
        account=ALICE,
        sender="carol@remote.test",
        original=original,
        reply=OofReply(text="Away until Monday.\nAsk Dan."),
        hostname="mail.example.org",
        now=datetime(2026, 12, 2, tzinfo=UTC),
    )
    head, _, body = reply.partition(b"\r\n\r\n")
    fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
    assert fields["From"] == f"<{ALICE}>" and fields["To"] == "<carol@remote.test>"
    assert fields["Subject"] == "Auto: Lunch?"
    assert fields["Auto-Submitted"] == "auto-replied"
    assert fields["In-Reply-To"] == "<m1@remote.test>"
    assert fields["References"] == "<m0@remote.test> <m1@remote.test>"
    assert fields["Message-ID"].endswith("@mail.example.org>")
    assert body == b"Away until Monday.\r\nAsk Dan.\r\n"


# ----- through SMTP, the queue and a smarthost --------------------------------------------


@pytest.fixture
def remote() -> Iterator[RemoteMx]:
    mx = RemoteMx()
    yield mx
    mx.stop()


@pytest.fixture
def roost(tmp_path: Path, remote: RemoteMx) -> Iterator[Harness]:
    harness = Harness(
        tmp_path / "data",
        smarthost="127.0.0.1",
        smarthost_port=remote.port,
        smarthost_starttls=False,
    )
    yield harness
    harness.close()


def send(roost: Harness, sender: str, data: bytes, *, lmtp: bool = False) -> None:
    if lmtp:
        with smtplib.LMTP("127.0.0.1", roost.lmtp, local_hostname="mta.test") as client:
            assert client.sendmail(sender, [ALICE], data) == {}
        return
    with roost.smtp_client(roost.smtp) as client:
        assert client.sendmail(sender, [ALICE], data) == {}


def test_one_reply_per_sender_through_the_smarthost_and_none_to_a_list(
    roost: Harness, remote: RemoteMx
) -> None:
    alice = roost.add_user(ALICE)
    away = OutOfOffice(state=OofState.ON, external_unknown=OofReply(text="Away this week."))
    roost.call(roost.store.set_out_of_office(alice.id, away))
    first = mail("Message-ID: <m1@remote.test>")
    send(roost, "carol@remote.test", first)
    send(roost, "carol@remote.test", mail("Message-ID: <m2@remote.test>"))  # again: no
    send(roost, "cats@lists.test", mail("List-Id: <cats.lists.test>", "Precedence: list"))
    send(roost, "dan@remote.test", mail(), lmtp=True)  # LMTP delivers the same way
    assert len(roost.messages(ALICE)) == 4  # every message delivered
    assert roost.wakes == 2
    roost.run_queue()
    replies = sorted(remote.received, key=lambda e: e.rcpt_tos)
    assert [e.rcpt_tos for e in replies] == [["carol@remote.test"], ["dan@remote.test"]]
    assert all(e.mail_from in ("", "<>") for e in replies)  # RFC 3834 §3.3: a null sender
    content = replies[0].original_content
    assert content is not None
    assert b"Auto-Submitted: auto-replied\r\n" in content
    assert b"In-Reply-To: <m1@remote.test>\r\n" in content
    assert content.endswith(b"\r\n\r\nAway this week.\r\n")
    assert roost.queue_entries() == []


def test_no_reply_when_off_or_for_an_audience_without_one(roost: Harness, remote: RemoteMx) -> None:
    alice = roost.add_user(ALICE)
    roost.add_user("bob@example.org")
    send(roost, "carol@remote.test", mail())  # never set
    internal_only = OutOfOffice(state=OofState.ON, internal=OofReply(text="Ask Bob."))
    roost.call(roost.store.set_out_of_office(alice.id, internal_only))
    send(roost, "carol@remote.test", mail())  # outside: no reply set for them
    send(roost, "bob@example.org", mail())  # a colleague: answered
    roost.run_queue()
    assert roost.queue_entries() == [] and remote.received == []
    [entry] = roost.messages("bob@example.org")
    assert b"Ask Bob." in entry[1]
