"""roost.auth.connections: places per address before login, per account after."""

from __future__ import annotations

import pytest

from roost.auth.connections import EXPIRY, ConnectionLimits


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


# ----- several workers: one count (roost.serve.bus) -----------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _linked(count: int, clock: Clock, **limits: int) -> list[ConnectionLimits]:
    """ConnectionLimits of `count` workers, each telling the others directly."""
    workers = [ConnectionLimits(**limits, clock=clock) for _ in range(count)]
    for n, worker in enumerate(workers):
        others = [w for m, w in enumerate(workers) if m != n]
        worker.share = lambda body, n=n, others=others: [o.heard(n, body) for o in others]
    return workers


def test_workers_count_an_address_and_an_account_together() -> None:
    a, b = _linked(2, Clock(), per_address=2, per_account=3)
    first = a.connect("203.0.113.9")
    second = b.connect("203.0.113.9")
    assert first is not None and second is not None
    assert a.connect("203.0.113.9") is None and b.connect("203.0.113.9") is None
    assert a.count(address="203.0.113.9") == b.count(address="203.0.113.9") == 2
    first.close()
    third = b.connect("203.0.113.9")
    assert third is not None
    # Logged in, the places move to the account, where the others see them too.
    for place in (second, third):
        assert place.log_in("bob@example.org")
    late = a.connect("198.51.100.1")
    assert late is not None and late.log_in("bob@example.org")
    extra = b.connect("198.51.100.2")
    assert extra is not None and not extra.log_in("bob@example.org")
    assert a.count(account="bob@example.org") == 3
    late.close()
    assert extra.log_in("bob@example.org")


def test_a_count_not_told_again_is_forgotten_and_a_restarted_worker_starts_afresh() -> None:
    clock = Clock()
    a, b = _linked(2, clock, per_address=1, per_account=5)
    held = b.connect("203.0.113.9")
    assert held is not None and a.connect("203.0.113.9") is None
    b.report()  # told again: still held
    clock.now += EXPIRY - 1
    assert a.connect("203.0.113.9") is None
    clock.now += 2  # past EXPIRY since the last report: b may be gone, its message lost
    place = a.connect("203.0.113.9")
    assert place is not None
    place.close()
    b.report()
    assert a.connect("203.0.113.9") is None
    b.started()  # b was replaced by a new worker, which holds nothing
    assert a.connect("203.0.113.9") is not None


def test_a_worker_refuses_counts_it_does_not_understand() -> None:
    limits = ConnectionLimits(per_address=1, per_account=1)
    for body in (
        {"counts": [["planet", "x", 1]]},
        {"counts": [["address", 5, 1]]},
        {"counts": [["address", "x", "1"]]},
        {"counts": 3},
        [1],
        {"other": 1},
    ):
        with pytest.raises((KeyError, TypeError, ValueError)):
            limits.heard(1, body)  # type: ignore[arg-type]
    assert limits.count(address="x") == 0
