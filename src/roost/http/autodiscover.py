"""Outlook's Autodiscover, plain-old-XML form ([MS-OXDSCLI]), for IMAP, POP3 and SMTP.

Outlook POSTs to `https://autodiscover.<domain>/autodiscover/autodiscover.xml` (or
`https://<domain>/autodiscover/...`) a request naming the address:

    <Autodiscover xmlns=".../outlook/requestschema/2006">
      <Request><EMailAddress>alice@example.org</EMailAddress>
        <AcceptableResponseSchema>.../outlook/responseschema/2006a</AcceptableResponseSchema>
      </Request></Autodiscover>

and reads the servers from the response: Autodiscover/Response/Account (AccountType email,
Action settings) with one Protocol per server: Type (IMAP, POP3, SMTP), Server, Port,
LoginName, DomainRequired, SPA, SSL, AuthRequired and Encryption (SSL for TLS from the
first byte, TLS for STARTTLS).

A phone asks on the same path with the mobilesync request schema ([MS-ASCMD] §2.2.1.1)
and gets the ActiveSync URL (`render_mobilesync`): Response/User/EMailAddress and
Response/Action/Settings/Server with Type MobileSync, Url and Name.

The request is parsed with the standard library's XML parser, which resolves no external
entity; a request that is not such a document is a `ProtocolError`.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from roost.errors import ProtocolError
from roost.http.endpoints import Endpoint, Protocol, Security

__all__ = [
    "MOBILESYNC_NS",
    "OUTLOOK_NS",
    "REQUEST_NS",
    "RESPONSE_NS",
    "parse_request",
    "render_mobilesync",
    "render_response",
    "wants_mobilesync",
]

REQUEST_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
MOBILESYNC_NS = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
MAX_REQUEST = 16 * 1024

_TYPE = {Protocol.IMAP: "IMAP", Protocol.POP3: "POP3", Protocol.SUBMISSION: "SMTP"}


def parse_request(body: bytes) -> str:
    """The EMailAddress of an Autodiscover request."""
    return _text_of(_parse(body), "EMailAddress")


def wants_mobilesync(body: bytes) -> bool:
    """Whether the request asks for ActiveSync's response schema (a phone's request)."""
    try:
        return _text_of(_parse(body), "AcceptableResponseSchema") == MOBILESYNC_NS
    except ProtocolError:
        return False


def _text_of(root: ET.Element, name: str) -> str:
    # Clients differ in whether they put the request namespace on every element.
    for element in root.iter():
        if element.tag.rpartition("}")[2] == name and element.text:
            return element.text.strip()
    raise ProtocolError(f"autodiscover request names no {name}")


def _parse(body: bytes) -> ET.Element:
    if len(body) > MAX_REQUEST:
        raise ProtocolError("autodiscover request too large")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ProtocolError("autodiscover request may not declare a DTD")
    try:
        # No DTD (refused above), so no entity to expand; expat resolves no external one.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise ProtocolError(f"autodiscover request is not XML: {exc}") from None
    return root


def render_response(address: str, found: list[Endpoint]) -> bytes:
    ET.register_namespace("", RESPONSE_NS)
    root = ET.Element(f"{{{RESPONSE_NS}}}Autodiscover")
    response = ET.SubElement(root, f"{{{OUTLOOK_NS}}}Response")
    account = ET.SubElement(response, _o("Account"))
    ET.SubElement(account, _o("AccountType")).text = "email"
    ET.SubElement(account, _o("Action")).text = "settings"
    # Outlook takes the first Protocol of each Type; implicit TLS comes first (RFC 8314).
    for endpoint in found:
        protocol = ET.SubElement(account, _o("Protocol"))
        for name, value in (
            ("Type", _TYPE[endpoint.protocol]),
            ("Server", endpoint.host),
            ("Port", str(endpoint.port)),
            ("DomainRequired", "off"),
            ("LoginName", address),
            ("SPA", "off"),
            ("SSL", "on"),
            ("AuthRequired", "on"),
            ("Encryption", "SSL" if endpoint.security is Security.TLS else "TLS"),
        ):
            ET.SubElement(protocol, _o(name)).text = value
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def render_mobilesync(address: str, url: str) -> bytes:
    """[MS-ASCMD] §2.2.1.1.2: where the ActiveSync endpoint of this address is."""
    ET.register_namespace("", RESPONSE_NS)
    root = ET.Element(f"{{{RESPONSE_NS}}}Autodiscover")
    response = ET.SubElement(root, _m("Response"))
    ET.SubElement(response, _m("Culture")).text = "en:us"
    user = ET.SubElement(response, _m("User"))
    ET.SubElement(user, _m("DisplayName")).text = address
    ET.SubElement(user, _m("EMailAddress")).text = address
    server = ET.SubElement(
        ET.SubElement(ET.SubElement(response, _m("Action")), _m("Settings")), _m("Server")
    )
    ET.SubElement(server, _m("Type")).text = "MobileSync"
    ET.SubElement(server, _m("Url")).text = url
    ET.SubElement(server, _m("Name")).text = url
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _m(name: str) -> str:
    return f"{{{MOBILESYNC_NS}}}{name}"


def _o(name: str) -> str:
    return f"{{{OUTLOOK_NS}}}{name}"
