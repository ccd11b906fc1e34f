"""SEARCH EMAILID / THREADID keys (RFC 8474 §6): objectid = 1*255(ALPHA / DIGIT / "_" / "-")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.imap import commands as c
from roost.proto.imap.receiver import BadCommand
from tests.proto.test_imap_receiver import events, parse_one

_OBJECTID = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
    min_size=1,
    max_size=255,
)


@given(email=_OBJECTID, thread=_OBJECTID)
def test_objectid_keys_parse(email: str, thread: str) -> None:
    line = f"a UID SEARCH (EMAILID {email} THREADID {thread})\r\n".encode()
    keys = (c.EmailIdKey(id=email), c.ThreadIdKey(id=thread))
    assert parse_one(line) == c.Search(
        tag="a",
        uid=True,
        charset=None,
        key=c.AndKey(keys=keys),
        returns=None,
    )


@pytest.mark.parametrize("arg", [b"", b"M12!", b"x" * 256, b'"quoted"', b"M1(", b"{3+}\r\nabc"])
def test_bad_objectid_is_bad(arg: bytes) -> None:
    [event] = events(b"a SEARCH EMAILID " + arg + b"\r\n")
    assert isinstance(event, BadCommand) and event.tag == "a"
