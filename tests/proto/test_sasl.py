"""SASL responses and PLAIN (RFC 4616), shared by IMAP, SMTP and POP3."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.errors import ProtocolError
from roost.proto.sasl import PlainCredentials, decode_response, parse_plain


def test_base64_responses() -> None:
    assert decode_response(b"AGFsaWNlAHNlY3JldA==") == b"\0alice\0secret"
    assert decode_response("AGFsaWNlAHNlY3JldA==") == b"\0alice\0secret"
    assert decode_response(b"=") == b""  # the empty initial response
    assert decode_response(b"") == b""


@pytest.mark.parametrize("junk", [b"AGFsaWNl*", b"abc", b"a b=", "caf\u00e9", b"\xff"])
def test_invalid_base64_is_a_protocol_error(junk: bytes | str) -> None:
    with pytest.raises(ProtocolError, match="invalid base64"):
        decode_response(junk)


def test_plain() -> None:
    assert parse_plain(b"\0alice@example.org\0s e c r e t") == PlainCredentials(
        authzid="", authcid="alice@example.org", password="s e c r e t"
    )
    creds = parse_plain("Alice@Example.org\0alice@example.org\0p\u00e4ss".encode())
    assert creds is not None and creds.password == "p\u00e4ss"
    assert not creds.acts_for_another  # an authzid naming oneself is fine
    other = parse_plain(b"bob@example.org\0alice@example.org\0secret")
    assert other is not None and other.acts_for_another


@pytest.mark.parametrize(
    "message",
    [b"", b"alice\0secret", b"\0alice\0secret\0more", b"\0\0secret", b"\0al\xffice\0secret"],
)
def test_malformed_plain_fails(message: bytes) -> None:
    assert parse_plain(message) is None


@given(st.binary(max_size=80))
def test_arbitrary_responses_raise_only_protocol_errors(data: bytes) -> None:
    try:
        decoded = decode_response(data)
    except ProtocolError:
        return
    parse_plain(decoded)


@given(st.text(max_size=20), st.text(min_size=1, max_size=20), st.text(max_size=20))
def test_plain_round_trip(authzid: str, authcid: str, password: str) -> None:
    if "\0" in authzid + authcid + password:
        return
    message = f"{authzid}\0{authcid}\0{password}".encode()
    wire = base64.b64encode(message)
    assert parse_plain(decode_response(wire)) == PlainCredentials(
        authzid=authzid, authcid=authcid, password=password
    )
