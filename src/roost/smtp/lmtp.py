"""LMTP (RFC 2033): the inbound policy with one DATA reply per recipient.

Roost sits behind Postfix or Exim as Dovecot does: the MTA owns the queue, so a failed
recipient is answered (4xx: the MTA retries that one; 5xx: it bounces) instead of queued
here. Recipients and their checks are those of inbound SMTP (roost.smtp.inbound). The one
exception is an alias of several accounts that some took and some did not: its RCPT is
answered 250 and Roost's own queue retries the others, since a 4xx would make the MTA
send a second copy to those that have it.
"""

from __future__ import annotations

from aiosmtpd.smtp import SMTP, Envelope, Session

from roost.smtp.inbound import InboundPolicy
from roost.smtp.policy import new_queue_id

__all__ = ["LmtpPolicy"]


class LmtpPolicy(InboundPolicy):
    protocol = "LMTP"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data, refusal = self.check_data(envelope)
        if refusal is not None:
            # RFC 2033 §4.2: still one reply per accepted recipient.
            replies = [refusal] * len(envelope.rcpt_tos)
        else:
            delivered = await self.deliver_each(server, session, envelope, data, new_queue_id())
            replies = [reply for _, reply in delivered]
        # aiosmtpd writes the returned reply; the others go out first, in RCPT order.
        for reply in replies[:-1]:
            await server.push(reply)
        return replies[-1]
