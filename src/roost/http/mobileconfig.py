"""An Apple configuration profile (.mobileconfig) that sets up one user's mail account on
iOS, iPadOS and macOS.

One profile per address: a top-level payload of PayloadType "Configuration" holding one
"com.apple.mail.managed" payload (Apple's "Mail" payload keys: EmailAccountType,
EmailAddress, IncomingMailServer*, OutgoingMailServer*, ...). The password is not in it:
the device asks for it while installing. The UUIDs are derived from the address and the
host, so installing a newer profile replaces the old one instead of adding a second
account. The profile is unsigned: the device shows it as "Not Verified", which is the
price of not handing Roost a code-signing certificate.
"""

from __future__ import annotations

import plistlib
import uuid
from typing import Any

from roost.http.endpoints import Endpoint, Protocol, Security, first

__all__ = ["CONTENT_TYPE", "render_profile"]

CONTENT_TYPE = "application/x-apple-aspen-config"
_NAMESPACE = uuid.UUID("8f4b1f9e-5c1a-4a4e-9a53-726f6f737431")  # Roost's own


def render_profile(address: str, found: list[Endpoint]) -> bytes | None:
    """The profile, or None when no IMAP (or POP3) and submission listener is enabled."""
    incoming = first(found, Protocol.IMAP) or first(found, Protocol.POP3)
    outgoing = first(found, Protocol.SUBMISSION)
    if incoming is None or outgoing is None:
        return None
    host = incoming.host
    reverse = ".".join(reversed(host.split(".")))
    mail: dict[str, Any] = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{reverse}.roost.mail.{address}",
        "PayloadUUID": str(uuid.uuid5(_NAMESPACE, f"mail:{host}:{address}")).upper(),
        "PayloadDisplayName": f"Mail ({address})",
        "EmailAccountDescription": address,
        "EmailAccountType": (
            "EmailTypeIMAP" if incoming.protocol is Protocol.IMAP else "EmailTypePOP"
        ),
        "EmailAddress": address,
        "IncomingMailServerHostName": incoming.host,
        "IncomingMailServerPortNumber": incoming.port,
        "IncomingMailServerUseSSL": True,
        "IncomingMailServerUsername": address,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": outgoing.host,
        "OutgoingMailServerPortNumber": outgoing.port,
        "OutgoingMailServerUseSSL": True,
        "OutgoingMailServerUsername": address,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingPasswordSameAsIncomingPassword": True,
    }
    # UseSSL covers STARTTLS as well as TLS from the first byte: Apple's clients upgrade
    # on a STARTTLS port; the ports chosen above prefer TLS from the first byte.
    assert incoming.security in (Security.TLS, Security.STARTTLS)
    profile: dict[str, Any] = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{reverse}.roost.{address}",
        "PayloadUUID": str(uuid.uuid5(_NAMESPACE, f"profile:{host}:{address}")).upper(),
        "PayloadDisplayName": f"{address} on {host}",
        "PayloadDescription": f"Sets up the mail account {address}.",
        "PayloadOrganization": host,
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [mail],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML)
