"""Session transcripts: IMAP conversations run through the real codec, session and store.

Theory of operation
-------------------
A `Scene` is one store (SQLite in a temporary directory), one in-process notifier and one
account, with any number of client connections. Each connection is a real `Session` over a
`FakeConnection` that collects what the server writes; there are no sockets and no sleeps.
A transcript is a script in the spirit of imaptest's:

    C1: a SELECT INBOX                    connection 1 sends this line (CRLF appended)
    S1: * 0 EXISTS                        the next line connection 1 received must match
    S1: a OK [READ-WRITE] ...             "..." matches any run of characters in a line
    S1: re:\\* \\d+ RECENT                "re:" makes the rest a regular expression
    S1: ...                               a line of just "..." skips zero or more lines
    P1:                                   the server's IDLE loop wakes connection 1: the
                                          notifier must have hinted it; session.push() runs

Checking is strict: when connection n sends its next line (and at the end of the script),
everything it received must have been matched, so a transcript also says what must NOT be
sent (an EXPUNGE during FETCH, say). Server output is split at CRLF, so a literal's content
shows up on its own lines, as on the wire. A connection comes to life when first named;
its greeting is checked only if an S line names it first.

In client lines `{name}` stands for a message given to `run(messages=...)`: it becomes the
non-synchronizing literal `{size+}` followed by the message (LF turned into CRLF), so
nobody counts octets by hand. A synchronizing literal is written out: `C1: a APPEND INBOX
{5}` / `S1: + Ready` / `C1: hello`.
"""

from __future__ import annotations

import asyncio
import functools
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from roost.auth.passwords import hash_password
from roost.config import Config, load_config
from roost.imap.session import Session
from roost.notify.local import LocalNotifier
from roost.store.api import Account
from roost.store.engines.sqlite import SqliteStore

ADDRESS = "alice@example.org"
PASSWORD = "secret"

_LINE = re.compile(r"([CSP])(\d+):(?: (.*))?\Z")
_MESSAGE_REF = re.compile(r"\{([A-Za-z_]\w*)\}")


@functools.cache
def password_hash() -> str:
    """Argon2 is slow on purpose; hash the test password once per run."""
    return hash_password(PASSWORD)


def crlf(text: str) -> bytes:
    """A message written in a test (dedented, LF line ends) as it travels: CRLF."""
    return textwrap.dedent(text).lstrip("\n").replace("\n", "\r\n").encode()


class FakeConnection:
    """The socket side of a session: remembers what the server wrote."""

    def __init__(self, *, secure: bool = False, loopback: bool = True) -> None:
        self.secure = secure
        self.loopback = loopback
        self.output = bytearray()

    async def write(self, data: bytes) -> None:
        self.output += data

    compressing = False

    async def start_tls(self) -> None:
        raise AssertionError("transcripts run without TLS")

    def start_compression(self, buffered: bytes) -> bytes:
        raise AssertionError("transcripts run without COMPRESS")


@dataclass
class Client:
    name: str
    session: Session
    conn: FakeConnection
    pending: list[str] = field(default_factory=list)  # received, not yet matched
    skipping: bool = False  # a "..." line is waiting for the next expectation

    def receive(self) -> list[str]:
        """Moves what the server wrote into `pending`, one entry per CRLF-ended line."""
        data = bytes(self.conn.output)
        self.conn.output.clear()
        if data:
            assert data.endswith(b"\r\n"), f"S{self.name}: output not ended by CRLF: {data!r}"
            text = data[:-2].decode("utf-8", "backslashreplace")
            self.pending.extend(text.split("\r\n"))
        return self.pending


def pattern(expected: str) -> re.Pattern[str]:
    if expected.startswith("re:"):
        return re.compile(expected[3:])
    return re.compile(".*".join(re.escape(part) for part in expected.split("...")), re.DOTALL)


class Scene:
    """One store, one notifier, one account (ADDRESS / PASSWORD) and numbered clients."""

    def __init__(self, data_dir: Path, *, remote: Iterable[int] = ()) -> None:
        self.data_dir = data_dir
        self.remote = {str(n) for n in remote}  # neither TLS nor loopback: no cleartext login
        self.config: Config = load_config(
            None, {"ROOST_DATA_DIR": str(data_dir)}, hostname=lambda: "localhost"
        )
        self.notifier = LocalNotifier()
        self.clients: dict[str, Client] = {}
        self._store: SqliteStore | None = None
        self._account: Account | None = None

    async def __aenter__(self) -> Scene:
        self._store = await SqliteStore.open(self.data_dir, self.notifier)
        self._account = await self._store.create_account(ADDRESS, password_hash())
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
        assert self._store is not None, "use `async with Scene(...)`"
        return self._store

    @property
    def account(self) -> Account:
        assert self._account is not None
        return self._account

    async def add_user(self, address: str) -> Account:
        """Another account, with the scene's password (log in with login(address=...))."""
        return await self.store.create_account(address, password_hash())

    # --- connections -------------------------------------------------------------------
    async def client(self, name: int | str, *, keep_greeting: bool = False) -> Client:
        name = str(name)
        if name not in self.clients:
            remote = name in self.remote
            conn = FakeConnection(secure=False, loopback=not remote)
            session = Session(
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

    def session(self, name: int | str) -> Session:
        return self.clients[str(name)].session

    async def login(self, *names: int, address: str = ADDRESS) -> None:
        """Logs connections in with LOGIN (not part of the checked transcript), as the
        scene's account or as another made with PASSWORD (`add_user`)."""
        for name in names:
            client = await self.client(name)
            await client.session.feed(f"L{name} LOGIN {address} {PASSWORD}\r\n".encode())
            lines = client.receive()
            assert lines and lines[-1].startswith(f"L{name} OK "), lines
            client.pending.clear()

    # --- running a transcript --------------------------------------------------------
    async def run(self, script: str, *, messages: Mapping[str, str | bytes] | None = None) -> None:
        bodies = {k: crlf(v) if isinstance(v, str) else v for k, v in (messages or {}).items()}
        for number, raw in enumerate(textwrap.dedent(script).split("\n"), 1):
            line = raw.lstrip(" ")
            if not line.strip():
                continue
            m = _LINE.match(line)
            assert m is not None, f"transcript line {number}: cannot read {raw!r}"
            kind, name, text = m.group(1), m.group(2), m.group(3) or ""
            where = f"transcript line {number} ({line!r})"
            if kind == "S":
                fresh = name not in self.clients
                self._expect(await self.client(name, keep_greeting=fresh), text, where)
                continue
            client = await self.client(name)
            self._settle(client, where)
            if kind == "C":
                await client.session.feed(_expand(text, bodies, where) + b"\r\n")
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
            # Trailing spaces are invisible in a script ("+ " reads as "+"): either matches.
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
        """Before a connection's next step: all it received must have been matched."""
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
            # Hinted already (the event is set): wait() returns without suspending, or, for
            # a session that also listens to the owners of shared mailboxes
            # (roost.notify.many), after one turn of the loop; nothing else runs meanwhile.
            async with asyncio.timeout(1):
                await listener.wait()
        except TimeoutError:
            raise AssertionError(f"{where}: the notifier did not wake {client.name}") from None
        await client.session.push()


def _expand(text: str, bodies: Mapping[str, bytes], where: str) -> bytes:
    out = bytearray()
    pos = 0
    for m in _MESSAGE_REF.finditer(text):
        name = m.group(1)
        assert name in bodies, f"{where}: no message named {name!r}"
        body = bodies[name]
        out += text[pos : m.start()].encode() + b"{%d+}\r\n" % len(body) + body
        pos = m.end()
    return bytes(out + text[pos:].encode())


def _show(lines: list[str]) -> str:
    return "\n".join(f"    {line}" for line in lines) or "    (nothing)"


def transcript(
    tmp_path: Path,
    script: str,
    *,
    login: Iterable[int] = (),
    messages: Mapping[str, str | bytes] | None = None,
    remote: Iterable[int] = (),
) -> None:
    """Runs one transcript in a fresh scene (the usual way a test uses this module)."""

    async def main() -> None:
        async with Scene(tmp_path, remote=remote) as scene:
            await scene.login(*login)
            await scene.run(script, messages=messages)

    asyncio.run(main())
