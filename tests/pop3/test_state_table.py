"""The POP3 session's one table (roost.pop3.session.COMMANDS), tested for every (state,
command) pair, plus arbitrary input in each state: no crash, no [SYS/TEMP], only status
lines (and the lines of multi-line replies), and the session keeps answering.

Reaching TRANSACTION calls `session.logged_in` with a fresh snapshot (what a good PASS
does) rather than sending PASS each time; USER/PASS and AUTH are among the commands tried.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from roost.pop3.maildrop import open_maildrop
from roost.pop3.session import COMMANDS, State
from roost.proto.pop3 import commands as p
from roost.proto.pop3.receiver import Receiver
from tests.pop3.transcript import ADDRESS, PASSWORD, Client, PopScene

SAMPLES: dict[type[p.Command], tuple[bytes, ...]] = {
    p.Capa: (b"CAPA",),
    p.Noop: (b"NOOP",),
    p.Quit: (b"QUIT",),
    p.Stls: (b"STLS",),
    p.User: (f"USER {ADDRESS}".encode(),),
    p.Pass: (f"PASS {PASSWORD}".encode(), b"PASS wrong"),
    p.Auth: (b"AUTH", b"AUTH PLAIN", b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", b"AUTH X"),
    p.Stat: (b"STAT",),
    p.List: (b"LIST", b"LIST 1", b"LIST 7"),
    p.Uidl: (b"UIDL", b"UIDL 2"),
    p.Retr: (b"RETR 1", b"RETR 0"),
    p.Top: (b"TOP 2 0", b"TOP 1 5"),
    p.Dele: (b"DELE 1", b"DELE 9"),
    p.Rset: (b"RSET",),
}
STATES = (State.AUTHORIZATION, State.TRANSACTION)
PAIRS = [(cls, line) for cls, lines in SAMPLES.items() for line in lines]
MESSAGE = b"Subject: hello\r\nFrom: bob@example.org\r\n\r\n.Hello.\r\n"
# A status line, or a line of a multi-line reply (a listing, a message, "+ " for AUTH).
_LINE = re.compile(rb"(\+OK|-ERR)( [^\r\n]*)?|\+ ?|[^\r\n]*")


def test_every_command_type_has_a_sample_and_a_rule() -> None:
    assert set(SAMPLES) == set(COMMANDS)
    for cls, line in PAIRS:
        receiver = Receiver()
        receiver.receive_data(line + b"\r\n")
        assert type(receiver.next_event()) is cls, line


def run_in_scene(tmp_path: Path, body: Callable[[asyncio.Runner, PopScene], None]) -> None:
    """Runs `body` with one scene open on one event loop (shared by hypothesis examples)."""
    with asyncio.Runner() as runner:
        scene = PopScene(tmp_path, tls=True)
        runner.run(scene.__aenter__())
        try:
            runner.run(scene.deliver(MESSAGE))
            runner.run(scene.deliver(MESSAGE.replace(b"hello", b"again")))
            body(runner, scene)
        finally:
            runner.run(scene.__aexit__(None, None, None))


_names: Iterator[int] = itertools.count(1)


async def session_in(scene: PopScene, state: State) -> Client:
    client = await scene.client(f"p{next(_names)}")
    if state is State.TRANSACTION:
        maildrop = await open_maildrop(scene.store, scene.account.id, scene.sizes)
        client.session.logged_in(scene.account, maildrop)
    assert client.session.state is state
    return client


def take(client: Client) -> bytes:
    out = bytes(client.conn.output)
    client.conn.output.clear()
    return out


async def still_usable(client: Client) -> None:
    session = client.session
    if session.closed:
        return
    await session.feed(b"CAPA\r\n")
    out = take(client)
    if out.startswith(b"-ERR"):  # a pending AUTH took the line as its response
        await session.feed(b"CAPA\r\n")
        out = take(client)
    assert out.startswith(b"+OK Capability list follows\r\n") and out.endswith(b"\r\n.\r\n"), out


async def try_command(scene: PopScene, state: State, cls: type[p.Command], line: bytes) -> None:
    client = await session_in(scene, state)
    session = client.session
    await session.feed(line + b"\r\n")
    out = take(client)
    assert b"SYS/TEMP" not in out, out
    assert re.fullmatch(rb"(\+|-ERR)[^\r\n]*\r\n(.*\r\n)?", out, re.DOTALL), out
    if state not in COMMANDS[cls].states:
        # Refused whole: one -ERR, nothing else, and the state is unchanged.
        assert re.fullmatch(rb"-ERR [^\r\n]*\r\n", out), out
        assert session.state is state and not session.closed
    elif cls is p.Quit:
        assert out.startswith(b"+OK Bye") and session.closed
    await still_usable(client)
    session.close()
    del scene.clients[client.name]


def with_every_pair(test: Callable[..., None]) -> Callable[..., None]:
    """Hypothesis draws at random; these examples make sure every pair is tried."""
    for state, (cls, line) in itertools.product(STATES, PAIRS):
        test = example(state=state, pair=(cls, line))(test)
    return test


def test_state_table(tmp_path: Path) -> None:
    def body(runner: asyncio.Runner, scene: PopScene) -> None:
        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @with_every_pair
        @given(state=st.sampled_from(STATES), pair=st.sampled_from(PAIRS))
        def check(state: State, pair: tuple[type[p.Command], bytes]) -> None:
            runner.run(try_command(scene, state, *pair))

        check()

    run_in_scene(tmp_path, body)


def test_random_command_sequences(tmp_path: Path) -> None:
    """Walks the state machine with real commands (USER/PASS included) from a fresh
    connection; deletions are never applied, so every walk sees the same maildrop."""

    def body(runner: asyncio.Runner, scene: PopScene) -> None:
        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            st.lists(
                st.sampled_from([pair for pair in PAIRS if pair[0] is not p.Quit]), max_size=10
            )
        )
        def check(steps: list[tuple[type[p.Command], bytes]]) -> None:
            runner.run(walk(scene, steps))

        check()

    run_in_scene(tmp_path, body)


async def walk(scene: PopScene, steps: list[tuple[type[p.Command], bytes]]) -> None:
    client = await session_in(scene, State.AUTHORIZATION)
    session = client.session
    for cls, line in steps:
        before = session.state
        await session.feed(line + b"\r\n")
        out = take(client)
        assert b"SYS/TEMP" not in out, (steps, out)
        if before not in COMMANDS[cls].states and not out.startswith(b"+ "):
            assert re.fullmatch(rb"-ERR [^\r\n]*\r\n", out), (steps, out)
        if session.closed:
            break
    await still_usable(client)
    session.close()
    del scene.clients[client.name]
    assert len(await scene.inbox_uids()) == 2


# --- arbitrary input -----------------------------------------------------------------------

TOKENS = [
    *(b" ", b"\r\n", b"\n", b"\r", b".", b"\x00", b"\xff", b"\xc3\xa9", b"=", b"*", b"+"),
    *(b"0", b"1", b"2", b"99999999999", b"-1", b"USER", b"PASS", b"AUTH", b"PLAIN", b"STLS"),
    *(b"STAT", b"LIST", b"UIDL", b"RETR", b"TOP", b"DELE", b"RSET", b"NOOP", b"CAPA", b"APOP"),
    *(ADDRESS.encode(), PASSWORD.encode(), b"AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA=="),
]


@pytest.mark.parametrize("state", STATES)
def test_random_bytes_get_only_well_formed_replies(tmp_path: Path, state: State) -> None:
    def body(runner: asyncio.Runner, scene: PopScene) -> None:
        @settings(max_examples=150, deadline=None)
        @given(st.binary(max_size=200))
        def check(data: bytes) -> None:
            runner.run(feed_junk(scene, state, data))

        check()

    run_in_scene(tmp_path, body)


@pytest.mark.parametrize("state", STATES)
def test_token_soup_never_crashes(tmp_path: Path, state: State) -> None:
    def body(runner: asyncio.Runner, scene: PopScene) -> None:
        @settings(max_examples=150, deadline=None)
        @given(st.lists(st.sampled_from(TOKENS), max_size=30))
        def check(tokens: list[bytes]) -> None:
            runner.run(feed_junk(scene, state, b"".join(tokens)))

        check()

    run_in_scene(tmp_path, body)


async def feed_junk(scene: PopScene, state: State, data: bytes) -> None:
    client = await session_in(scene, state)
    session = client.session
    await session.feed(data.replace(b"QUIT", b"quip"))  # no exception may escape
    out = take(client)
    assert b"SYS/TEMP" not in out, out
    assert not out or out.endswith(b"\r\n"), out
    for line in out.removesuffix(b"\r\n").split(b"\r\n") if out else []:
        assert _LINE.fullmatch(line), (data, out)
    session.close()
    del scene.clients[client.name]
    assert len(await scene.inbox_uids()) == 2
