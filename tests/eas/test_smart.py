"""SmartReply and SmartForward through the endpoint: completed from the store, sent as
SendMail sends, and the original marked for every device."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from roost.model import ANSWERED, Uid
from roost.proto.eas.wbxml import Element
from tests.eas.scene import E, EasScene, first_text, message, run

C = "ComposeMail"


def smart(
    command: str, item: str, mime: bytes, *, replace: bool = False, client_id: str = "c"
) -> Element:
    children = [E(C, "ClientId", value=f"{command}-{client_id}"), E(C, "SaveInSentItems")]
    if replace:
        children.append(E(C, "ReplaceMime"))
    children += [E(C, "Source", E(C, "ItemId", value=item)), E(C, "Mime", value=mime)]
    return E(C, command, *children)


REPLY = b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Re: plans\r\n\r\nYes.\r\n"


def test_reply_and_forward(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        bob = await s.store.create_account("bob@example.org", "x")
        bob_inbox = await s.store.find_mailbox(bob.id, "INBOX")
        await s.append(message("plans", "Shall we meet on Friday?"))
        item = f"{s.inbox.id}:1"
        assert (await s.command("SmartReply", smart("SmartReply", item, REPLY))).body == b""
        (meta,) = await s.store.fetch_meta(bob_inbox.id, [Uid(1)])
        sent = email.message_from_bytes(
            await s.store.read_blob(meta.blob_id), policy=email.policy.default
        )
        own, quoted = sent.iter_parts()  # type: ignore[attr-defined]
        assert own.get_content().strip() == "Yes."
        assert "> Shall we meet on Friday?" in quoted.get_content()
        (flags,) = await s.store.fetch_flags(s.inbox.id, [Uid(1)])
        assert ANSWERED in flags.flags

        forward = REPLY.replace(b"Re: plans", b"Fwd: plans")
        assert (await s.command("SmartForward", smart("SmartForward", item, forward))).body == b""
        (flags,) = await s.store.fetch_flags(s.inbox.id, [Uid(1)])
        assert "$Forwarded" in flags.flags
        (meta,) = await s.store.fetch_meta(bob_inbox.id, [Uid(2)])
        forwarded = email.message_from_bytes(
            await s.store.read_blob(meta.blob_id), policy=email.policy.default
        )
        assert "Forwarded message" in list(forwarded.iter_parts())[1].get_content()  # type: ignore[attr-defined]

        whole = REPLY.replace(b"Yes.", b"All of it, as written.")
        reply = smart("SmartReply", item, whole, replace=True, client_id="again")
        assert (await s.command("SmartReply", reply)).body == b""
        (meta,) = await s.store.fetch_meta(bob_inbox.id, [Uid(3)])
        assert (await s.store.read_blob(meta.blob_id)).endswith(b"All of it, as written.\r\n")
        sent_box = await s.store.find_mailbox(s.account.id, "Sent")
        assert (await s.store.status(sent_box.id)).messages == 3

    run(tmp_path, scenario)


def test_an_original_that_is_gone(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        for item in (f"{s.inbox.id}:42", "junk", "999:1"):
            reply = await s.command("SmartReply", smart("SmartReply", item, REPLY))
            assert first_text(reply.document, C, "Status") == "150", item
        assert await s.store.queue_entries() == []

    run(tmp_path, scenario)
