"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.errors import ProtocolError
from roost.proto.imap.mutf7 import decode, encode

EXAMPLES = [
    ("INBOX", "INBOX"),
    ("", ""),
    ("A&B", "A&-B"),
    ("&", "&-"),
    # RFC 3501 §5.1.3's example: "~peter/mail/台北/日本語"
    ("~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("Entw\u00fcrfe", "Entw&APw-rfe"),
    ("\U0001f600", "&2D3eAA-"),  # astral character: a UTF-16 surrogate pair
    ("tab\there", "tab&AAk-here"),  # control characters are encoded too
]


@pytest.mark.parametrize(("name", "wire"), EXAMPLES)
def test_examples(name: str, wire: str) -> None:
    assert encode(name) == wire
    assert decode(wire) == name


@pytest.mark.parametrize(
    "wire",
    [
        "&Jjo",  # unterminated
        "&Jjo!-",  # not modified BASE64
        "&Jjo/-",  # "/" is spelled ","
        "&AGE-",  # "a" must stand for itself
        "&AAk-&AAk-",  # two runs in a row: not canonical
        "&AA-",  # one octet: not UTF-16
        "&AAl-",  # leftover bits set
        "&2D0-",  # unpaired surrogate
        "caf\u00e9",  # 8-bit: must be encoded
        "a\x7fb",  # DEL
        "&A-",  # a single sextet
    ],
)
def test_malformed_is_a_protocol_error(wire: str) -> None:
    with pytest.raises(ProtocolError):
        decode(wire)


@given(st.text())
def test_decode_encode_round_trip(name: str) -> None:
    wire = encode(name)
    assert all(" " <= ch <= "~" for ch in wire)
    assert decode(wire) == name


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_canonical_wire_forms_round_trip(wire: str) -> None:
    try:
        name = decode(wire)
    except ProtocolError:
        return
    assert encode(name) == wire
