"""Sending queued mail to another server: a configured smarthost, or the recipients' MX.

Theory of operation
-------------------
`SmtpRelay.send` makes one SMTP transaction for one sender, one domain and its
recipients, and answers with the reply each recipient got, so the queue decides per
recipient: 2xx delivered, 5xx bounce, 4xx (or no server reachable) retry later.

The smarthost (with STARTTLS and a verified certificate unless `smarthost_starttls` is
off, AUTH if a user is configured; implicit TLS when its port is 465) takes every
message. Without one, the hosts are the domain's MX records by preference, or the domain
itself when it has none (RFC 5321 §5.1); a null MX (RFC 7505) refuses mail for good.
Between MX hosts, STARTTLS is opportunistic and unverified, as is common practice
without DANE or MTA-STS.

The SMTP client is the standard library's, run on a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver

from roost.config import Config

__all__ = ["DeliveryError", "Hop", "Replies", "SmtpRelay", "mx_hosts"]

log = logging.getLogger("roost.smtp.relay")

TIMEOUT = 120.0  # seconds for each network operation (RFC 5321 §4.5.3.2 asks more for DATA)
Replies = dict[str, tuple[int, str]]  # recipient -> (code, text)


class DeliveryError(Exception):
    """Every recipient of the attempt gets this reply."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


@dataclass(frozen=True, slots=True)
class Hop:
    host: str
    port: int
    smarthost: bool


Resolver = Callable[[str], Awaitable[list[str]]]


async def mx_hosts(domain: str) -> list[str]:
    """The hosts to try for domain, most preferred first. Raises DeliveryError."""
    try:
        answer = await dns.asyncresolver.resolve(domain, "MX")
    except dns.resolver.NXDOMAIN:
        raise DeliveryError(550, f"5.1.2 Domain {domain} does not exist") from None
    except dns.resolver.NoAnswer:
        return [domain]  # RFC 5321 §5.1: no MX, the domain's own address
    except dns.exception.DNSException as exc:
        raise DeliveryError(451, f"4.4.3 DNS lookup for {domain} failed: {exc}") from None
    records = sorted(answer, key=lambda r: r.preference)
    hosts = [str(r.exchange).rstrip(".") for r in records]
    if hosts == [""]:
        raise DeliveryError(556, f"5.1.10 {domain} accepts no mail (null MX, RFC 7505)")
    return [host for host in hosts if host]


class SmtpRelay:
    def __init__(self, config: Config, *, resolver: Resolver = mx_hosts, mx_port: int = 25) -> None:
        self.config = config
        self.resolver = resolver
        self.mx_port = mx_port

    async def hops(self, domain: str) -> list[Hop]:
        if self.config.smarthost:
            return [Hop(self.config.smarthost, self.config.smarthost_port, smarthost=True)]
        return [Hop(host, self.mx_port, smarthost=False) for host in await self.resolver(domain)]

    async def send(
        self, mail_from: str, recipients: Sequence[str], data: bytes, domain: str
    ) -> Replies:
        try:
            hops = await self.hops(domain)
        except DeliveryError as exc:
            return dict.fromkeys(recipients, (exc.code, exc.text))
        last = (451, f"4.4.1 No answer from any mail server for {domain}")
        for hop in hops:
            try:
                return await asyncio.to_thread(self._send_via, hop, mail_from, recipients, data)
            except DeliveryError as exc:
                return dict.fromkeys(recipients, (exc.code, exc.text))
            except (OSError, smtplib.SMTPException) as exc:
                # Connection refused, reset, timed out, TLS failure: try the next host.
                log.info("%s:%d: %s", hop.host, hop.port, exc)
                last = (451, f"4.4.1 {hop.host}: {_describe(exc)}")
        return dict.fromkeys(recipients, last)

    def _send_via(
        self, hop: Hop, mail_from: str, recipients: Sequence[str], data: bytes
    ) -> Replies:
        """One SMTP transaction; blocks (runs on a worker thread)."""
        hostname = self.config.hostname
        client: smtplib.SMTP
        if hop.smarthost and hop.port == 465:
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(
                hop.host, hop.port, local_hostname=hostname, timeout=TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(hop.host, hop.port, local_hostname=hostname, timeout=TIMEOUT)
        with client:
            client.ehlo()
            self._secure(client, hop)
            if hop.smarthost and self.config.smarthost_user:
                try:
                    client.login(self.config.smarthost_user, self.config.smarthost_password)
                except smtplib.SMTPException as exc:
                    # A configuration problem: keep the mail and retry, never bounce it.
                    raise DeliveryError(451, f"4.7.0 Smarthost refused login: {exc}") from None
            return _transaction(client, mail_from, recipients, data)

    def _secure(self, client: smtplib.SMTP, hop: Hop) -> None:
        if isinstance(client, smtplib.SMTP_SSL):
            return
        if hop.smarthost and self.config.smarthost_starttls:
            if not client.has_extn("starttls"):
                raise DeliveryError(451, f"4.7.0 Smarthost {hop.host} offers no STARTTLS")
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        elif not hop.smarthost and client.has_extn("starttls"):
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # opportunistic: better than plain text
            client.starttls(context=context)
            client.ehlo()


def _transaction(
    client: smtplib.SMTP, mail_from: str, recipients: Sequence[str], data: bytes
) -> Replies:
    options = []
    if any(not text.isascii() for text in (mail_from, *recipients)):
        if not client.has_extn("smtputf8"):
            raise DeliveryError(553, "5.6.7 The receiving server does not accept UTF-8 addresses")
        options.append("SMTPUTF8")
    if not data.isascii() and client.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    code, raw = client.mail(mail_from, options)
    if code != 250:
        raise DeliveryError(code, _text(raw))
    replies: Replies = {}
    for recipient in recipients:
        code, raw = client.rcpt(recipient)
        replies[recipient] = (code, _text(raw))
    accepted = [r for r, (code, _) in replies.items() if 200 <= code < 300]
    if not accepted:
        client.rset()
        return replies
    reply: bytes | str
    try:
        code, reply = client.data(data)
    except smtplib.SMTPResponseException as exc:
        code, reply = exc.smtp_code, exc.smtp_error
    for recipient in accepted:
        replies[recipient] = (code, _text(reply))
    return replies


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return " ".join(text.split())


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
