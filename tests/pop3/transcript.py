"""POP3 session transcripts: POP3 and IMAP conversations on one account, run through the
real codecs, sessions and store, without sockets or sleeps.

Theory of operation
-------------------
A `PopScene` is one store (SQLite in a temporary directory), one in-process notifier and
one account, with any number of connections: those named p1, p2... are POP3 sessions,
those named i1, i2... IMAP sessions, each over a fake connection that collects what the
server writes. A script reads like the spec:

    Cp1: USER alice@example.org      POP3 connection p1 sends this line (CRLF appended)
    Sp1: +OK ...                     the next line p1 received must match ("..." matches
                                     any run of characters; "re:" makes a regex; a line
                                     of just "..." skips zero or more lines)
    Ci1: a IDLE                      IMAP connection i1 sends a line
    Pi1:                             i1's IDLE loop wakes: the notifier must have hinted
                                     it; session.push() runs
    Xp1:                             p1's connection drops (no QUIT)
    D: hello                         the message named "hello" is delivered to INBOX, as
                                     SMTP or LMTP would (the store publishes the hint)

Checking is strict, as in tests/imap/transcript.py: before a connection's next step (and
at the end) everything it received must have been matched, so a script also says what
must NOT be sent. A connection comes to life when first named; its greeting is checked
only if an S line names it first. POP3 sessions get a fake `sleep` that records the delays
after wrong passwords (`scene.slept`) and a fake TLS upgrade that only marks the
connection secure (`conn.tls_started`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from roost.config import Config, load_config
from roost.delivery import deliver
from roost.imap.session import Session as ImapSession
from roost.model import Uid
from roost.notify.local import LocalNotifier
from roost.pop3.maildrop import WireSizes
from roost.pop3.session import Session as PopSession
from roost.store.api import Account, Mailbox
from roost.store.engines.sqlite import SqliteStore
from tests.imap.transcript import ADDRESS, PASSWORD, crlf, password_hash, pattern
from tests.imap.transcript import FakeConnection as ImapConnection

__all__ = ["ADDRESS", "PASSWORD", "PopScene", "transcript"]

_LINE = re.compile(r"(?:([CSPX])([pi]\d+)|(D)):(?: (.*))?\Z")


class PopConnection:
    """The socket side of a POP3 session: remembers what the server wrote."""

    def __init__(self, *, secure: bool = False, loopback: bool = True) -> None:
        self.secure = secure
        self.loopback = loopback
        self.output = bytearray()
        self.tls_started = 0

    async def write(self, data: bytes) -> None:
        self.output += data

    async def start_tls(self) -> None:
        self.tls_started += 1
        self.secure = True


@dataclass
class Client:
    name: str
    session: Any  # a POP3 or an IMAP session
    conn: PopConnection | ImapConnection
    pending: list[str] = field(default_factory=list)  # received, not yet matched
    skipping: bool = False  # a "..." line is waiting for the next expectation

    def receive(self) -> list[str]:
        data = bytes(self.conn.output)
        self.conn.output.clear()
        if data:
            assert data.endswith(b"\r\n"), f"S{self.name}: output not ended by CRLF: {data!r}"
            text = data[:-2].decode("utf-8", "backslashreplace")
            self.pending.extend(text.split("\r\n"))
        return self.pending


class PopScene:
    """One store, one notifier, one account (ADDRESS / PASSWORD) and named connections."""

    def __init__(
        self,
        data_dir: Path,
        *,
        remote: Iterable[str] = (),
        tls: bool = False,
        **settings: Any,
    ) -> None:
        self.data_dir = data_dir
        self.remote = set(remote)  # neither TLS nor loopback: no cleartext login
        self.tls = tls  # whether STLS is offered
        base = load_config(None, {"ROOST_DATA_DIR": str(data_dir)}, hostname=lambda: "localhost")
        self.config: Config = dataclasses.replace(base, **settings)
        self.notifier = LocalNotifier()
        self.sizes = WireSizes()
        self.slept: list[float] = []
        self.clients: dict[str, Client] = {}
        self._store: SqliteStore | None = None
        self._account: Account | None = None
        self._inbox: Mailbox | None = None

    async def __aenter__(self) -> PopScene:
        self._store = await SqliteStore.open(self.data_dir, self.notifier)
        self._account = await self._store.create_account(ADDRESS, password_hash())
        self._inbox = await self._store.find_mailbox(self._account.id, "INBOX")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in self.clients.values():
            client.session.close()
        await self.store.close()

    @property
    def store(self) -> SqliteStore:
        assert self._store is not None, "use `async with PopScene(...)`"
        return self._store

    @property
    def account(self) -> Account:
        assert self._account is not None
        return self._account

    @property
    def inbox(self) -> Mailbox:
        assert self._inbox is not None
        return self._inbox

    # --- mail --------------------------------------------------------------------------
    async def deliver(self, message: str | bytes) -> Uid:
        data = crlf(message) if isinstance(message, str) else message
        result = await deliver(self.store, self.inbox.id, data)
        return result.uids[0]

    async def inbox_uids(self) -> list[Uid]:
        return list((await self.store.uids(self.inbox.id))[0])

    # --- connections -------------------------------------------------------------------
    async def client(self, name: str, *, keep_greeting: bool = False) -> Client:
        if name not in self.clients:
            remote = name in self.remote
            conn: PopConnection | ImapConnection
            if name.startswith("p"):
                conn = PopConnection(secure=False, loopback=not remote)
                session: Any = PopSession(
                    store=self.store,
                    config=self.config,
                    connection=conn,
                    tls_available=self.tls,
                    sizes=self.sizes,
                    sleep=self._sleep,
                )
            else:
                conn = ImapConnection(secure=False, loopback=not remote)
                session = ImapSession(
                    store=self.store,
                    notifier=self.notifier,
                    config=self.config,
                    connection=conn,
                    tls_available=False,
                )
            await session.greet()
            if not keep_greeting:
                conn.output.clear()
            self.clients[name] = Client(name, session, conn)
        return self.clients[name]

    async def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    async def login(self, *names: str) -> None:
        """Logs connections in (not part of the checked transcript)."""
        for name in names:
            client = await self.client(name)
            if name.startswith("p"):
                await client.session.feed(f"USER {ADDRESS}\r\nPASS {PASSWORD}\r\n".encode())
                ok = "+OK "
            else:
                await client.session.feed(f"L LOGIN {ADDRESS} {PASSWORD}\r\n".encode())
                ok = "L OK "
            lines = client.receive()
            assert lines and lines[-1].startswith(ok), lines
            client.pending.clear()

    # --- running a transcript --------------------------------------------------------
    async def run(self, script: str, *, messages: Mapping[str, str | bytes] | None = None) -> None:
        for number, raw in enumerate(textwrap.dedent(script).split("\n"), 1):
            line = raw.lstrip(" ")
            if not line.strip():
                continue
            m = _LINE.match(line)
            assert m is not None, f"transcript line {number}: cannot read {raw!r}"
            kind, name, text = m.group(1) or m.group(3), m.group(2), m.group(4) or ""
            where = f"transcript line {number} ({line!r})"
            if kind == "D":
                assert messages and text in messages, f"{where}: no message named {text!r}"
                await self.deliver(messages[text])
                continue
            if kind == "S":
                fresh = name not in self.clients
                self._expect(await self.client(name, keep_greeting=fresh), text, where)
                continue
            client = await self.client(name)
            self._settle(client, where)
            if kind == "C":
                await client.session.feed(text.encode() + b"\r\n")
            elif kind == "X":
                client.session.close()  # what the server does when the socket goes
            else:
                await self._push(client, where)
        for client in self.clients.values():
            self._settle(client, "the end of the transcript")

    def _expect(self, client: Client, expected: str, where: str) -> None:
        lines = client.receive()
        if expected == "...":
            client.skipping = True
            return
        regex = pattern(expected)
        while lines:
            if regex.fullmatch(lines[0]) or regex.fullmatch(lines[0].rstrip(" ")):
                lines.pop(0)
                client.skipping = False
                return
            if not client.skipping:
                break
            lines.pop(0)
        raise AssertionError(
            f"{where}: connection {client.name} expected {expected!r}, received:\n" + _show(lines)
        )

    def _settle(self, client: Client, where: str) -> None:
        lines = client.receive()
        if client.skipping:
            lines.clear()
            client.skipping = False
        if lines:
            raise AssertionError(
                f"before {where}: connection {client.name} received unmatched lines:\n"
                + _show(lines)
            )

    async def _push(self, client: Client, where: str) -> None:
        listener = client.session.listener
        assert listener is not None, f"{where}: connection {client.name} is not logged in"
        try:
            async with asyncio.timeout(0):
                await listener.wait()
        except TimeoutError:
            raise AssertionError(f"{where}: the notifier did not wake {client.name}") from None
        await client.session.push()


def _show(lines: list[str]) -> str:
    return "\n".join(f"    {line}" for line in lines) or "    (nothing)"


def transcript(
    tmp_path: Path,
    script: str,
    *,
    login: Iterable[str] = (),
    messages: Mapping[str, str | bytes] | None = None,
    deliver: Iterable[str] = (),
    remote: Iterable[str] = (),
    tls: bool = False,
    **settings: Any,
) -> PopScene:
    """Runs one transcript in a fresh scene: the messages named in `deliver` are in INBOX
    first, then the connections in `login` log in. Returns the (closed) scene, whose
    `slept` and `clients` a test may still look at."""

    async def main() -> PopScene:
        async with PopScene(tmp_path, remote=remote, tls=tls, **settings) as scene:
            for name in deliver:
                assert messages is not None
                await scene.deliver(messages[name])
            await scene.login(*login)
            await scene.run(script, messages=messages)
            return scene

    return asyncio.run(main())
