"""Settings ([MS-ASCMD] §2.2.1.18): what a device tells of itself and asks of the account.

DeviceInformation (model, OS, user agent) is acknowledged; Roost keeps no table of devices
yet, so it is only logged. UserInformation Get answers the account's addresses: its own
(primary) and its aliases, which it may send as. Out of office, the device password and
rights management are not offered: their parts answer Status 7 (denied by policy), so a
device shows the feature as unavailable instead of believing it set.
"""

from __future__ import annotations

import logging

from roost.http.eas.context import Command
from roost.proto.eas.requests import parse_settings
from roost.proto.eas.wbxml import Element

__all__ = ["protocol_error", "run"]

log = logging.getLogger("roost.activesync")

T = "Settings"
SUCCESS, PROTOCOL_ERROR, DENIED = "1", "2", "7"


def _t(tag: str, value: str | None = None, *children: Element) -> Element:
    return Element(T, tag, children, value)


def protocol_error() -> Element:
    return _t("Settings", None, _t("Status", PROTOCOL_ERROR))


async def run(command: Command, document: Element | None) -> Element:
    if document is None:
        return protocol_error()
    request = parse_settings(document)
    parts: list[Element] = [_t("Status", SUCCESS)]
    if request.oof:
        parts.append(_t("Oof", None, _t("Status", DENIED)))
    if request.device_password:
        parts.append(_t("DevicePassword", None, _t("Status", DENIED)))
    if request.device_information is not None:
        described = ", ".join(f"{k}={v}" for k, v in request.device_information)
        log.info(
            "activesync device %s of %s: %s",
            command.line.device_id,
            command.account.address,
            described,
        )
        parts.append(_t("DeviceInformation", None, _t("Status", SUCCESS)))
    if request.user_information:
        parts.append(await _user_information(command))
    if request.rights_management:
        parts.append(_t("RightsManagementInformation", None, _t("Status", DENIED)))
    return _t("Settings", None, *parts)


async def _user_information(command: Command) -> Element:
    address = command.account.address
    aliases = [a.address for a in await command.store.list_aliases() if a.account == address]
    addresses = [_t("SMTPAddress", a) for a in (address, *sorted(aliases))]
    account = _t(
        "Account",
        None,
        _t("UserDisplayName", address),
        _t("EmailAddresses", None, *addresses, _t("PrimarySmtpAddress", address)),
    )
    return _t(
        "UserInformation",
        None,
        _t("Status", SUCCESS),
        _t("Get", None, _t("Accounts", None, account)),
    )
