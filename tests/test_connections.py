"""roost.auth.connections: places per address before login, per account after."""

from __future__ import annotations

from roost.auth.connections import ConnectionLimits


def test_an_address_holds_at_most_its_share_before_login() -> None:
    limits = ConnectionLimits(per_address=2, per_account=5)
    first, second = limits.connect("203.0.113.9"), limits.connect("203.0.113.9")
    assert first is not None and second is not None
    assert limits.connect("203.0.113.9") is None
    assert limits.connect("2001:db8::1") is not None  # another address
    first.close()
    assert limits.connect("203.0.113.9") is not None


def test_logging_in_moves_the_place_to_the_account() -> None:
    limits = ConnectionLimits(per_address=1, per_account=2)
    one = limits.connect("203.0.113.9")
    assert one is not None and one.log_in("alice@example.org")
    two = limits.connect("203.0.113.9")  # the address is free again
    assert two is not None and two.log_in("alice@example.org")
    three = limits.connect("203.0.113.9")
    assert three is not None
    assert not three.log_in("alice@example.org")  # the account is full...
    assert limits.count(address="203.0.113.9") == 1  # ...and three still counts there
    assert three.log_in("bob@example.org")
    one.close()
    two.close()
    two.close()  # closing twice releases once
    assert limits.count(account="alice@example.org") == 0
    assert limits.count(account="bob@example.org") == 1
    three.close()
    assert limits._accounts == {} and limits._addresses == {}


def test_unix_socket_peers_are_not_counted() -> None:
    limits = ConnectionLimits(per_address=1, per_account=1)
    assert all(limits.connect("local") is not None for _ in range(5))
    assert limits._addresses == {}


def test_loopback_is_counted_only_if_told() -> None:
    limits = ConnectionLimits(per_address=1, per_account=1, loopback=False)
    places = [limits.connect("127.0.0.1") for _ in range(5)]
    assert all(p is not None and p.log_in("webmail@example.org") for p in places)
    assert limits._addresses == {} and limits._accounts == {}
    limits = ConnectionLimits(per_address=1, per_account=1, loopback=True)
    assert limits.connect("127.0.0.1") is not None
    assert limits.connect("127.0.0.1") is None
