"""`roost dns DOMAIN`: the DNS records to publish so that mail and mail clients find Roost.

Printed in zone-file syntax, from the configuration (hostname and ports), never guessed:

- MX: where other servers deliver mail for the domain (RFC 5321 §5.1);
- SRV for the client protocols (RFC 6186), TLS from the first byte preferred by a lower
  priority number (RFC 8314 §5.1); a disabled listener gets the "." target that says the
  service is not offered (RFC 6186 §3.4, RFC 2782);
- the names Thunderbird (autoconfig.DOMAIN) and Outlook (autodiscover.DOMAIN, and its SRV
  record) look up, pointing at this host, whose HTTPS port answers them (roost.http).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from roost.auth.accounts import normalise_domain
from roost.cli import CommandError
from roost.config import Config

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("dns", help="print the DNS records to publish for a domain")
    parser.add_argument("domain", metavar="DOMAIN")
    parser.set_defaults(command=print_records)


def print_records(ctx: Context, args: argparse.Namespace) -> int:
    try:
        domain = normalise_domain(args.domain)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    for line in records(domain, ctx.config):
        ctx.say(line)
    return 0


def records(domain: str, config: Config) -> list[str]:
    host = config.hostname.rstrip(".") + "."
    zone = domain + "."
    ports = config.ports
    lines = [
        f"; DNS records for {domain}, served by {config.hostname} (from roost dns)",
        "; mail from other servers",
        f"{zone}\t3600\tIN\tMX\t10 {host}",
        "; mail clients (RFC 6186, RFC 8314: TLS from the first byte preferred)",
    ]
    services = (
        ("_imaps", 0, ports.imaps),
        ("_imap", 10, ports.imap),
        ("_pop3s", 20, ports.pop3s),
        ("_pop3", 30, ports.pop3),
        ("_submissions", 0, ports.submissions),
        ("_submission", 10, ports.submission),
    )
    for service, priority, port in services:
        target = f"{priority} 1 {port} {host}" if port else "0 0 0 ."
        lines.append(f"{service}._tcp.{zone}\t3600\tIN\tSRV\t{target}")
    lines.append("; automatic client setup (Thunderbird, Outlook, the .mobileconfig link)")
    lines.append(f"autoconfig.{zone}\t3600\tIN\tCNAME\t{host}")
    lines.append(f"autodiscover.{zone}\t3600\tIN\tCNAME\t{host}")
    if ports.https:
        lines.append(f"_autodiscover._tcp.{zone}\t3600\tIN\tSRV\t0 1 {ports.https} {host}")
    if ports.https != 443:
        lines.append(
            f"; note: Thunderbird and Outlook ask on port 443; ports.https is {ports.https}: "
            "forward 443 to it, or set ports.https = 443"
        )
    if any(port >= 1024 for _, _, port in services if port):
        lines.append(
            "; note: some client ports above are Roost's unprivileged defaults; on a server, "
            "set the standard ones in [ports] (deploy/roost.toml)"
        )
    return lines
