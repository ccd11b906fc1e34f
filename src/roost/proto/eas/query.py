"""The request line of an ActiveSync command ([MS-ASHTTP] §2.2.1.1.1): which command, for
which user and device, in which protocol version, under which policy key.

Two forms reach `/Microsoft-Server-ActiveSync`:

    plain   ?Cmd=Sync&User=alice&DeviceId=ABC123&DeviceType=iPhone  (§2.2.1.1.1.2), with
            the version and policy key in the MS-ASProtocolVersion and X-MS-PolicyKey
            headers;
    base64  ?<base64 of a packed structure>  (§2.2.1.1.1.1):

        version     u8          141 for 14.1, 161 for 16.1
        command     u8          a command code (COMMAND_CODES)
        locale      u16 LE
        device id   u8 length, then the id (raw bytes: shown in hex unless printable)
        policy key  u8 length (0 or 4), then a u32 LE
        device type u8 length, then ASCII
        parameters  (u8 tag, u8 length, value)*   tags in PARAMETER_TAGS

Both become one `RequestLine`; anything malformed is a ProtocolError (HTTP 400).
"""

from __future__ import annotations

import base64
import binascii
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from roost.proto.errors import ProtocolError

__all__ = ["COMMAND_CODES", "PARAMETER_TAGS", "RequestLine", "parse_request_line"]

COMMAND_CODES = {
    0: "Sync",
    1: "SendMail",
    2: "SmartForward",
    3: "SmartReply",
    4: "GetAttachment",
    9: "FolderSync",
    10: "FolderCreate",
    11: "FolderDelete",
    12: "FolderUpdate",
    13: "MoveItems",
    14: "GetItemEstimate",
    15: "MeetingResponse",
    16: "Search",
    17: "Settings",
    18: "Ping",
    19: "ItemOperations",
    20: "Provision",
    21: "ResolveRecipients",
    22: "ValidateCert",
    23: "Find",
}
PARAMETER_TAGS = {
    0: "AttachmentName",
    1: "CollectionId",
    3: "ItemId",
    4: "LongId",
    6: "Occurrence",
    7: "Options",
    8: "User",
}
MAX_ID = 128  # [MS-ASHTTP]: DeviceId and DeviceType are at most 32 and 16 characters;
# allow more, but never unbounded


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestLine:
    command: str
    user: str
    device_id: str
    device_type: str
    version: str | None  # "14.1"; None when the client did not say
    policy_key: str | None
    parameters: Mapping[str, str] = field(default_factory=dict)  # CollectionId, ItemId, ...


def parse_request_line(query: str, headers: Mapping[str, str]) -> RequestLine:
    """The request line from the URL's query string and the request headers."""
    if query and "&" not in query:  # the plain form has four parameters at least
        return _base64_form(query)
    return _plain_form(query, headers)


def _plain_form(query: str, headers: Mapping[str, str]) -> RequestLine:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ProtocolError("malformed query string") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    for name in ("Cmd", "DeviceId", "DeviceType"):
        if not values.get(name):
            raise ProtocolError(f"the query string needs {name}")
    device_id, device_type = values["DeviceId"], values["DeviceType"]
    if len(device_id) > MAX_ID or len(device_type) > MAX_ID:
        raise ProtocolError("DeviceId or DeviceType too long")
    known = ("Cmd", "User", "DeviceId", "DeviceType")
    return RequestLine(
        command=values["Cmd"],
        user=values.get("User", ""),
        device_id=device_id,
        device_type=device_type,
        version=headers.get("MS-ASProtocolVersion"),
        policy_key=headers.get("X-MS-PolicyKey"),
        parameters={k: v for k, v in values.items() if k not in known},
    )


class _Packed:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise ProtocolError("base64 query ends early")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def counted(self) -> bytes:
        return self.take(self.u8())


def _base64_form(query: str) -> RequestLine:
    try:
        data = base64.b64decode(unquote(query), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("query string is neither key=value pairs nor base64") from None
    packed = _Packed(data)
    version_code = packed.u8()
    command = COMMAND_CODES.get(packed.u8())
    if command is None:
        raise ProtocolError("unknown command code in the base64 query")
    packed.take(2)  # locale
    device_id = _printable_or_hex(packed.counted())
    key = packed.counted()
    if len(key) not in (0, 4):
        raise ProtocolError("policy key in the base64 query must be 4 bytes")
    device_type = packed.counted().decode("ascii", "replace")
    parameters: dict[str, str] = {}
    while packed.pos < len(data):
        tag = packed.u8()
        value = packed.counted()
        name = PARAMETER_TAGS.get(tag)
        if name is None:
            raise ProtocolError(f"unknown parameter tag {tag} in the base64 query")
        parameters[name] = (
            str(value[0]) if name == "Options" and value else value.decode("utf-8", "replace")
        )
    if not device_id or not device_type:
        raise ProtocolError("the base64 query needs a device id and type")
    return RequestLine(
        command=command,
        user=parameters.pop("User", ""),
        device_id=device_id,
        device_type=device_type,
        version=f"{version_code // 10}.{version_code % 10}",
        policy_key=str(int.from_bytes(key, "little")) if key else None,
        parameters=parameters,
    )


_PRINTABLE = frozenset((string.ascii_letters + string.digits + "-_.").encode())


def _printable_or_hex(raw: bytes) -> str:
    if raw and all(b in _PRINTABLE for b in raw):
        return raw.decode("ascii")
    return raw.hex().upper()
