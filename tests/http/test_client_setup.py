"""Client setup over a real socket: Thunderbird autoconfig, Outlook Autodiscover (POX), the
Apple .mobileconfig, and /metrics, served by the HTTP layer (roost.http.app) on loopback,
over plain HTTP and over TLS with the server's certificate, on the real SQLite store."""

from __future__ import annotations

import asyncio
import plistlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from roost.config import Config, Ports, load_config
from roost.http.app import Deps, HttpServer, public_app
from roost.http.autodiscover import OUTLOOK_NS, RESPONSE_NS
from roost.metrics import Metrics
from roost.notify.local import LocalNotifier
from roost.sessions import Sessions
from roost.startup import prepare_tls
from roost.store.engines.sqlite import SqliteStore

Check = Callable[[aiohttp.ClientSession, str], Awaitable[None]]

PORTS = Ports(
    imap=143, imaps=993, pop3=0, pop3s=995, submission=587, submissions=465, smtp=25, lmtp=24
)


def config_for(tmp_path: Path) -> Config:
    base = load_config(None, {"ROOST_DATA_DIR": str(tmp_path / "data")}, hostname=lambda: "x")
    return replace(base, hostname="mail.example.org", ports=PORTS)


def serve(tmp_path: Path, check: Check, *, tls: bool = False) -> None:
    """Runs check(client, base_url) against the public app on a free loopback port."""
    config = config_for(tmp_path)

    async def main() -> None:
        store = await SqliteStore.open(config.data_dir)
        await store.create_account("alice@example.org", "h")
        context = prepare_tls(config) if tls else None
        deps = Deps(
            config=config,
            store=store,
            metrics=Metrics(),
            sessions=Sessions(),
            wake_queue=lambda: None,
            notifier=LocalNotifier(),
        )
        server = HttpServer(public_app(deps))
        try:
            (address,) = await server.listen("127.0.0.1", 0, context)
            scheme = "https" if tls else "http"
            client_tls: Any = False
            if tls:
                client_tls = ssl.create_default_context(cafile=str(config.tls.cert))
            connector = aiohttp.TCPConnector(ssl=client_tls)
            async with aiohttp.ClientSession(connector=connector) as client:
                await check(client, f"{scheme}://localhost:{address[1]}")
        finally:
            await server.close()
            await store.close()

    asyncio.run(main())


def text(element: ET.Element | None) -> str:
    assert element is not None
    return element.text or ""


# ----- Thunderbird -------------------------------------------------------------------

# The documented file format (wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat;
# no XSD is published, ISPDB's validator encodes the same rules): the elements each server
# needs (in any order), and the values its enumerations allow.
_SERVER_CHILDREN = ["hostname", "port", "socketType", "username", "authentication"]
_SOCKET_TYPES = {"plain", "SSL", "STARTTLS"}
_AUTHENTICATIONS = {"password-cleartext", "password-encrypted", "NTLM", "GSSAPI",
                    "client-IP-address", "TLS-client-cert", "OAuth2", "none"}  # fmt: skip


def assert_documented_autoconfig(root: ET.Element) -> None:
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    (provider,) = list(root)
    assert provider.tag == "emailProvider" and provider.get("id")
    names = [child.tag for child in provider]
    assert {"domain", "displayName", "displayShortName"} <= set(names)
    assert set(names) <= {"domain", "displayName", "displayShortName", "incomingServer",
                          "outgoingServer", "documentation"}  # fmt: skip
    servers = [c for c in provider if c.tag in ("incomingServer", "outgoingServer")]
    assert servers
    for server in servers:
        allowed = {"imap", "pop3", "exchange"} if server.tag == "incomingServer" else {"smtp"}
        assert server.get("type") in allowed
        assert sorted(child.tag for child in server) == sorted(_SERVER_CHILDREN)  # any order
        assert 0 < int(text(server.find("port"))) < 65536
        assert text(server.find("socketType")) in _SOCKET_TYPES
        assert text(server.find("authentication")) in _AUTHENTICATIONS


def test_thunderbird_autoconfig(tmp_path: Path) -> None:
    async def check(client: aiohttp.ClientSession, base: str) -> None:
        for path in ("/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"):
            url = f"{base}{path}?emailaddress=Alice%40Example.ORG"
            async with client.get(url) as response:
                assert response.status == 200
                assert response.content_type == "application/xml"
                root = ET.fromstring(await response.read())
            assert_documented_autoconfig(root)
            provider = root.find("emailProvider")
            assert provider is not None and provider.get("id") == "example.org"
            assert text(provider.find("domain")) == "example.org"
            incoming = [
                (s.get("type"), text(s.find("port")), text(s.find("socketType")))
                for s in provider.findall("incomingServer")
            ]
            # TLS from the first byte first (RFC 8314); pop3 = 0 is not offered.
            assert incoming == [("imap", "993", "SSL"), ("imap", "143", "STARTTLS"),
                                ("pop3", "995", "SSL")]  # fmt: skip
            outgoing = provider.findall("outgoingServer")
            assert [(s.get("type"), text(s.find("port"))) for s in outgoing] == [
                ("smtp", "465"),
                ("smtp", "587"),
            ]
            for server in [*provider.findall("incomingServer"), *outgoing]:
                assert text(server.find("hostname")) == "mail.example.org"
                assert text(server.find("username")) == "%EMAILADDRESS%"
                assert text(server.find("authentication")) == "password-cleartext"

    serve(tmp_path, check)


def test_autoconfig_from_the_host_name_and_for_unknown_domains(tmp_path: Path) -> None:
    async def check(client: aiohttp.ClientSession, base: str) -> None:
        url = f"{base}/mail/config-v1.1.xml"
        async with client.get(url, headers={"Host": "autoconfig.example.org"}) as response:
            assert response.status == 200
            assert b'<emailProvider id="example.org">' in await response.read()
        async with client.get(url + "?emailaddress=bob@elsewhere.test") as response:
            assert response.status == 404
        async with client.get(url + "?emailaddress=not-an-address") as response:
            assert response.status == 400

    serve(tmp_path, check)


# ----- Outlook -------------------------------------------------------------------------

REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>{address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""


# The children of a Protocol element in the POX response (responseschema/2006a) that
# matter for IMAP, POP3 and SMTP, and those whose values are "on" or "off".
_ON_OFF = {"DomainRequired", "SPA", "SSL", "AuthRequired", "UsePOPAuth", "SMTPLast"}
_PROTOCOL_CHILDREN = {"Type", "Server", "Port", "LoginName", "DomainName", "Encryption",
                      "TTL", *_ON_OFF}  # fmt: skip


def test_outlook_autodiscover(tmp_path: Path) -> None:
    async def check(client: aiohttp.ClientSession, base: str) -> None:
        body = REQUEST.format(address="alice@example.org").encode()
        url = f"{base}/autodiscover/autodiscover.xml"
        async with client.post(url, data=body, headers={"Content-Type": "text/xml"}) as response:
            assert response.status == 200
            root = ET.fromstring(await response.read())
        ns = {"a": RESPONSE_NS, "o": OUTLOOK_NS}
        assert root.tag == f"{{{RESPONSE_NS}}}Autodiscover"
        account = root.find("o:Response/o:Account", ns)
        assert account is not None
        assert text(account.find("o:AccountType", ns)) == "email"
        assert text(account.find("o:Action", ns)) == "settings"
        protocols = [
            {child.tag.rpartition("}")[2]: child.text for child in protocol}
            for protocol in account.findall("o:Protocol", ns)
        ]
        assert [(p["Type"], p["Port"], p["Encryption"]) for p in protocols] == [
            ("IMAP", "993", "SSL"),
            ("IMAP", "143", "TLS"),
            ("POP3", "995", "SSL"),
            ("SMTP", "465", "SSL"),
            ("SMTP", "587", "TLS"),
        ]
        for p in protocols:  # [MS-OXDSCLI] Protocol: its elements and their values
            assert set(p) <= _PROTOCOL_CHILDREN
            assert p["Type"] in {"EXCH", "EXPR", "WEB", "POP3", "SMTP", "IMAP", "EXHTTP"}
            assert all(p[name] in ("on", "off") for name in _ON_OFF if name in p)
            assert p["Encryption"] in {"None", "SSL", "TLS", "Auto"}
            assert p["Server"] == "mail.example.org"
            assert p["LoginName"] == "alice@example.org"
            assert (p["SPA"], p["SSL"], p["AuthRequired"]) == ("off", "on", "on")
        async with client.post(
            url.replace("autodiscover/autodiscover", "Autodiscover/Autodiscover"), data=body
        ) as response:
            assert response.status == 200

    serve(tmp_path, check)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (REQUEST.format(address="bob@elsewhere.test"), 404),
        (REQUEST.format(address="no address"), 400),
        ("<Autodiscover><Request/></Autodiscover>", 400),
        ("not xml at all <", 400),
        ('<!DOCTYPE x [<!ENTITY e "e">]><Autodiscover>&e;</Autodiscover>', 400),
    ],
)
def test_autodiscover_refusals(tmp_path: Path, body: str, status: int) -> None:
    async def check(client: aiohttp.ClientSession, base: str) -> None:
        url = f"{base}/autodiscover/autodiscover.xml"
        async with client.post(url, data=body.encode()) as response:
            assert response.status == status

    serve(tmp_path, check)


# ----- Apple -----------------------------------------------------------------------------


def test_mobileconfig_over_tls(tmp_path: Path) -> None:
    profiles: list[dict[str, Any]] = []

    async def check(client: aiohttp.ClientSession, base: str) -> None:
        url = f"{base}/mobileconfig?emailaddress=alice@example.org"
        for _ in range(2):
            async with client.get(url) as response:
                assert response.status == 200
                assert response.content_type == "application/x-apple-aspen-config"
                assert (
                    "alice-at-example.org.mobileconfig" in response.headers["Content-Disposition"]
                )
                profiles.append(plistlib.loads(await response.read()))
        async with client.get(f"{base}/mobileconfig?emailaddress=x@elsewhere.test") as response:
            assert response.status == 404

    serve(tmp_path, check, tls=True)
    profile = profiles[0]
    assert profiles[1] == profile  # the same UUIDs: reinstalling replaces, never duplicates
    assert profile["PayloadType"] == "Configuration"
    assert profile["PayloadVersion"] == 1
    (mail,) = profile["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAccountType"] == "EmailTypeIMAP"
    assert mail["EmailAddress"] == "alice@example.org"
    assert (mail["IncomingMailServerHostName"], mail["IncomingMailServerPortNumber"]) == (
        "mail.example.org",
        993,
    )
    assert (mail["OutgoingMailServerHostName"], mail["OutgoingMailServerPortNumber"]) == (
        "mail.example.org",
        465,
    )
    assert mail["IncomingMailServerUseSSL"] is True and mail["OutgoingMailServerUseSSL"] is True
    assert mail["IncomingMailServerUsername"] == "alice@example.org"
    assert mail["IncomingMailServerAuthentication"] == "EmailAuthPassword"
    assert profile["PayloadUUID"] != mail["PayloadUUID"]
    for payload in (profile, mail):
        assert len(payload["PayloadUUID"]) == 36
    # The password is asked for on the device, never put in the profile.
    assert "IncomingPassword" not in mail and "OutgoingPassword" not in mail


# ----- metrics -----------------------------------------------------------------------------


def test_metrics_are_served_in_the_text_format(tmp_path: Path) -> None:
    async def check(client: aiohttp.ClientSession, base: str) -> None:
        async with client.get(f"{base}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            body = await response.text()
        assert "roost_queue_entries 0.0" in body
        assert "# TYPE roost_logins_total counter" in body
        size = [line for line in body.splitlines() if line.startswith("roost_store_database_bytes")]
        assert size and float(size[0].split()[1]) > 0

    serve(tmp_path, check)
