"""Message submission (RFC 6409; port 587 with STARTTLS, 465 with implicit TLS, RFC 8314).

Theory of operation
-------------------
Only an authenticated account may submit (aiosmtpd's auth_required answers 530 before
MAIL). AUTH PLAIN and LOGIN are offered over TLS, or from loopback when the configuration
allows it (roost.smtp.protocol decides per connection). The account may only send as
itself: the envelope sender (at MAIL) and every From: address (at DATA) must be its
address, else 553/550 5.7.1 saying so.

An accepted message is, in this order, each step durable before the next:
1. queued for the remote recipients, with a Received: field and without Bcc: (RFC 6409
   §8.1 lets the MSA remove it; the recipients must not see it);
2. delivered to the local recipients' INBOX (a failure there goes to the queue too);
3. stored \\Seen in the sender's Sent mailbox, Bcc: kept (or added from the envelope),
   unless the client already APPENDed the same message (roost.smtp.sent).
Then 250. A failure in step 3 is logged, not reported: the mail itself is on its way.
"""

from __future__ import annotations

import logging

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session

from roost.auth.accounts import normalise_address
from roost.auth.login import Refusal, log_in
from roost.errors import MailError, ProtocolError
from roost.model import AccountId
from roost.proto.sasl import decode_response, parse_plain
from roost.sessions import LiveSession
from roost.smtp.local import (
    Group,
    Local,
    Malformed,
    Remote,
    Unknown,
    classify,
    deliver_to_inbox,
    members_of,
    reply_for,
    tag_mailbox,
)
from roost.smtp.message import header_addresses, message_id, without_bcc
from roost.smtp.policy import Policy, new_queue_id, parse_path, sender_of
from roost.smtp.sent import save_sent_copy
from roost.store.api import Account

__all__ = ["SubmissionPolicy"]

log = logging.getLogger("roost.smtp")

AUTH_OK = "235 2.7.0 Authentication successful"
AUTH_FAILED = "535 5.7.8 Authentication credentials invalid"


class SubmissionPolicy(Policy):
    offers_auth = True
    protocol = "ESMTP"

    # --- AUTH (RFC 4954): PLAIN (RFC 4616) and LOGIN

    async def handle_AUTH(
        self, server: SMTP, session: Session, envelope: Envelope, args: list[str]
    ) -> str | None:
        mechanism = args[0].upper()
        initial = args[1] if len(args) > 1 else None
        if mechanism == "PLAIN":
            credentials = await _plain(server, initial)
        elif mechanism == "LOGIN":
            credentials = await _login(server, initial)
        else:
            return "504 5.5.4 Unrecognized authentication type"
        if isinstance(credentials, str) or credentials is None:
            return credentials  # a refusal, or None: aiosmtpd already answered
        user, password = credentials
        live = getattr(server, "live", None) or LiveSession(protocol="submission", peer="local")
        account = await log_in(
            self.store,
            live,
            user,
            password,
            mechanism=mechanism,
            service="submission",
            throttle=self.services.throttle,
        )
        if account is Refusal.BLOCKED:
            # RFC 4954 §6: 454 4.7.0, a temporary authentication failure.
            return "454 4.7.0 Too many failed logins from your address; try again later"
        if account is Refusal.SERVICE:
            return "535 5.7.8 This account may not send mail here; contact the administrator"
        if account is Refusal.CREDENTIALS:
            return AUTH_FAILED
        place = getattr(server, "place", None)
        if place is not None and not place.log_in(account.address):
            return "454 4.7.0 Too many connections for this account; close another one first"
        session.authenticated = True
        session.auth_data = account  # type: ignore[assignment]  # aiosmtpd: "free-form"
        return AUTH_OK

    # --- the envelope

    async def check_sender(self, session: Session, sender: str) -> str | None:
        account = _account(session)
        if not sender or not await self.store.owns_address(account.id, sender):
            shown = f"<{sender}>" if sender else "The null sender <>"
            return (
                f"553 5.7.1 {shown} is not yours: you are logged in as {account.address} "
                "and may send only as that address or its aliases"
            )
        return None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.too_many_recipients(envelope)
        if refusal is not None:
            return refusal
        match await classify(self.store, address, self.config):
            case Local(account, tag):
                envelope.rcpt_tos.append(
                    account.address if tag is None else normalise_address(address)
                )
            case Group(normalised) | Remote(normalised):
                envelope.rcpt_tos.append(normalised)
            case Unknown(normalised):
                return f"550 5.1.1 <{normalised}>: no such user here"
            case Malformed():
                return "553 5.1.3 Malformed recipient address"
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Recipient OK"

    # --- the message

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data, refusal = self.check_data(envelope)
        if refusal is not None:
            return refusal
        account = _account(session)
        refusal = await self.check_from(account, data)
        self._log_submission(server, account, envelope, data, refusal)
        if refusal is not None:
            return refusal
        queue_id = new_queue_id()
        trace = self.received(server, session, self.protocol, queue_id, None)
        relayed = trace + without_bcc(data)
        try:
            await self.relay(server, envelope, relayed)
        except MailError as exc:  # the queue could not take it (the disk is full, say)
            log.warning("%s: %s not queued: %s", account.address, queue_id, exc.text)
            return reply_for(exc)
        try:
            await save_sent_copy(
                self.store, account, data, self.config.sent_dedup_window, envelope.rcpt_tos
            )
        except MailError as exc:
            # Over quota, say: the mail is on its way all the same; only the copy is lost.
            log.warning("%s: no Sent copy of %s: %s", account.address, queue_id, exc.text)
        except Exception:
            log.exception("%s: could not store the Sent copy of %s", account.address, queue_id)
        return f"250 2.0.0 OK, queued as {queue_id}"

    async def check_from(self, account: Account, data: bytes) -> str | None:
        senders = header_addresses(data, "from")
        if not senders:
            return f"550 5.7.1 The message has no From: address; use {account.address}"
        # RFC 5322 §3.6.2: Sender: names who actually sent it; it must be the user's too,
        # or a user could sign mail as someone else's secretary.
        for field, addresses in (("From", senders), ("Sender", header_addresses(data, "sender"))):
            for sender in addresses:
                address = parse_path(sender)
                if not address or not await self.store.owns_address(account.id, address):
                    return (
                        f"550 5.7.1 {field}: <{sender}> is not yours: you are logged in as "
                        f"{account.address} and may send only as that address or its aliases"
                    )
        return None

    def _log_submission(
        self, server: SMTP, account: Account, envelope: Envelope, data: bytes, refusal: str | None
    ) -> None:
        live = getattr(server, "live", None)
        self.services.sessions.submission(
            session=live.id if live is not None else "-",
            account=account.address,
            sender=sender_of(envelope),
            recipients=len(envelope.rcpt_tos),
            size=len(data),
            message_id=message_id(data),
            result="accepted" if refusal is None else "refused",
        )

    async def relay(self, server: SMTP, envelope: Envelope, data: bytes) -> None:
        """Queues the remote recipients, then delivers to the local ones: each account
        once into each mailbox, however many recipients (or aliases) name it."""
        sender = sender_of(envelope)
        local: dict[tuple[AccountId, str | None], tuple[str, Local]] = {}
        remote: list[str] = []
        for address in dict.fromkeys(envelope.rcpt_tos):  # each recipient once
            recipient = await classify(self.store, address, self.config)
            members = members_of(recipient)
            if not members:
                remote.append(address)  # or no longer local: the queue bounces it
            for member in members:
                shown = member.account.address if isinstance(recipient, Group) else address
                key = (member.account.id, tag_mailbox(member, self.config))
                local.setdefault(key, (shown, member))
        retry = remote
        if retry:
            await self.store.enqueue(data, sender, retry)
        failed = []
        for address, recipient in local.values():
            reply = await deliver_to_inbox(
                self.store, recipient.account, data, tag_mailbox(recipient, self.config)
            )
            self.log_delivery(server, envelope, address, data, reply)
            if not reply.startswith("2"):
                failed.append(address)
        if failed:
            await self.store.enqueue(data, sender, failed)
        if retry or failed:
            self.services.wake_queue()


def _account(session: Session) -> Account:
    account: object = session.auth_data
    assert isinstance(account, Account), "auth_required lets no one past MAIL without AUTH"
    return account


async def _plain(server: SMTP, initial: str | None) -> tuple[str, str] | str | None:
    """RFC 4616: authzid NUL authcid NUL passwd; an authzid must name the authcid."""
    response = await _response(server, initial, "")
    if response is None or isinstance(response, str):
        return response
    credentials = parse_plain(response)
    if credentials is None:
        return "501 5.5.2 Malformed PLAIN credentials"
    if credentials.acts_for_another:
        return "535 5.7.8 Acting as another user is not allowed"
    return credentials.authcid, credentials.password


async def _login(server: SMTP, initial: str | None) -> tuple[str, str] | str | None:
    user = await _response(server, initial, "Username:")
    if user is None or isinstance(user, str):
        return user
    password = await _response(server, None, "Password:")
    if password is None or isinstance(password, str):
        return password
    try:
        return user.decode("utf-8"), password.decode("utf-8")
    except UnicodeDecodeError:
        return "501 5.5.2 Credentials must be UTF-8"


async def _response(server: SMTP, initial: str | None, challenge: str) -> bytes | str | None:
    """The client's decoded SASL response: the initial one (RFC 4954 §4; "=" is empty)
    or the answer to a 334 challenge. A str is a refusal; None: aiosmtpd answered."""
    if initial is None:
        answer = await server.challenge_auth(challenge)
        return None if answer is MISSING else bytes(answer)
    try:
        return decode_response(initial)
    except ProtocolError:
        return "501 5.5.2 Cannot decode base64"
