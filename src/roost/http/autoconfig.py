"""Thunderbird's autoconfiguration file (config-v1.1.xml), for one local domain.

Thunderbird (and K-9/Thunderbird for Android, Evolution, KMail...) asks
`https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=...` and
`https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`; the answer lists the
incoming and outgoing servers. Element names as documented by Mozilla ("Autoconfig file
format", clientConfig version 1.1): emailProvider with domain, displayName,
displayShortName, incomingServer type="imap"|"pop3" and outgoingServer type="smtp", each
with hostname, port, socketType (SSL or STARTTLS), authentication (password-cleartext:
the password travels inside TLS) and username (%EMAILADDRESS%: users log in with their
address).
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from roost.http.endpoints import Endpoint, Protocol, Security

__all__ = ["render_autoconfig"]

_SOCKET_TYPE = {Security.TLS: "SSL", Security.STARTTLS: "STARTTLS"}


def render_autoconfig(domain: str, found: list[Endpoint]) -> bytes:
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=domain)
    ET.SubElement(provider, "domain").text = domain
    ET.SubElement(provider, "displayName").text = f"{domain} mail"
    ET.SubElement(provider, "displayShortName").text = domain
    # Incoming before outgoing, as the format lists them; the client tries them in order.
    for endpoint in found:
        if endpoint.protocol is not Protocol.SUBMISSION:
            _server(provider, "incomingServer", endpoint.protocol.value, endpoint)
    for endpoint in found:
        if endpoint.protocol is Protocol.SUBMISSION:
            _server(provider, "outgoingServer", "smtp", endpoint)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _server(parent: ET.Element, tag: str, kind: str, endpoint: Endpoint) -> None:
    server = ET.SubElement(parent, tag, type=kind)
    ET.SubElement(server, "hostname").text = endpoint.host
    ET.SubElement(server, "port").text = str(endpoint.port)
    ET.SubElement(server, "socketType").text = _SOCKET_TYPE[endpoint.security]
    ET.SubElement(server, "authentication").text = "password-cleartext"
    ET.SubElement(server, "username").text = "%EMAILADDRESS%"
