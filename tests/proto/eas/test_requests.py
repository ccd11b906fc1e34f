"""Request lines and command requests, bytes (or trees) in, typed requests out."""

from __future__ import annotations

import base64
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.eas.query import RequestLine, parse_request_line
from roost.proto.eas.requests import (
    BodyPreference,
    ClientChange,
    ClientDelete,
    ClientFetch,
    FetchItem,
    FolderSyncRequest,
    PingFolder,
    PingRequest,
    SyncCollection,
    parse_folder_sync,
    parse_item_operations,
    parse_ping,
    parse_sync,
)
from roost.proto.eas.wbxml import Element, decode, encode
from roost.proto.errors import ProtocolError


def E(ns: str, tag: str, *children: Element, value: str | None = None) -> Element:
    return Element(ns, tag, children, value)


def A(tag: str, *children: Element, value: str | None = None) -> Element:
    return Element("AirSync", tag, children, value)


HEADERS = {"MS-ASProtocolVersion": "14.1", "X-MS-PolicyKey": "42"}


def test_plain_request_line() -> None:
    line = parse_request_line(
        "Cmd=ItemOperations&User=alice%40example.org&DeviceId=ABC&DeviceType=iPhone&CollectionId=7",
        HEADERS,
    )
    assert line == RequestLine(
        command="ItemOperations",
        user="alice@example.org",
        device_id="ABC",
        device_type="iPhone",
        version="14.1",
        policy_key="42",
        parameters={"CollectionId": "7"},
    )


@pytest.mark.parametrize(
    "query",
    [
        "User=a&DeviceId=b&DeviceType=c",
        "Cmd=Sync&User=a&DeviceType=c",
        "Cmd=Sync&User=a&DeviceId=b",
        f"Cmd=Sync&User=a&DeviceId={'x' * 200}&DeviceType=c",
        "not base64 at all!",
        base64.b64encode(bytes([141, 200, 0, 0])).decode(),  # unknown command code
        base64.b64encode(bytes([141, 0, 9, 4])).decode(),  # ends inside the locale
    ],
)
def test_bad_request_lines(query: str) -> None:
    with pytest.raises(ProtocolError):
        parse_request_line(query, {})


def test_base64_request_line_from_the_spec_layout() -> None:
    # [MS-ASHTTP] §2.2.1.1.1.1: version 14.1, Sync (0), locale 0x0409, a 16-byte device id,
    # a 4-byte policy key, device type "SP", then CollectionId=5 and User
    device = bytes(range(16))
    data = bytes([141, 0]) + struct.pack("<H", 0x0409) + bytes([16]) + device
    data += b"\x04" + struct.pack("<I", 3_942_919_513) + b"\x02SP"
    data += b"\x01\x015" + b"\x08\x05alice"
    line = parse_request_line(base64.b64encode(data).decode(), {})
    assert line == RequestLine(
        command="Sync",
        user="alice",
        device_id=device.hex().upper(),
        device_type="SP",
        version="14.1",
        policy_key="3942919513",
        parameters={"CollectionId": "5"},
    )


@given(st.binary(max_size=80))
def test_arbitrary_base64_queries_raise_only_protocol_error(data: bytes) -> None:
    try:
        parse_request_line(base64.b64encode(data).decode(), {})
    except ProtocolError:
        pass


def test_sync_request() -> None:
    tree = A(
        "Sync",
        A(
            "Collections",
            A(
                "Collection",
                A("SyncKey", value="S1.2.3.0.0"),
                A("CollectionId", value="5"),
                A("DeletesAsMoves", value="0"),
                A("WindowSize", value="50"),
                A(
                    "Options",
                    E(
                        "AirSyncBase",
                        "BodyPreference",
                        E("AirSyncBase", "Type", value="2"),
                        E("AirSyncBase", "TruncationSize", value="5120"),
                        E("AirSyncBase", "Preview", value="100"),
                    ),
                    A("MIMESupport", value="0"),
                ),
                A(
                    "Commands",
                    A(
                        "Change",
                        A("ServerId", value="5:1"),
                        A(
                            "ApplicationData",
                            E("Email", "Read", value="1"),
                            E("Email", "Flag"),
                        ),
                    ),
                    A("Delete", A("ServerId", value="5:2")),
                    A("Fetch", A("ServerId", value="5:3")),
                ),
            ),
        ),
        A("WindowSize", value="100"),
    )
    request = parse_sync(decode(encode(tree)))
    assert request.window_size == 100
    assert request.collections == (
        SyncCollection(
            sync_key="S1.2.3.0.0",
            collection_id="5",
            window_size=50,
            deletes_as_moves=False,
            body_preferences=(BodyPreference(type=2, truncation_size=5120, preview=100),),
            commands=(
                ClientChange(server_id="5:1", read=True, flag_status=0),
                ClientDelete(server_id="5:2"),
                ClientFetch(server_id="5:3"),
            ),
        ),
    )


def test_sync_key_zero_asks_no_changes_by_default() -> None:
    tree = A(
        "Sync",
        A("Collections", A("Collection", A("SyncKey", value="0"), A("CollectionId", value="1"))),
    )
    (collection,) = parse_sync(tree).collections
    assert collection.get_changes is False and collection.deletes_as_moves is True


@pytest.mark.parametrize(
    "tree",
    [
        E("FolderHierarchy", "FolderSync"),  # wrong command
        A("Sync", A("Collections", A("Collection", A("CollectionId", value="1")))),
        A(
            "Sync",
            A(
                "Collections",
                A(
                    "Collection",
                    A("SyncKey", value="1"),
                    A("CollectionId", value="1"),
                    A("WindowSize", value="many"),
                ),
            ),
        ),
        A(
            "Sync",
            A(
                "Collections",
                A(
                    "Collection",
                    A("SyncKey", value="1"),
                    A("CollectionId", value="1"),
                    A("Commands", A("Add", A("ClientId", value="1"))),
                ),
            ),
        ),
    ],
)
def test_bad_sync_requests(tree: Element) -> None:
    with pytest.raises(ProtocolError):
        parse_sync(tree)


def test_folder_sync_ping_and_item_operations() -> None:
    fh = "FolderHierarchy"
    assert parse_folder_sync(E(fh, "FolderSync", E(fh, "SyncKey", value="F9"))) == (
        FolderSyncRequest(sync_key="F9")
    )
    ping = E(
        "Ping",
        "Ping",
        E("Ping", "HeartbeatInterval", value="480"),
        E("Ping", "Folders", E("Ping", "Folder", E("Ping", "Id", value="1"))),
    )
    assert parse_ping(ping) == PingRequest(
        heartbeat_interval=480, folders=(PingFolder(id="1", folder_class="Email"),)
    )
    io = "ItemOperations"
    fetch = E(
        io,
        io,
        E(
            io,
            "Fetch",
            E(io, "Store", value="Mailbox"),
            E("AirSyncBase", "FileReference", value="1:2:2"),
        ),
    )
    assert parse_item_operations(fetch).fetches == (
        FetchItem(store="Mailbox", file_reference="1:2:2"),
    )
    with pytest.raises(ProtocolError):
        parse_item_operations(E(io, io, E(io, "Move")))


def test_search_request() -> None:
    from datetime import UTC, datetime

    from roost.proto.eas.requests import SearchRequest, parse_search

    S = "Search"
    tree = E(
        S,
        S,
        E(
            S,
            "Store",
            E(S, "Name", value="Mailbox"),
            E(
                S,
                "Query",
                E(
                    S,
                    "And",
                    A("Class", value="Email"),
                    A("CollectionId", value="4"),
                    E(S, "FreeText", value="budget"),
                    E(
                        S,
                        "GreaterThan",
                        E("Email", "DateReceived"),
                        E(S, "Value", value="2024-05-01T08:30:00.000Z"),
                    ),
                ),
            ),
            E(S, "Options", E(S, "Range", value="10-19"), E(S, "DeepTraversal")),
        ),
    )
    assert parse_search(tree) == SearchRequest(
        store="Mailbox",
        free_text="budget",
        collection_ids=("4",),
        received_after=datetime(2024, 5, 1, 8, 30, tzinfo=UTC),
        first=10,
        last=19,
        deep_traversal=True,
    )
    contacts = E(
        S,
        S,
        E(S, "Store", E(S, "Name", value="Mailbox"), E(S, "Query", A("Class", value="Contacts"))),
    )
    with pytest.raises(ProtocolError, match="Contacts"):
        parse_search(contacts)
