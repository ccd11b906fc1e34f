"""Provision ([MS-ASPROV] §3.2.5.1): the policy a device must accept before anything else.

Step one, the device asks for the policy (PolicyType MS-EAS-Provisioning-WBXML): the
answer carries the policy document and a temporary key. Step two, the device acknowledges
that key with Status 1: the answer carries the final key, which every later command sends
in X-MS-PolicyKey (roost.http.eas.endpoint answers HTTP 449 without it). Roost's policy
asks nothing of the device (no PIN, no encryption): it exists so that devices which insist
on provisioning can finish it. A DeviceInformation block is acknowledged (Status 1).
The store records where the device stands (temporary, then final key).

Remote wipe ([MS-ASPROV] §3.1.5.2): once an administrator asks for one (`roost devices
wipe`), the endpoint answers every other command of the device with HTTP 449, and every
Provision with an empty RemoteWipe element instead of a policy; the device wipes itself
and says so with RemoteWipe Status 1, which the store records. The wipe stays in force
(the device is wiped again should it come back) until the device is deleted.
"""

from __future__ import annotations

from roost.http.eas.context import Command
from roost.http.eas.state import policy_key
from roost.proto.eas.requests import parse_provision
from roost.proto.eas.wbxml import Element
from roost.store.api import DevicePolicy

__all__ = ["protocol_error", "run"]

P = "Provision"
POLICY_TYPE = "MS-EAS-Provisioning-WBXML"

# [MS-ASPROV] §2.2.2.27 EASProvisionDoc: what the device must enforce; here, nothing.
POLICY = (
    ("DevicePasswordEnabled", "0"),
    ("AlphanumericDevicePasswordRequired", "0"),
    ("PasswordRecoveryEnabled", "0"),
    ("RequireStorageCardEncryption", "0"),
    ("AttachmentsEnabled", "1"),
    ("MinDevicePasswordLength", "1"),
    ("AllowSimpleDevicePassword", "1"),
    ("AllowStorageCard", "1"),
    ("AllowCamera", "1"),
    ("RequireDeviceEncryption", "0"),
    ("AllowUnsignedApplications", "1"),
    ("AllowUnsignedInstallationPackages", "1"),
    ("AllowWiFi", "1"),
    ("AllowTextMessaging", "1"),
    ("AllowPOPIMAPEmail", "1"),
    ("AllowBluetooth", "2"),
    ("AllowIrDA", "1"),
    ("RequireManualSyncWhenRoaming", "0"),
    ("AllowDesktopSync", "1"),
    ("MaxCalendarAgeFilter", "0"),
    ("AllowHTMLEmail", "1"),
    ("MaxEmailAgeFilter", "0"),
    ("AllowBrowser", "1"),
    ("AllowConsumerEmail", "1"),
    ("AllowRemoteDesktop", "1"),
    ("AllowInternetSharing", "1"),
)


def _p(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(P, tag, children, value)


def protocol_error() -> Element:
    return _p("Provision", None, _p("Status", "2"))


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return protocol_error()
    request = parse_provision(document)
    children: list[Element] = []
    if request.device_information:
        children.append(
            Element(
                "Settings",
                "DeviceInformation",
                (Element("Settings", "Status", value="1"),),
            )
        )
    if command.device.wipe_pending:
        return await _wipe(command, request.remote_wipe_status, children)
    if request.policy_type is None:  # only DeviceInformation, or a remote wipe report
        return _p("Provision", None, *children, _p("Status", "1"))
    if request.policy_type != POLICY_TYPE:
        # §2.2.2.54.1: 3 = the policy type is unknown
        policy = _p("Policy", None, _p("PolicyType", request.policy_type), _p("Status", "3"))
        return _p("Provision", None, *children, _p("Status", "1"), _p("Policies", None, policy))
    hash_, device = command.account.password_hash, command.line.device_id
    account = command.account.id
    if request.policy_key is None:
        await command.store.set_device_policy(account, device, DevicePolicy.TEMPORARY)
        key = policy_key(hash_, device, final=False)
        document_ = _p("EASProvisionDoc", None, *(_p(name, value) for name, value in POLICY))
        policy = _p(
            "Policy",
            None,
            _p("PolicyType", POLICY_TYPE),
            _p("Status", "1"),
            _p("PolicyKey", key),
            _p("Data", None, document_),
        )
    elif request.policy_key == policy_key(hash_, device, final=False) and request.status in (
        1,
        2,  # applied in part: Roost's policy asks nothing, so that is as good as all
    ):
        await command.store.set_device_policy(account, device, DevicePolicy.FINAL)
        policy = _p(
            "Policy",
            None,
            _p("PolicyType", POLICY_TYPE),
            _p("Status", "1"),
            _p("PolicyKey", policy_key(hash_, device, final=True)),
        )
    else:
        # §2.2.2.54.1: 5 = the client acknowledges the wrong policy key
        policy = _p("Policy", None, _p("PolicyType", POLICY_TYPE), _p("Status", "5"))
    return _p("Provision", None, *children, _p("Status", "1"), _p("Policies", None, policy))


async def _wipe(command: Command, reported: int | None, children: list[Element]) -> Element:
    """[MS-ASPROV] §3.2.5.1.2: the answer while a wipe is asked for. A device reporting
    the wipe (RemoteWipe Status 1 done, 2 failed) hears Status 1 alone; any other
    Provision hears RemoteWipe."""
    if reported is None:
        return _p("Provision", None, *children, _p("Status", "1"), _p("RemoteWipe"))
    if reported == 1:
        await command.store.acknowledge_wipe(command.account.id, command.device.device_id)
    return _p("Provision", None, *children, _p("Status", "1"))
