"""roost.auth.throttle: growing delays, then a block, per source; delays, never a block,
per account; the window forgets; the IPv6 /64 is one source; loopback only if told."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest

from roost.auth.throttle import MAX_KEYS, Throttle, ThrottlePolicy, source_key

POLICY = ThrottlePolicy(
    window=600,
    delay_after=3,
    block_after=6,
    block_seconds=300,
    account_delay_after=4,
    first_delay=1,
    max_delay=5,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(policy: ThrottlePolicy = POLICY) -> tuple[Throttle, Clock]:
    clock = Clock()
    return Throttle(policy, clock=clock), clock


def test_a_source_waits_longer_and_longer_then_is_blocked() -> None:
    t, _ = throttle()
    delays = []
    for n in range(6):
        delays.append(t.delay("203.0.113.9", f"user{n}@example.org"))
        assert t.blocked("203.0.113.9") == 0
        t.failed("203.0.113.9", f"user{n}@example.org")  # a different account each time
    assert delays == [0, 0, 0, 1, 2, 4]
    assert t.blocked("203.0.113.9") == 300
    # Another address is untouched.
    assert t.blocked("198.51.100.7") == 0 and t.delay("198.51.100.7", "user0@example.org") == 0


def test_the_block_ends_and_old_failures_are_forgotten() -> None:
    t, clock = throttle()
    for _ in range(6):
        t.failed("203.0.113.9", "alice@example.org")
    clock.now += 301
    assert t.blocked("203.0.113.9") == 0
    clock.now += 600
    assert t.delay("203.0.113.9", "alice@example.org") == 0


def test_an_account_slows_down_but_is_never_blocked() -> None:
    t, _ = throttle()
    # A guesser spread over many addresses, one try each.
    for n in range(40):
        t.failed(f"192.0.2.{n}", "Alice@Example.org")
    assert t.delay("198.51.100.7", "alice@example.org") == 5  # at most max_delay
    assert t.blocked("198.51.100.7") == 0
    t.succeeded("alice@example.org")  # the real user got in
    assert t.delay("198.51.100.7", "alice@example.org") == 0


def test_a_success_does_not_wipe_the_source_record() -> None:
    t, _ = throttle()
    for n in range(5):
        t.failed("203.0.113.9", f"victim{n}@example.org")
    t.succeeded("guesser@example.org")  # logs in to an account of its own
    t.failed("203.0.113.9", "victim9@example.org")
    assert t.blocked("203.0.113.9") > 0


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", None),
        ("::1", None),
        ("local", None),
    ],
)
def test_source_keys(peer: str, key: str | None) -> None:
    assert source_key(peer) == key
    assert source_key("127.0.0.2", loopback=True) == "127.0.0.2"


def test_loopback_is_left_alone_unless_told() -> None:
    t, _ = throttle()
    for _ in range(10):
        t.failed("127.0.0.1", "someone@example.org")
    assert t.blocked("127.0.0.1") == 0
    t, _ = throttle(dataclasses.replace(POLICY, throttle_loopback=True))
    for _ in range(10):
        t.failed("127.0.0.2", "someone@example.org")
    assert t.blocked("127.0.0.2") > 0 and t.blocked("127.0.0.1") == 0


def test_memory_is_bounded_under_a_flood_of_names() -> None:
    t, _ = throttle()
    for n in range(MAX_KEYS + 500):
        t.failed("local", f"made-up-{n}@example.org")
    assert len(t._accounts._times) == MAX_KEYS


# ----- several workers: one throttle (roost.serve.bus) --------------------------------


def test_workers_share_failures_and_successes_over_the_bus() -> None:
    import asyncio

    from roost.serve.bus import WorkerBus

    async def main() -> None:
        bus = WorkerBus(3)
        clock = Clock()
        throttles = [Throttle(POLICY, clock=clock) for _ in range(3)]
        links = [bus.link(n) for n in range(3)]
        try:
            for t, link in zip(throttles, links, strict=True):
                t.share = partial(link.send, "throttle")
                link.listen({"throttle": t.heard})
            # Six failures spread over three workers block the source on every one.
            for n in range(6):
                throttles[n % 3].failed("203.0.113.9", f"user{n}@example.org")
            await asyncio.sleep(0.05)  # the datagrams are read by this loop
            assert all(t.blocked("203.0.113.9") == POLICY.block_seconds for t in throttles)
            # An account's failures, from anywhere, delay it everywhere...
            for n in range(5):
                throttles[n % 2].failed(f"198.51.100.{n}", "bob@example.org")
            await asyncio.sleep(0.05)
            assert all(t.delay("192.0.2.1", "bob@example.org") > 0 for t in throttles)
            # ...until it logs in on any worker.
            throttles[2].succeeded("Bob@example.org")
            await asyncio.sleep(0.05)
            assert all(t.delay("192.0.2.1", "bob@example.org") == 0 for t in throttles)
        finally:
            for link in links:
                link.close()
            bus.close()

    asyncio.run(main())


def test_a_worker_ignores_what_it_does_not_understand(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    from roost.serve.bus import WorkerBus

    async def main() -> Throttle:
        bus = WorkerBus(2)
        t, _ = throttle()
        sender, receiver = bus.link(0), bus.link(1)
        receiver.listen({"throttle": t.heard})
        try:
            for message in (
                {"failed": "x"},
                {"failed": [1, 2, 3]},
                {"failed": [None, "a", "soon"]},
                {"other": 1},
                7,
            ):
                sender.send("throttle", message)
            sender.send("elsewhere", {"succeeded": "eve@example.org"})
            sender.send("throttle", {"failed": ["203.0.113.7", "eve@example.org", 1000.0]})
            await asyncio.sleep(0.05)
        finally:
            receiver.close()
            bus.close()
        return t

    t = asyncio.run(main())
    assert caplog.text.count("ignored a malformed message") == 6
    assert t.delay("192.0.2.1", "eve@example.org") == 0  # one failure: no delay yet
    assert t._sources.count("203.0.113.7", 1000.0) == 1
