"""Settings ([MS-ASCMD] §2.2.1.18): what a device tells of itself and asks of the account.

DeviceInformation (model, OS, user agent) is acknowledged and logged (the store keeps the
device's type and user agent from every request). UserInformation Get answers the
account's addresses: its own (primary) and its aliases, which it may send as. Oof Get and
Set read and write the account's out-of-office setting in the store (the replies are sent
on delivery, roost.autoreply). The device password and rights management are not offered:
their parts answer Status 7 (denied by policy), so a device shows the feature as
unavailable instead of believing it set.
"""

from __future__ import annotations

import logging

from roost.http.eas.context import Command
from roost.proto.eas.email import eas_date
from roost.proto.eas.requests import OOF_AUDIENCES, OofSet, parse_settings
from roost.proto.eas.wbxml import Element
from roost.store.api import OofReply, OofState, OutOfOffice

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
    if request.oof_get is not None:
        parts.append(await _oof_get(command))
    if request.oof_set is not None:
        parts.append(await _oof_set(command, request.oof_set))
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
    aliases = [a.address for a in await command.store.list_aliases() if address in a.accounts]
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


# §2.2.3.119: the audiences, in the order of OOF_AUDIENCES, as OutOfOffice fields.
_FIELDS = dict(zip(OOF_AUDIENCES, ("internal", "external_known", "external_unknown"), strict=True))


async def _oof_get(command: Command) -> Element:
    oof = await command.store.get_out_of_office(command.account.id)
    fields = [_t("OofState", str(int(oof.state)))]
    if oof.start is not None and oof.end is not None:
        fields += [_t("StartTime", eas_date(oof.start)), _t("EndTime", eas_date(oof.end))]
    for audience, name in _FIELDS.items():
        reply: OofReply | None = getattr(oof, name)
        message = [_t(audience), _t("Enabled", "0" if reply is None else "1")]
        if reply is not None:
            message += [
                _t("ReplyMessage", reply.text),
                _t("BodyType", "HTML" if reply.html else "Text"),
            ]
        fields.append(_t("OofMessage", None, *message))
    return _t("Oof", None, _t("Status", SUCCESS), _t("Get", None, *fields))


async def _oof_set(command: Command, request: OofSet) -> Element:
    if request.state is None:
        return _t("Oof", None, _t("Status", PROTOCOL_ERROR))
    state = OofState(request.state)
    if state is OofState.SCHEDULED and (
        request.start is None or request.end is None or request.end <= request.start
    ):
        return _t("Oof", None, _t("Status", PROTOCOL_ERROR))
    current = await command.store.get_out_of_office(command.account.id)
    replies: dict[str, OofReply | None] = {n: getattr(current, n) for n in _FIELDS.values()}
    for message in request.messages:  # an audience not named keeps its reply
        html = (message.body_type or "").lower() == "html"
        reply = OofReply(text=message.reply or "", html=html) if message.enabled else None
        replies[_FIELDS[message.audience]] = reply
    scheduled = state is OofState.SCHEDULED
    oof = OutOfOffice(
        state=state,
        start=request.start if scheduled else None,
        end=request.end if scheduled else None,
        internal=replies["internal"],
        external_known=replies["external_known"],
        external_unknown=replies["external_unknown"],
    )
    await command.store.set_out_of_office(command.account.id, oof)
    log.info("activesync: out of office of %s set to %s", command.account.address, state.name)
    return _t("Oof", None, _t("Status", SUCCESS))
