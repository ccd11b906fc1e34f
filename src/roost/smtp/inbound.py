"""Inbound SMTP (RFC 5321, port 25): mail from anyone, for the local domains only.

Theory of operation
-------------------
RCPT decides: an address in a local domain with an account (its own, an alias's, or the
domain's catch-all, roost.smtp.local) is accepted; an unknown address in a local domain
is refused with 550 5.1.1; any other domain is refused with
550 5.7.1, whoever asks (this port never relays; submission is for that). DATA checks
the bytes (RFC 5321 §2.3.8, see roost.smtp.message), then delivers a copy with its own
Received: field into each recipient's INBOX, each in its own transaction. An account
gets one copy however many recipients name it; an alias of several accounts gets one
reply for them all (roost.smtp.local.group_reply), its failed accounts queued for retry
when the others have the message.

One DATA reply answers for every recipient, so: if every delivery succeeded, 250. If
none did, the first failure's reply (a 4xx makes the client try again later). If some
did, 250, and the failed recipients go to the outbound queue, which retries local
delivery and sends a delivery status notification if it gives up: the mail is never
lost for the others, nor silently for the failed ones.

Once a recipient has the message, its out-of-office reply, if it set one and the message
may be answered, is queued (roost.autoreply); LMTP delivers through the same path.

The size limit is aiosmtpd's data_size_limit: past it, DATA keeps reading to the end but
stores nothing more, then answers 552.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiosmtpd.smtp import SMTP, Envelope, Session

from roost.auth.accounts import normalise_address
from roost.autoreply import out_of_office
from roost.errors import MailError
from roost.model import AccountId
from roost.smtp.local import (
    Group,
    Local,
    Malformed,
    Remote,
    Unknown,
    classify,
    deliver_to_inbox,
    group_reply,
    members_of,
    tag_mailbox,
)
from roost.smtp.policy import Policy, new_queue_id, sender_of
from roost.store.api import Account

__all__ = ["InboundPolicy"]

log = logging.getLogger("roost.smtp")


class InboundPolicy(Policy):
    protocol = "ESMTP"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.too_many_recipients(envelope)
        if refusal is not None:
            return refusal
        recipient = await classify(self.store, address, self.config)
        match recipient:
            case Local(account, tag):
                # A plus-address is kept whole: its tag may choose the mailbox at DATA.
                envelope.rcpt_tos.append(
                    account.address if tag is None else normalise_address(address)
                )
                envelope.rcpt_options.extend(options)
                return "250 2.1.5 Recipient OK"
            case Group(normalised):  # expanded again at DATA, into its accounts
                envelope.rcpt_tos.append(normalised)
                envelope.rcpt_options.extend(options)
                return "250 2.1.5 Recipient OK"
            case Unknown(normalised):
                return f"550 5.1.1 <{normalised}>: no such user here"
            case Remote(normalised):
                domain = normalised.rpartition("@")[2]
                return (
                    f"550 5.7.1 <{normalised}>: relaying denied; {domain} is not a domain "
                    "of this server (authenticated users submit on the submission port)"
                )
            case Malformed():
                return "553 5.1.3 Malformed recipient address"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data, refusal = self.check_data(envelope)
        if refusal is not None:
            return refusal
        queue_id = new_queue_id()
        replies = await self.deliver_each(server, session, envelope, data, queue_id)
        failed = [(rcpt, reply) for rcpt, reply in replies if not reply.startswith("2")]
        if not failed:
            return f"250 2.0.0 OK, delivered as {queue_id}"
        if len(failed) == len(replies):
            transient = [reply for _, reply in failed if reply.startswith("4")]
            return transient[0] if transient else failed[0][1]
        trace = self.received(server, session, self.protocol, queue_id, None)
        await self.queue_for_retry(envelope, trace + data, [rcpt for rcpt, _ in failed])
        return f"250 2.0.0 OK, delivered as {queue_id} (some recipients queued)"

    async def deliver_each(
        self, server: SMTP, session: Session, envelope: Envelope, data: bytes, queue_id: str
    ) -> list[tuple[str, str]]:
        """(recipient, reply) for each envelope recipient, in order. An account named
        twice (or reached through two aliases) gets the message once into each mailbox,
        and each recipient its reply."""
        single = len(envelope.rcpt_tos) == 1
        replies: list[tuple[str, str]] = []
        done: dict[tuple[AccountId, str | None], str] = {}
        for address in envelope.rcpt_tos:
            recipient = await classify(self.store, address, self.config)
            members = members_of(recipient)
            if not members:  # deleted since RCPT
                replies.append((address, f"550 5.1.1 <{address}>: no such user here"))
                continue
            trace = self.received(
                server, session, self.protocol, queue_id, address if single else None
            )
            fresh: list[tuple[Local, str]] = []
            for member in members:
                mailbox = tag_mailbox(member, self.config)
                key = (member.account.id, mailbox)
                if key in done:
                    continue
                shown = member.account.address if isinstance(recipient, Group) else address
                reply = await deliver_to_inbox(self.store, member.account, trace + data, mailbox)
                done[key] = reply
                fresh.append((member, reply))
                self.log_delivery(server, envelope, shown, data, reply)
                if reply.startswith("2"):
                    await self.auto_reply(member.account, sender_of(envelope), data)
            outcome = [done[(m.account.id, tag_mailbox(m, self.config))] for m in members]
            if not isinstance(recipient, Group):
                replies.append((address, outcome[0]))
                continue
            reply = group_reply(recipient, outcome)
            failed = [m.account.address for m, r in fresh if not r.startswith("2")]
            if reply.startswith("2") and failed:
                await self.queue_for_retry(envelope, trace + data, failed)
            replies.append((address, reply))
        return replies

    async def auto_reply(self, account: Account, sender: str, data: bytes) -> None:
        """The account's out-of-office reply, if due (roost.autoreply). The message is
        delivered already: a store refusal here is logged and changes nothing of that."""
        try:
            queued = await out_of_office(
                self.store,
                account,
                sender,
                data,
                hostname=self.config.hostname,
                now=datetime.now(UTC),
            )
        except MailError as exc:
            log.warning("out-of-office reply of %s not queued: %s", account.address, exc.text)
            return
        if queued:
            self.services.wake_queue()

    async def queue_for_retry(self, envelope: Envelope, data: bytes, recipients: list[str]) -> None:
        """Hands recipients whose delivery failed to the outbound queue, which retries."""
        sender = sender_of(envelope)
        await self.store.enqueue(data, sender, recipients)
        log.info("queued %d recipient(s) from <%s> for retry", len(recipients), sender)
        self.services.wake_queue()
