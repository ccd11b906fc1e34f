"""The WBXML codec: the specification's own bytes, whole documents in and out, and every
malformed input refused with WbxmlError (never another exception)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.eas.codepages import PAGES
from roost.proto.eas.wbxml import MAX_DEPTH, MAX_ELEMENTS, Element, WbxmlError, decode, encode
from roost.proto.errors import ProtocolError


def A(tag: str, *children: Element, value: str | bytes | None = None) -> Element:
    return Element("AirSync", tag, children, value)


def B(tag: str, *children: Element, value: str | bytes | None = None) -> Element:
    return Element("AirSyncBase", tag, children, value)


# [MS-ASWBXML] §4 (example: a Sync response adding a contact), byte for byte up to the end
# of airsyncbase:Body; the contact's own fields (code page 1, Contacts, which Roost does not
# serve) are cut and the open elements closed.
SPEC_SYNC_PREFIX = bytes.fromhex(
    "03 01 6A 00 45 5C 4F 50 03 43 6F 6E 74 61 63 74 73 00 01 4B 03 32 00 01 52 03 32 00 01"
    " 4E 03 31 00 01 56 47 4D 03 32 3A 31 00 01 5D 00 11 4A 46 03 31 00 01 4C 03 30 00 01"
    " 4D 03 31 00 01 01"
)
SPEC_SYNC = SPEC_SYNC_PREFIX + bytes.fromhex("01 01 01 01 01 01")
SPEC_SYNC_TREE = A(
    "Sync",
    A(
        "Collections",
        A(
            "Collection",
            A("Class", value="Contacts"),
            A("SyncKey", value="2"),
            A("CollectionId", value="2"),
            A("Status", value="1"),
            A(
                "Commands",
                A(
                    "Add",
                    A("ServerId", value="2:1"),
                    A(
                        "ApplicationData",
                        B(
                            "Body",
                            B("Type", value="1"),
                            B("EstimatedDataSize", value="0"),
                            B("Truncated", value="1"),
                        ),
                    ),
                ),
            ),
        ),
    ),
)

# [MS-ASHTTP] §4.1: <FolderSync xmlns="FolderHierarchy:"><SyncKey>2</SyncKey></FolderSync>
FOLDER_SYNC = bytes.fromhex("03 01 6A 00 00 07 56 52 03 32 00 01 01")
FOLDER_SYNC_TREE = Element(
    "FolderHierarchy", "FolderSync", (Element("FolderHierarchy", "SyncKey", value="2"),)
)


def test_spec_sync_response_decodes() -> None:
    assert decode(SPEC_SYNC) == SPEC_SYNC_TREE


def test_spec_sync_response_encodes_to_the_same_bytes() -> None:
    assert encode(SPEC_SYNC_TREE) == SPEC_SYNC


def test_folder_sync_both_ways() -> None:
    assert decode(FOLDER_SYNC) == FOLDER_SYNC_TREE
    assert encode(FOLDER_SYNC_TREE) == FOLDER_SYNC


def test_the_spec_example_whole_names_a_page_roost_does_not_serve() -> None:
    # The full example goes on with 00 01 (Contacts): refused, not misread.
    with pytest.raises(WbxmlError, match="unknown code page 1"):
        decode(SPEC_SYNC_PREFIX + bytes.fromhex("00 01 5E 03 46 75 6E 6B 00 01"))


def test_opaque_data_and_empty_elements() -> None:
    tree = Element(
        "ItemOperations",
        "ItemOperations",
        (
            Element("ItemOperations", "Status", value="1"),
            Element("AirSyncBase", "Data", value=b"\x00\x01binary\xff"),
            Element("Email", "Read"),
        ),
    )
    data = encode(tree)
    assert b"\xc3\x09\x00\x01binary\xff" in data  # OPAQUE, length 9, the bytes
    assert decode(data) == tree


def test_long_opaque_length_is_multibyte() -> None:
    payload = bytes(300)
    data = encode(Element("AirSyncBase", "Data", value=payload))
    assert data[4:10] == bytes([0x00, 0x11, 0x4B, 0xC3, 0x82, 0x2C])  # 300 = 0x82 0x2C
    assert decode(data).value == payload


def test_content_flag_without_content_is_an_empty_element() -> None:
    assert decode(bytes.fromhex("03 01 6A 00 00 07 56 01")) == Element(
        "FolderHierarchy", "FolderSync"
    )


def test_text_in_several_pieces_is_one_value() -> None:
    data = bytes.fromhex("03 01 6A 00 4B 03 61 00 03 62 00 01")
    assert decode(data) == A("SyncKey", value="ab")


def test_switch_back_and_forth() -> None:
    tree = A("Sync", A("Options", B("BodyPreference", B("Type", value="2")), A("MIMESupport")))
    data = encode(tree)
    assert data.count(b"\x00\x11") == 1 and data.count(b"\x00\x00") == 1
    assert decode(data) == tree


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "ends early"),
        (bytes.fromhex("04 01 6A 00 45 01"), "version"),
        (bytes.fromhex("03 01 04 00 45 01"), "UTF-8"),
        (bytes.fromhex("03 01 6A 02 61 00 45 01"), "string table"),
        (bytes.fromhex("03 00 00 6A 00 45 01"), "public identifier"),
        (bytes.fromhex("03 01 6A 00"), "ends early"),
        (bytes.fromhex("03 01 6A 00 45"), "ends early"),
        (bytes.fromhex("03 01 6A 00 45 01 01"), "trailing"),
        (bytes.fromhex("03 01 6A 00 45 01 45 01"), "trailing"),
        (bytes.fromhex("03 01 6A 00 00 63 45 01"), "unknown code page 99"),
        (bytes.fromhex("03 01 6A 00 51 01"), "unknown token 0x11"),
        (bytes.fromhex("03 01 6A 00 C5 01 01"), "attributes"),
        (bytes.fromhex("03 01 6A 00 45 02 41 01"), "unsupported"),
        (bytes.fromhex("03 01 6A 00 45 83 00 01"), "unsupported"),
        (bytes.fromhex("03 01 6A 00 4B 03 61 62"), "NUL"),
        (bytes.fromhex("03 01 6A 00 4B 03 FF 00 01"), "UTF-8"),
        (bytes.fromhex("03 01 6A 00 4B C3 8F FF FF FF 7F 00 01"), "runs past the end"),
        (bytes.fromhex("03 01 6A 00 4B C3 FF FF FF FF FF 7F"), "too large"),
        (bytes.fromhex("03 01 6A 00 45 03 61 00 0B 01"), "mixes"),
    ],
)
def test_malformed_documents_are_refused(data: bytes, why: str) -> None:
    with pytest.raises(WbxmlError, match=why):
        decode(data)


def test_nesting_is_bounded() -> None:
    deep = bytes(HEADER_) + b"\x45" * (MAX_DEPTH + 1) + b"\x01" * (MAX_DEPTH + 1)
    with pytest.raises(WbxmlError, match="nested deeper"):
        decode(deep)
    ok = bytes(HEADER_) + b"\x45" * MAX_DEPTH + b"\x01" * MAX_DEPTH
    assert decode(ok).tag == "Sync"


HEADER_ = bytes.fromhex("03 01 6A 00")


def test_element_count_is_bounded() -> None:
    many = HEADER_ + b"\x45" + b"\x0b" * MAX_ELEMENTS + b"\x01"
    with pytest.raises(WbxmlError, match="more than"):
        decode(many)
    assert len(decode(HEADER_ + b"\x45" + b"\x0b" * (MAX_ELEMENTS - 1) + b"\x01").children) == (
        MAX_ELEMENTS - 1
    )


def test_every_truncation_is_refused() -> None:
    for end in range(len(SPEC_SYNC)):
        with pytest.raises(WbxmlError):
            decode(SPEC_SYNC[:end])


def test_encode_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="no code page"):
        encode(Element("Contacts", "FileAs", value="x"))
    with pytest.raises(ValueError, match="no tag"):
        encode(Element("AirSync", "Nonsense"))
    with pytest.raises(ValueError, match="NUL"):
        encode(A("SyncKey", value="a\x00b"))
    assert decode(encode(A("SyncKey", value="a\ud800b"))) == A("SyncKey", value="a?b")
    with pytest.raises(ValueError, match="not both"):
        A("Sync", A("Status"), value="1")


def test_wbxml_error_is_the_protocol_error_family() -> None:
    assert issubclass(WbxmlError, ProtocolError)


def test_code_pages_are_consistent() -> None:
    for number, page in PAGES.items():
        assert page.number == number
        for token, name in page.tags.items():
            assert page.tokens[name] == token


# --- properties
_names = st.sampled_from([(p.namespace, tag) for p in PAGES.values() for tag in p.tokens])
# Inline strings are UTF-8 without NUL: no NUL (refused), no lone surrogate (sent as "?").
_text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
_values = st.none() | _text | st.binary()


def _leaf(name: tuple[str, str], value: str | bytes | None) -> Element:
    return Element(name[0], name[1], value=value)


_leaves = st.builds(_leaf, _names, _values)
_trees = st.recursive(
    _leaves,
    lambda kids: st.builds(
        lambda name, children: Element(name[0], name[1], tuple(children)),
        _names,
        st.lists(kids, min_size=1, max_size=4),
    ),
    max_leaves=20,
)


@given(_trees)
def test_decode_inverts_encode(tree: Element) -> None:
    assert decode(encode(tree)) == tree


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_wbxml_error(data: bytes) -> None:
    try:
        decode(data)
    except WbxmlError:
        pass


@given(_trees, st.data())
def test_corrupted_documents_raise_only_wbxml_error(tree: Element, data: st.DataObject) -> None:
    encoded = bytearray(encode(tree))
    index = data.draw(st.integers(0, len(encoded) - 1))
    encoded[index] = data.draw(st.integers(0, 255))
    try:
        decode(bytes(encoded))
    except WbxmlError:
        pass


# Tokens as [MS-ASWBXML] §2.1.2.1 lists them: spot checks, each row read off a published
# table of the page (Microsoft's, or Aspose's transcription of it), not off codepages.py.
# Pages 9 (Tasks) and 15 (Search) and the 16.x additions are not checked here.
SPEC_TOKENS = [
    (0, "Sync", 0x05), (0, "SyncKey", 0x0B), (0, "CollectionId", 0x12),
    (0, "MoreAvailable", 0x14), (0, "Collections", 0x1C), (0, "ApplicationData", 0x1D),
    (0, "MIMESupport", 0x22),
    (2, "DateReceived", 0x0F), (2, "Read", 0x15), (2, "ThreadTopic", 0x35),
    (2, "Flag", 0x3A), (2, "ContentClass", 0x3C),
    (5, "MoveItems", 0x05), (5, "SrcMsgId", 0x07), (5, "DstMsgId", 0x0C),
    (6, "GetItemEstimate", 0x05), (6, "Estimate", 0x0C), (6, "Status", 0x0E),
    (7, "DisplayName", 0x07), (7, "Status", 0x0C), (7, "FolderSync", 0x16), (7, "Count", 0x17),
    (13, "Ping", 0x05), (13, "HeartbeatInterval", 0x08), (13, "MaxFolders", 0x0D),
    (14, "PolicyKey", 0x09), (14, "EASProvisionDoc", 0x0D), (14, "AttachmentsEnabled", 0x13),
    (14, "AllowPOPIMAPEmail", 0x23), (14, "AllowInternetSharing", 0x36),
    (17, "Body", 0x0A), (17, "FileReference", 0x11), (17, "Preview", 0x18),
    (17, "Status", 0x1B),
    (18, "DeviceInformation", 0x16), (18, "UserAgent", 0x20), (18, "PrimarySmtpAddress", 0x23),
    (20, "Fetch", 0x06), (20, "Properties", 0x0B), (20, "Part", 0x11), (20, "MoveAlways", 0x19),
    (21, "SendMail", 0x05), (21, "Source", 0x0B), (21, "Mime", 0x10), (21, "AccountId", 0x13),
    (22, "ConversationId", 0x09), (22, "Sender", 0x0E), (22, "MeetingMessageType", 0x13),
    (6, "Version", 0x06), (6, "Response", 0x0D), (13, "AutdState", 0x06),
    (25, "Find", 0x05), (25, "DeepTraversal", 0x0E), (25, "Response", 0x11),
    (25, "GalSearchCriterion", 0x19), (25, "MaxPictures", 0x20), (25, "Picture", 0x22),
]  # fmt: skip


@pytest.mark.parametrize(("page", "tag", "token"), SPEC_TOKENS)
def test_tokens_match_the_specification(page: int, tag: str, token: int) -> None:
    assert PAGES[page].tokens[tag] == token
