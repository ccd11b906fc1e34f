"""SendMail: what submission does, from a phone: only as oneself, local and remote
recipients, no Bcc: for them, one Sent copy, and a retry that sends nothing twice."""

from __future__ import annotations

from pathlib import Path

from roost.model import Uid
from roost.proto.eas.wbxml import Element
from tests.eas.scene import E, EasScene, first_text, run
from tests.imap.transcript import ADDRESS

C = "ComposeMail"


def send_mail(mime: bytes, client_id: str = "c1", *, save: bool = True) -> Element:
    children = [E(C, "ClientId", value=client_id)]
    if save:
        children.append(E(C, "SaveInSentItems"))
    children.append(E(C, "Mime", value=mime))
    return E(C, "SendMail", *children)


def mime(to: str, *, sender: str = ADDRESS, bcc: str | None = None) -> bytes:
    head = f"From: Alice <{sender}>\r\nTo: {to}\r\nSubject: from the phone\r\n"
    head += f"Bcc: {bcc}\r\n" if bcc else ""
    return (head + "Message-ID: <phone-1@example.org>\r\n\r\nSent from my phone\r\n").encode()


def test_send_to_local_and_remote_recipients(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        bob = await s.store.create_account("bob@example.org", "x")
        reply = await s.command(
            "SendMail",
            send_mail(mime("bob@example.org, carol@far.example", bcc="dave@far.example")),
        )
        assert reply.status == 200 and reply.body == b""
        bob_inbox = await s.store.find_mailbox(bob.id, "INBOX")
        (meta,) = await s.store.fetch_meta(bob_inbox.id, [Uid(1)])
        delivered = await s.store.read_blob(meta.blob_id)
        assert b"Sent from my phone" in delivered and b"Bcc:" not in delivered
        queued = await s.store.queue_entries()
        assert sorted(e.recipient for e in queued) == ["carol@far.example", "dave@far.example"]
        assert s.queue_wakes == 1
        sent = await s.store.find_mailbox(s.account.id, "Sent")
        (copy,) = await s.store.fetch_meta(sent.id, [Uid(1)])
        assert "\\Seen" in copy.flags
        assert b"Bcc: dave@far.example" in await s.store.read_blob(copy.blob_id)
        # the same request again (its answer was lost): nothing is sent twice
        again = await s.command(
            "SendMail",
            send_mail(mime("bob@example.org, carol@far.example", bcc="dave@far.example")),
        )
        assert first_text(again.document, C, "Status") == "118"
        assert (await s.store.status(bob_inbox.id)).messages == 1
        assert (await s.store.status(sent.id)).messages == 1

    run(tmp_path, scenario)


def test_a_retry_after_a_restart_is_not_sent_twice(tmp_path: Path) -> None:
    """The ClientIds sent are in the store: another worker, or the server after a restart,
    recognises the retry."""
    keys: list[str] = []
    request = send_mail(mime("carol@far.example"), client_id="retried-1")

    async def first(s: EasScene) -> None:
        keys.append(await s.provision())
        assert (await s.command("SendMail", request)).body == b""

    async def after_restart(s: EasScene) -> None:
        s.policy_key = keys[0]
        again = await s.command("SendMail", request)
        assert first_text(again.document, C, "Status") == "118"
        assert [e.recipient for e in await s.store.queue_entries()] == ["carol@far.example"]
        refused = await s.command("SendMail", send_mail(mime(""), client_id="empty-1"))
        assert first_text(refused.document, C, "Status") == "119"  # no recipient
        fixed = send_mail(mime("dan@far.example"), client_id="empty-1")
        assert (await s.command("SendMail", fixed)).body == b""  # the id was left free

    run(tmp_path, first)
    run(tmp_path, after_restart)


def test_send_refusals(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        cases = [
            (mime("bob@far.example", sender="mallory@example.org"), "130"),
            (mime("nobody-here@example.org"), "120"),  # an unknown user of a local domain
            (b"Subject: no addresses\r\n\r\nbody", "107"),
            (b"From: alice@example.org\r\nSubject: nobody\r\n\r\nbody", "119"),
        ]
        for n, (data, status) in enumerate(cases):
            reply = await s.command("SendMail", send_mail(data, client_id=f"x{n}"))
            assert first_text(reply.document, C, "Status") == status, data
        assert await s.store.queue_entries() == []
        sent = await s.store.find_mailbox(s.account.id, "Sent")
        assert (await s.store.status(sent.id)).messages == 0

    run(tmp_path, scenario)


def test_send_to_an_alias_of_several_accounts(tmp_path: Path) -> None:
    """Each account of the alias gets one copy, also one the message names directly; the
    phone's account, one of the alias's, may send as it."""

    async def scenario(s: EasScene) -> None:
        await s.provision()
        bob = await s.store.create_account("bob@example.org", "x")
        carol = await s.store.create_account("carol@example.org", "x")
        await s.store.add_alias("team@example.org", [bob.address, carol.address, ADDRESS])
        reply = await s.command(
            "SendMail",
            send_mail(mime("team@example.org, bob@example.org", sender="team@example.org")),
        )
        assert reply.status == 200 and reply.body == b""
        for account in (bob, carol, s.account):
            inbox = await s.store.find_mailbox(account.id, "INBOX")
            assert (await s.store.status(inbox.id)).messages == 1, account.address
        assert await s.store.queue_entries() == []

    run(tmp_path, scenario)
