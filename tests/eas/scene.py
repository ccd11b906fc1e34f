"""A harness for ActiveSync tests: the real HTTP layer (roost.http.app.public_app) on a
loopback port, over the real SQLite store and notifier, driven with aiohttp's client and
Roost's own WBXML codec. Another "device" (an IMAP session, the CLI) is played by calling
the store directly, which publishes after each commit as it always does."""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from roost.auth.throttle import Throttle, ThrottlePolicy
from roost.config import Config, load_config
from roost.delivery import analyse
from roost.http.app import Deps, HttpServer, public_app
from roost.metrics import Metrics
from roost.model import Uid
from roost.notify.local import LocalNotifier
from roost.proto.eas.wbxml import Element, decode, encode
from roost.sessions import Sessions
from roost.store.api import Account, Mailbox, NewMessage
from roost.store.engines.sqlite import SqliteStore
from tests.imap.transcript import ADDRESS, PASSWORD, password_hash

ENDPOINT = "/Microsoft-Server-ActiveSync"
WBXML = "application/vnd.ms-sync.wbxml"
DEVICE = "testdevice01"


def E(namespace: str, tag: str, *children: Element, value: str | bytes | None = None) -> Element:
    return Element(namespace, tag, children, value)


def A(tag: str, *children: Element, value: str | bytes | None = None) -> Element:
    return Element("AirSync", tag, children, value)


@dataclasses.dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def document(self) -> Element:
        assert self.status == 200, (self.status, self.body)
        return decode(self.body)


def message(subject: str, body: str = "hello", **headers: str) -> bytes:
    head = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (
        f"From: Bob <bob@example.org>\r\nTo: Alice <{ADDRESS}>\r\nSubject: {subject}\r\n"
        f"Date: Mon, 7 Feb 2022 21:52:25 -0800\r\n{head}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


class EasScene:
    def __init__(self, data_dir: Path, **settings: Any) -> None:
        base = load_config(None, {"ROOST_DATA_DIR": str(data_dir)}, hostname=lambda: "localhost")
        self.config: Config = dataclasses.replace(base, **settings)
        self.notifier = LocalNotifier()
        self.policy_key: str | None = None
        self.queue_wakes = 0
        self._store: SqliteStore | None = None
        self._account: Account | None = None
        self._inbox: Mailbox | None = None
        self._server: HttpServer | None = None
        self._client: aiohttp.ClientSession | None = None
        self.base = ""

    async def __aenter__(self) -> EasScene:
        self._store = await SqliteStore.open(self.config.data_dir, self.notifier)
        # A scene on the data of an earlier one (a restart) finds its account again.
        found = await self._store.find_account(ADDRESS)
        self._account = found or await self._store.create_account(ADDRESS, password_hash())
        self._inbox = await self._store.find_mailbox(self._account.id, "INBOX")
        deps = Deps(
            config=self.config,
            store=self._store,
            metrics=Metrics(),
            sessions=Sessions(),
            wake_queue=self._wake_queue,
            notifier=self.notifier,
            throttle=Throttle(ThrottlePolicy.from_config(self.config)),
        )
        self._server = HttpServer(public_app(deps))
        (address,) = await self._server.listen("127.0.0.1", 0, None)
        self.base = f"http://127.0.0.1:{address[1]}{ENDPOINT}"
        self._client = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.close()
        if self._server is not None:
            await self._server.close()
        await self.store.close()

    def _wake_queue(self) -> None:
        self.queue_wakes += 1

    @property
    def store(self) -> SqliteStore:
        assert self._store is not None
        return self._store

    @property
    def account(self) -> Account:
        assert self._account is not None
        return self._account

    @property
    def inbox(self) -> Mailbox:
        assert self._inbox is not None
        return self._inbox

    @property
    def client(self) -> aiohttp.ClientSession:
        assert self._client is not None
        return self._client

    async def append(
        self, data: bytes, mailbox: Mailbox | None = None, when: datetime | None = None
    ) -> Uid:
        target = mailbox or self.inbox
        new = NewMessage(data=data, parsed=analyse(data), internaldate=when)
        result = await self.store.append(target.id, [new])
        return result.uids[0]

    async def request(
        self,
        method: str,
        *,
        query: str = "",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = (ADDRESS, PASSWORD),
    ) -> Reply:
        sent = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            sent.setdefault("Authorization", f"Basic {token}")
        url = f"{self.base}?{query}" if query else self.base
        data = io.BytesIO(body) if body else None  # aiohttp warns of big raw bytes
        async with self.client.request(method, url, data=data, headers=sent) as response:
            return Reply(response.status, dict(response.headers), await response.read())

    async def command(
        self,
        cmd: str,
        document: Element | None,
        *,
        version: str = "16.1",
        device: str = DEVICE,
        policy_key: str | None = None,
        body: bytes | None = None,
    ) -> Reply:
        headers = {"Content-Type": WBXML, "MS-ASProtocolVersion": version}
        key = policy_key if policy_key is not None else self.policy_key
        if key is not None:
            headers["X-MS-PolicyKey"] = key
        data = body if body is not None else (b"" if document is None else encode(document))
        query = f"Cmd={cmd}&User={ADDRESS}&DeviceId={device}&DeviceType=TestPhone"
        return await self.request("POST", query=query, body=data, headers=headers)

    async def provision(self, device: str = DEVICE) -> str:
        """Both steps of [MS-ASPROV]; keeps and returns the final key."""
        P = "Provision"
        policy_type = E(P, "PolicyType", value="MS-EAS-Provisioning-WBXML")
        first = await self.command(
            P, E(P, P, E(P, "Policies", E(P, "Policy", policy_type))), device=device
        )
        temporary = _find(first.document, P, "PolicyKey").text()
        ack = E(
            P,
            P,
            E(
                P,
                "Policies",
                E(
                    P,
                    "Policy",
                    policy_type,
                    E(P, "PolicyKey", value=temporary),
                    E(P, "Status", value="1"),
                ),
            ),
        )
        second = await self.command(P, ack, device=device)
        self.policy_key = _find(second.document, P, "PolicyKey").text()
        return self.policy_key


def _find(element: Element, namespace: str, tag: str) -> Element:
    found = find_all(element, namespace, tag)
    assert found, f"no {namespace}:{tag} in {element}"
    return found[0]


def find_all(element: Element, namespace: str, tag: str) -> list[Element]:
    """Every element with this name in the tree, in document order."""
    out = [element] if (element.namespace, element.tag) == (namespace, tag) else []
    for child in element.children:
        out += find_all(child, namespace, tag)
    return out


def texts(element: Element, namespace: str, tag: str) -> list[str]:
    return [e.text() for e in find_all(element, namespace, tag)]


def first_text(element: Element, namespace: str, tag: str) -> str:
    return _find(element, namespace, tag).text()


def run(data_dir: Path, scenario: Callable[[EasScene], Awaitable[None]], **settings: Any) -> None:
    import asyncio

    async def main() -> None:
        async with EasScene(data_dir, **settings) as scene:
            await scenario(scene)

    asyncio.run(main())
