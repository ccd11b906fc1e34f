"""The endpoint as a device meets it: credentials, OPTIONS, provisioning, the request
line, and bad input answered with the status the specification names while the server
keeps serving."""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest

from roost.proto.eas.wbxml import encode
from tests.eas.scene import DEVICE, WBXML, E, EasScene, find_all, first_text, run
from tests.imap.transcript import ADDRESS, PASSWORD

FH = "FolderHierarchy"
FOLDER_SYNC_0 = E(FH, "FolderSync", E(FH, "SyncKey", value="0"))


def test_options_needs_credentials_and_names_versions_and_commands(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        anonymous = await s.request("OPTIONS", auth=None)
        assert anonymous.status == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert (await s.request("OPTIONS", auth=(ADDRESS, "wrong"))).status == 401
        reply = await s.request("OPTIONS")
        assert reply.status == 200
        assert reply.headers["MS-ASProtocolVersions"] == "14.1,16.1"
        assert reply.headers["MS-ASProtocolCommands"].split(",") == [
            "Provision",
            "FolderSync",
            "Sync",
            "Ping",
            "ItemOperations",
            "GetItemEstimate",
            "MoveItems",
            "Search",
            "Find",
            "Settings",
            "SendMail",
            "SmartReply",
            "SmartForward",
            "FolderCreate",
            "FolderUpdate",
            "FolderDelete",
        ]

    run(tmp_path, scenario)


def test_a_guessing_address_is_blocked_with_retry_after(tmp_path: Path) -> None:
    """ActiveSync logins count in the server's throttle (roost.auth.throttle) like IMAP's:
    past auth_block_after failures the address gets 503 with Retry-After, the right
    password too (MS-ASHTTP: a device waits that long, then tries again)."""

    async def scenario(s: EasScene) -> None:
        for _ in range(3):
            reply = await s.request("OPTIONS", auth=(ADDRESS, "wrong"))
            assert reply.status == 401
        blocked = await s.request("OPTIONS")
        assert blocked.status == 503
        assert int(blocked.headers["Retry-After"]) > 60

    run(
        tmp_path,
        scenario,
        limit_loopback=True,
        auth_block_after=3,
        auth_delay_after=100,
        auth_account_delay_after=100,
    )


def test_bad_credentials_are_refused_on_post(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        for header in ("Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"nocolon").decode()):
            reply = await s.request("POST", query="Cmd=Sync", headers={"Authorization": header})
            assert reply.status == 401
        reply = await s.request("POST", query="Cmd=Sync", auth=("nobody@example.org", PASSWORD))
        assert reply.status == 401

    run(tmp_path, scenario)


def test_account_without_the_activesync_service_is_forbidden(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.store.set_account_services(s.account.id, frozenset({"imap"}))
        assert (await s.request("OPTIONS")).status == 403

    run(tmp_path, scenario)


def test_no_password_in_the_clear_unless_loopback_is_allowed(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        reply = await s.request("OPTIONS")
        assert reply.status == 403 and b"HTTPS" in reply.body

    run(tmp_path, scenario, allow_plaintext_auth_on_loopback=False)


def test_every_command_but_provision_needs_the_final_policy_key(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        assert (await s.command("FolderSync", FOLDER_SYNC_0)).status == 449
        key = await s.provision()
        # The temporary key of step one is not the final key
        assert (await s.command("FolderSync", FOLDER_SYNC_0, policy_key="1")).status == 449
        reply = await s.command("FolderSync", FOLDER_SYNC_0, policy_key=key)
        assert first_text(reply.document, FH, "Status") == "1"
        # A key is per device: another device must provision itself
        other = await s.command("FolderSync", FOLDER_SYNC_0, device="otherdevice", policy_key=key)
        assert other.status == 449

    run(tmp_path, scenario)


def test_provision_refuses_to_acknowledge_a_key_it_never_issued(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        P = "Provision"
        ack = E(
            P,
            P,
            E(
                P,
                "Policies",
                E(
                    P,
                    "Policy",
                    E(P, "PolicyType", value="MS-EAS-Provisioning-WBXML"),
                    E(P, "PolicyKey", value="12345"),
                    E(P, "Status", value="1"),
                ),
            ),
        )
        reply = await s.command(P, ack)
        policy = reply.document.find(P, "Policies")
        assert policy is not None
        assert first_text(policy, P, "Status") == "5"  # the wrong policy key
        assert policy.find(P, "Policy") is not None
        assert [c.tag for c in policy.children[0].children] == ["PolicyType", "Status"]

    run(tmp_path, scenario)


def test_provision_step_one_sends_the_policy_and_acknowledges_device_information(
    tmp_path: Path,
) -> None:
    async def scenario(s: EasScene) -> None:
        P, S = "Provision", "Settings"
        request = E(
            P,
            P,
            E(S, "DeviceInformation", E(S, "Set", E(S, "Model", value="Phone 9"))),
            E(P, "Policies", E(P, "Policy", E(P, "PolicyType", value="MS-EAS-Provisioning-WBXML"))),
        )
        document = (await s.command(P, request)).document
        assert first_text(document, S, "Status") == "1"
        assert first_text(document, P, "Status") == "1"
        assert first_text(document, P, "DevicePasswordEnabled") == "0"
        assert first_text(document, P, "PolicyKey").isdigit()

    run(tmp_path, scenario)


def test_malformed_bodies_get_the_commands_protocol_error_and_the_server_goes_on(
    tmp_path: Path,
) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        good = encode(FOLDER_SYNC_0)
        cases = [
            ("FolderSync", good[:-3], FH, "10"),  # truncated
            ("FolderSync", good[:4] + b"\x00\x01\x45\x01", FH, "10"),  # unknown code page
            ("Sync", bytes.fromhex("03016A00 45 4B C3 8FFFFFFF7F 0101"), "AirSync", "4"),
            ("Sync", encode(FOLDER_SYNC_0), "AirSync", "4"),  # another command's document
            ("Ping", b"\x03\x01\x6a\x00\x00\x0d\x45\x48\x03x\x00\x01\x01", "Ping", "4"),
            ("ItemOperations", good[:5], "ItemOperations", "2"),
            ("Provision", b"\x03\x01\x6a\x00", "Provision", "2"),
        ]
        for command, body, namespace, status in cases:
            reply = await s.command(command, None, body=body)
            assert reply.status == 200, command
            assert reply.headers["Content-Type"] == WBXML
            assert first_text(reply.document, namespace, "Status") == status, command
        reply = await s.command("FolderSync", FOLDER_SYNC_0)
        assert first_text(reply.document, FH, "Status") == "1"

    run(tmp_path, scenario)


def test_http_errors_for_what_is_not_a_command(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        key = await s.provision()
        base = f"User={ADDRESS}&DeviceId={DEVICE}&DeviceType=T"
        headers = {"X-MS-PolicyKey": key, "MS-ASProtocolVersion": "16.1", "Content-Type": WBXML}
        body = encode(FOLDER_SYNC_0)
        wrong_type = dict(headers, **{"Content-Type": "text/xml"})
        assert (
            await s.request("POST", query=f"Cmd=FolderSync&{base}", body=body, headers=wrong_type)
        ).status == 400
        assert (await s.request("POST", query=base, headers=headers)).status == 400
        assert (
            await s.request("POST", query=f"Cmd=Frobnicate&{base}", headers=headers)
        ).status == 501
        old = dict(headers, **{"MS-ASProtocolVersion": "2.5"})
        reply = await s.request("POST", query=f"Cmd=FolderSync&{base}", body=body, headers=old)
        assert reply.status == 400 and reply.headers["MS-ASProtocolVersions"] == "14.1,16.1"
        huge = b"\x03\x01\x6a\x00" + bytes(1024 * 1024 + 1)
        assert (
            await s.request("POST", query=f"Cmd=FolderSync&{base}", body=huge, headers=headers)
        ).status == 413
        reply = await s.request("POST", query=f"Cmd=FolderSync&{base}", body=body, headers=headers)
        assert reply.status == 200

    run(tmp_path, scenario)


def packed_query(command: int, device: bytes, policy_key: int | None, device_type: bytes) -> str:
    """[MS-ASHTTP] §2.2.1.1.1.1: the base64 form of the request line."""
    data = bytes([161, command]) + struct.pack("<H", 0x0409)
    data += bytes([len(device)]) + device
    data += b"\x04" + struct.pack("<I", policy_key) if policy_key is not None else b"\x00"
    data += bytes([len(device_type)]) + device_type
    data += b"\x08" + bytes([len(ADDRESS)]) + ADDRESS.encode()  # User
    # URL-encoded, as devices send it: a raw "+" of the base64 would read as a space.
    return quote(base64.b64encode(data).decode(), safe="")


def test_base64_request_line(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        key = await s.provision()
        query = packed_query(9, DEVICE.encode(), int(key), b"TestPhone")
        body = encode(FOLDER_SYNC_0)
        reply = await s.request("POST", query=query, body=body, headers={"Content-Type": WBXML})
        assert first_text(reply.document, FH, "Status") == "1"
        unprovisioned = packed_query(9, b"\x01\x02\xff", None, b"TestPhone")
        reply = await s.request(
            "POST", query=unprovisioned, body=body, headers={"Content-Type": WBXML}
        )
        assert reply.status == 449

    run(tmp_path, scenario)


MOBILESYNC_REQUEST = b"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
  <Request>
    <EMailAddress>alice@example.org</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""


def test_autodiscover_tells_a_phone_the_activesync_url(tmp_path: Path) -> None:
    ns = "{http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006}"

    async def scenario(s: EasScene) -> None:
        url = s.base.replace("/Microsoft-Server-ActiveSync", "/autodiscover/autodiscover.xml")
        async with s.client.post(url, data=MOBILESYNC_REQUEST) as response:
            assert response.status == 200
            root = ET.fromstring(await response.read())
        server = root.find(f"{ns}Response/{ns}Action/{ns}Settings/{ns}Server")
        assert server is not None
        assert server.findtext(f"{ns}Type") == "MobileSync"
        assert (
            server.findtext(f"{ns}Url")
            == "https://mail.example.org:8443/Microsoft-Server-ActiveSync"
        )
        assert root.findtext(f"{ns}Response/{ns}User/{ns}EMailAddress") == ADDRESS

    run(tmp_path, scenario, hostname="mail.example.org")


def test_settings_user_and_device_information(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        await s.store.add_alias("alice.smith@example.org", [ADDRESS])
        T = "Settings"
        request = E(
            T,
            T,
            E(T, "Oof", E(T, "Get", E(T, "BodyType", value="Text"))),
            E(T, "DeviceInformation", E(T, "Set", E(T, "Model", value="Phone 9"))),
            E(T, "UserInformation", E(T, "Get")),
        )
        document = (await s.command(T, request)).document
        assert [(c.tag, c.child_text(T, "Status")) for c in document.children] == [
            ("Status", None),
            ("Oof", "1"),  # off: never set (tests/eas/test_oof.py)
            ("DeviceInformation", "1"),
            ("UserInformation", "1"),
        ]
        assert [e.text() for e in find_all(document, T, "SMTPAddress")] == [
            ADDRESS,
            "alice.smith@example.org",
        ]
        assert first_text(document, T, "PrimarySmtpAddress") == ADDRESS

    run(tmp_path, scenario)


def test_a_store_refusal_midway_is_503_and_the_server_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from roost.errors import MailError, MailErrorKind
    from roost.store.engines.sqlite import SqliteStore

    async def refuse(*args: object, **kwargs: object) -> None:
        raise MailError(MailErrorKind.IN_USE, "busy")

    async def scenario(s: EasScene) -> None:
        await s.provision()
        monkeypatch.setattr(SqliteStore, "mailbox_changes_since", refuse)
        reply = await s.command("FolderSync", FOLDER_SYNC_0)
        assert reply.status == 503 and reply.headers["Retry-After"] == "30"
        monkeypatch.undo()
        reply = await s.command("FolderSync", FOLDER_SYNC_0)
        assert first_text(reply.document, FH, "Status") == "1"

    run(tmp_path, scenario)
