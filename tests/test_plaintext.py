"""The one rule for passwords in the clear (roost.auth.plaintext)."""

from __future__ import annotations

import pytest

from roost.auth.plaintext import is_loopback, password_allowed


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [
        (("127.0.0.1", 40000), True),
        (("127.8.9.1", 40000), True),
        (("::1", 40000, 0, 0), True),
        (("192.0.2.7", 40000), False),
        (("2001:db8::1", 40000, 0, 0), False),
        ("/run/roost/lmtp.sock", True),  # a Unix socket
        (b"", True),
        (None, False),
        (("not an address", 1), False),
        ((), False),
    ],
)
def test_is_loopback(peer: object, loopback: bool) -> None:
    assert is_loopback(peer) is loopback


def test_password_allowed() -> None:
    assert password_allowed(secure=True, loopback=False, allow_on_loopback=False)
    assert password_allowed(secure=False, loopback=True, allow_on_loopback=True)
    assert not password_allowed(secure=False, loopback=True, allow_on_loopback=False)
    assert not password_allowed(secure=False, loopback=False, allow_on_loopback=True)
