"""The command table (roost.imap.commands.COMMANDS: each command's states and handler),
tested for every (state, command) pair, plus arbitrary input: no crash, no [SERVERBUG],
and the session keeps answering.

Reaching AUTHENTICATED calls `session.logged_in(account)` (what LOGIN does once the password
checks out) rather than sending LOGIN, whose Argon2 check costs ~0.1 s per example; LOGIN
and AUTHENTICATE themselves are among the commands tried.
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

from roost.imap.commands import COMMANDS
from roost.imap.states import State
from roost.proto.imap import commands as c
from roost.proto.imap.receiver import Receiver
from tests.imap.transcript import ADDRESS, PASSWORD, Client, Scene, password_hash

# One or more sample lines (without tag) per command type; UID forms included.
SAMPLES: dict[type[c.Command], tuple[bytes, ...]] = {
    c.Capability: (b"CAPABILITY",),
    c.Noop: (b"NOOP",),
    c.Logout: (b"LOGOUT",),
    c.Id: (b"ID NIL", b'ID ("name" "hypothesis")'),
    c.StartTls: (b"STARTTLS",),
    c.Authenticate: (b"AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==",),
    c.Login: (f"LOGIN {ADDRESS} {PASSWORD}".encode(),),
    c.Enable: (b"ENABLE IMAP4rev2",),
    c.Select: (b"SELECT INBOX", b"EXAMINE Archive"),
    c.Create: (b"CREATE Work/New",),
    c.Delete: (b"DELETE Junk",),
    c.Rename: (b"RENAME Archive Old", b"RENAME INBOX Older"),
    c.Subscribe: (b"SUBSCRIBE Sent",),
    c.Unsubscribe: (b"UNSUBSCRIBE Sent",),
    c.List: (b'LIST "" *', b'LIST (SUBSCRIBED) "" % RETURN (STATUS (MESSAGES))', b'LSUB "" *'),
    c.Namespace: (b"NAMESPACE",),
    c.Status: (b"STATUS INBOX (MESSAGES UIDNEXT SIZE)",),
    c.Append: (b"APPEND INBOX (\\Seen) {10+}\r\nSubject: x", b"APPEND INBOX {0+}\r\n"),
    c.Idle: (b"IDLE",),
    c.Compress: (b"COMPRESS X-NONE",),  # DEFLATE itself needs a socket: tests/e2e
    c.Check: (b"CHECK",),
    c.Close: (b"CLOSE",),
    c.Unselect: (b"UNSELECT",),
    c.Expunge: (b"EXPUNGE", b"UID EXPUNGE 1:*"),
    c.Search: (
        b"SEARCH ALL",
        b"UID SEARCH RETURN (SAVE MIN) UNSEEN",
        b"SEARCH $",
        b"SEARCH RETURN (UPDATE) SEEN",
    ),
    c.CancelUpdate: (b'CANCELUPDATE "x"',),
    c.Sort: (
        b"SORT (REVERSE DATE) UTF-8 ALL",
        b"UID SORT RETURN (PARTIAL -1:-5) (SUBJECT) UTF-8 ALL",
    ),
    c.Thread: (b"THREAD REFERENCES UTF-8 ALL", b"UID THREAD ORDEREDSUBJECT US-ASCII YOUNGER 60"),
    c.Fetch: (b"FETCH 1 (FLAGS BODY[] BINARY[1] ENVELOPE)", b"UID FETCH 1:* BODYSTRUCTURE"),
    c.Store: (b"STORE 1 +FLAGS (\\Deleted)", b"UID STORE 1:* FLAGS.SILENT ()"),
    c.Copy: (b"COPY 1 Trash", b"UID MOVE 1:* Archive"),
    c.GetAcl: (b"GETACL INBOX",),
    c.SetAcl: (b"SETACL INBOX nobody@example.org +lr", b'SETACL Drafts x@y ""'),
    c.DeleteAcl: (b"DELETEACL INBOX nobody@example.org",),
    c.ListRights: (b"LISTRIGHTS INBOX nobody@example.org",),
    c.MyRights: (b"MYRIGHTS INBOX",),
    c.GetQuota: (b'GETQUOTA ""',),
    c.GetQuotaRoot: (b"GETQUOTAROOT INBOX",),
    c.SetQuota: (b'SETQUOTA "" (STORAGE 512)', b'SETQUOTA "" ()'),
    c.Replace: (b"REPLACE 1 Drafts {3+}\r\nabc", b"UID REPLACE * INBOX (\\Draft) {0+}\r\n"),
    c.Notify: (
        b"NOTIFY SET STATUS (SELECTED (MessageNew (UID FLAGS) MessageExpunge)) (PERSONAL NONE)",
        b"NOTIFY NONE",
    ),
    c.Esearch: (b"ESEARCH IN (PERSONAL) RETURN (COUNT) UNSEEN", b"ESEARCH IN (SELECTED) $"),
}
STATES = (State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED)
PAIRS = [(cls, line) for cls, lines in SAMPLES.items() for line in lines]
MESSAGE = b"Subject: hello\r\nFrom: bob@example.org\r\n\r\nHello.\r\n"
_STATUS_LINE = re.compile(rb"(\*|[^ ]+) (OK|NO|BAD|BYE)( .*)?|\+( .*)?")


def test_every_command_type_has_a_sample_and_a_handler() -> None:
    assert set(SAMPLES) == set(COMMANDS)
    for cls, line in PAIRS:
        receiver = Receiver()
        receiver.receive_data(b"t " + line + b"\r\n")
        assert type(receiver.next_event()) is cls, line


def run_in_scene(tmp_path: Path, body: Callable[[asyncio.Runner, Scene], None]) -> None:
    """Runs `body` with one scene open on one event loop (shared by hypothesis examples)."""
    with asyncio.Runner() as runner:
        scene = Scene(tmp_path)
        runner.run(scene.__aenter__())
        try:
            body(runner, scene)
        finally:
            runner.run(scene.__aexit__(None, None, None))


_names: Iterator[int] = itertools.count(1)


async def session_in(scene: Scene, state: State) -> Client:
    """A fresh connection in `state`, on a fresh account holding one message in INBOX."""
    n = next(_names)
    client = await scene.client(f"x{n}")
    session = client.session
    if state is not State.NOT_AUTHENTICATED:
        account = await scene.store.create_account(f"user{n}@example.org", password_hash())
        session.logged_in(account)
        await session.feed(b"s0 APPEND INBOX {%d+}\r\n%b\r\n" % (len(MESSAGE), MESSAGE))
    if state is State.SELECTED:
        await session.feed(b"s1 SELECT INBOX\r\n")
    assert session.state is state
    client.conn.output.clear()
    return client


def take(client: Client) -> bytes:
    out = bytes(client.conn.output)
    client.conn.output.clear()
    return out


async def still_usable(client: Client) -> None:
    session = client.session
    if session.idling is not None:
        await session.feed(b"DONE\r\n")
        assert take(client).endswith(b" OK IDLE terminated\r\n")
    await session.feed(b"n NOOP\r\n")
    out = take(client)
    assert out.endswith(b"n OK NOOP completed\r\n"), out
    assert b"SERVERBUG" not in out


async def try_command(scene: Scene, state: State, cls: type[c.Command], line: bytes) -> None:
    client = await session_in(scene, state)
    session = client.session
    await session.feed(b"t " + line + b"\r\n")
    out = take(client)
    assert b"SERVERBUG" not in out, out
    if state not in COMMANDS[cls].states:
        # Refused whole: one tagged BAD or NO, nothing else, and the state is unchanged.
        assert re.fullmatch(rb"t (BAD|NO) [^\r\n]*\r\n", out), out
        assert session.state is state
    elif cls is c.Logout:
        assert out.endswith(b"t OK LOGOUT completed\r\n") and session.closed
        return
    await still_usable(client)
    session.close()
    del scene.clients[client.name]


def with_every_pair(test: Callable[..., None]) -> Callable[..., None]:
    """Hypothesis draws at random; these examples make sure every pair is tried."""
    for state, (cls, line) in itertools.product(STATES, PAIRS):
        test = example(state=state, pair=(cls, line))(test)
    return test


def test_state_table(tmp_path: Path) -> None:
    def body(runner: asyncio.Runner, scene: Scene) -> None:
        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @with_every_pair
        @given(state=st.sampled_from(STATES), pair=st.sampled_from(PAIRS))
        def check(state: State, pair: tuple[type[c.Command], bytes]) -> None:
            runner.run(try_command(scene, state, *pair))

        check()

    run_in_scene(tmp_path, body)


def test_random_command_sequences(tmp_path: Path) -> None:
    """Walks the state machine with real commands (LOGIN included) from a fresh connection."""

    def body(runner: asyncio.Runner, scene: Scene) -> None:
        @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(st.sampled_from(PAIRS), max_size=8))
        def check(steps: list[tuple[type[c.Command], bytes]]) -> None:
            runner.run(walk(scene, steps))

        check()

    run_in_scene(tmp_path, body)


async def walk(scene: Scene, steps: list[tuple[type[c.Command], bytes]]) -> None:
    client = await session_in(scene, State.NOT_AUTHENTICATED)
    session = client.session
    for i, (cls, line) in enumerate(steps):
        before = session.state
        await session.feed(b"w%d %b\r\n" % (i, line))
        if session.idling is not None:
            await session.feed(b"DONE\r\n")
        out = take(client)
        assert b"SERVERBUG" not in out, (steps, out)
        if before not in COMMANDS[cls].states:
            assert re.fullmatch(rb"w%d (BAD|NO) [^\r\n]*\r\n" % i, out), out
        if session.closed:
            return
    await still_usable(client)
    session.close()
    del scene.clients[client.name]


# --- arbitrary input -----------------------------------------------------------------------

TOKENS = [
    *(b" ", b"\r\n", b"(", b")", b"[", b"]", b"<0.3>", b'"', b"\\", b"*", b"%", b"$", b"~"),
    *(b"{3}", b"{2+}", b"~{2}", b"{99999999999+}", b"\x00", b"\xff", b"\xc3\xa9", b"&Jjo-", b"&"),
    *(b"a", b"1", b"1:*", b"4294967296", b"UID", b"FETCH", b"STORE", b"SEARCH", b"COPY"),
    *(b"MOVE", b"SELECT", b"LIST", b"STATUS", b"APPEND", b"RENAME", b"CREATE", b"IDLE"),
    *(b"AUTHENTICATE", b"PLAIN", b"ENABLE", b"INBOX", b"BODY[", b"BODY.PEEK[", b"BINARY["),
    *(b"HEADER.FIELDS", b"TEXT", b"MIME", b"1.2", b"RETURN", b"SAVE", b"+FLAGS", b"\\Seen"),
    *(b"CHARSET", b"OR", b"NOT", b"HEADER", b"SINCE", b"1-Jan-2020", b"LARGER", b"DONE"),
]


@pytest.mark.parametrize("state", [State.AUTHENTICATED, State.SELECTED])
def test_random_bytes_get_only_status_responses(tmp_path: Path, state: State) -> None:
    def body(runner: asyncio.Runner, scene: Scene) -> None:
        @settings(max_examples=150, deadline=None)
        @given(st.binary(max_size=200), st.booleans())
        def check(data: bytes, tagged: bool) -> None:
            runner.run(feed_junk(scene, state, (b"z " if tagged else b"") + data, strict=True))

        check()

    run_in_scene(tmp_path, body)


@pytest.mark.parametrize("state", [State.NOT_AUTHENTICATED, State.SELECTED])
def test_token_soup_never_crashes(tmp_path: Path, state: State) -> None:
    def body(runner: asyncio.Runner, scene: Scene) -> None:
        @settings(max_examples=150, deadline=None)
        @given(st.lists(st.sampled_from(TOKENS), max_size=30))
        def check(tokens: list[bytes]) -> None:
            runner.run(feed_junk(scene, state, b"z " + b"".join(tokens), strict=False))

        check()

    run_in_scene(tmp_path, body)


async def feed_junk(scene: Scene, state: State, data: bytes, *, strict: bool) -> None:
    client = await session_in(scene, state)
    session = client.session
    await session.feed(data)  # no exception may escape
    out = take(client)
    assert b"SERVERBUG" not in out, out
    assert not out or out.endswith(b"\r\n"), out
    if strict:
        for line in out.removesuffix(b"\r\n").split(b"\r\n") if out else []:
            assert _STATUS_LINE.fullmatch(line), (data, out)
    session.close()
    del scene.clients[client.name]
