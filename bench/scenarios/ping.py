"""ActiveSync push latency: from an IMAP `UID STORE` on one connection to the answer of an
ActiveSync Ping waiting on the same INBOX (issue 16: median under 20 ms). Roost only:
Dovecot serves no ActiveSync.

The device provisions once; then each trial sends a Ping (HeartbeatInterval 60 s) over
HTTPS, gives the server SETTLE seconds to start waiting, and times from sending the flag
change over IMAP to the Ping's answer (Status 2, INBOX changed). The device never syncs
between trials, so each Ping waits for changes after its own start.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time

import aiohttp

from bench.corpus import Corpus
from bench.scenarios.base import Context, Figure, Scenario, median, not_yet, percentile
from roost.proto.eas.wbxml import Element, decode, encode

TRIALS = 50
SETTLE = 0.2  # seconds between sending the Ping and making the change
TIMEOUT = 90  # seconds a request may take (a Ping waits up to its 60 s heartbeat)
DEVICE = "benchping1"
KEYS = (
    ("ActiveSync Ping latency UID STORE -> Ping: median", "ms", "lower"),
    ("ActiveSync Ping latency UID STORE -> Ping: p99", "ms", "lower"),
)


def _e(namespace: str, tag: str, *children: Element, value: str | None = None) -> Element:
    return Element(namespace, tag, children, value)


class EasDevice:
    """Just enough of a phone: Basic credentials, Provision, Ping."""

    def __init__(self, session: aiohttp.ClientSession, url: str, user: str) -> None:
        self.session, self.url, self.user = session, url, user
        self.policy_key = ""

    async def command(self, cmd: str, document: Element) -> Element:
        headers = {"Content-Type": "application/vnd.ms-sync.wbxml", "MS-ASProtocolVersion": "16.1"}
        if self.policy_key:
            headers["X-MS-PolicyKey"] = self.policy_key
        query = f"Cmd={cmd}&User={self.user}&DeviceId={DEVICE}&DeviceType=Bench"
        async with self.session.post(
            f"{self.url}?{query}",
            data=encode(document),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT),
        ) as response:
            response.raise_for_status()
            return decode(await response.read())

    async def provision(self) -> None:
        p = "Provision"
        kind = _e(p, "PolicyType", value="MS-EAS-Provisioning-WBXML")
        first = await self.command(p, _e(p, p, _e(p, "Policies", _e(p, "Policy", kind))))
        temporary = _text(first, p, "PolicyKey")
        ack = _e(
            p,
            p,
            _e(
                p,
                "Policies",
                _e(
                    p,
                    "Policy",
                    kind,
                    _e(p, "PolicyKey", value=temporary),
                    _e(p, "Status", value="1"),
                ),
            ),
        )
        self.policy_key = _text(await self.command(p, ack), p, "PolicyKey")

    async def inbox(self) -> str:
        fh = "FolderHierarchy"
        folders = await self.command(
            "FolderSync", _e(fh, "FolderSync", _e(fh, "SyncKey", value="0"))
        )
        for add in _all(folders, fh, "Add"):
            if add.child_text(fh, "Type") == "2":
                return add.child_text(fh, "ServerId") or ""
        raise RuntimeError("FolderSync named no inbox")

    def ping(self, folder: str) -> Element:
        p = "Ping"
        watched = _e(p, "Folder", _e(p, "Id", value=folder), _e(p, "Class", value="Email"))
        return _e(p, "Ping", _e(p, "HeartbeatInterval", value="60"), _e(p, "Folders", watched))


def _all(element: Element, namespace: str, tag: str) -> list[Element]:
    out = [element] if (element.namespace, element.tag) == (namespace, tag) else []
    for child in element.children:
        out += _all(child, namespace, tag)
    return out


def _text(element: Element, namespace: str, tag: str) -> str:
    found = _all(element, namespace, tag)
    if not found:
        raise RuntimeError(f"no {tag} in the answer")
    return found[0].text()


async def latency(ctx: Context, rep: int, trials: int = TRIALS) -> list[float]:
    """Seconds from each UID STORE to the Ping's answer."""
    assert ctx.https_port is not None
    user = ctx.user("ping")
    writer = await ctx.login("ping")
    reply = await writer.command("APPEND INBOX {}", [Corpus(ctx.seed + 700 + rep, 1).message(0)])
    uid = reply.code.split()[-1]
    await writer.command("SELECT INBOX")
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE  # the server's own certificate
    token = base64.b64encode(f"{user}:{ctx.password}".encode()).decode()
    url = f"https://{ctx.host}:{ctx.https_port}/Microsoft-Server-ActiveSync"
    times: list[float] = []
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=tls), headers={"Authorization": f"Basic {token}"}
    ) as session:
        device = EasDevice(session, url, user)
        await device.provision()
        inbox = await device.inbox()
        try:
            for i in range(trials):
                waiting = asyncio.ensure_future(device.command("Ping", device.ping(inbox)))
                await asyncio.sleep(SETTLE)
                flag = "+FLAGS.SILENT" if i % 2 == 0 else "-FLAGS.SILENT"
                start = time.perf_counter()
                stored = await writer.send(f"UID STORE {uid} {flag} (\\Flagged)")
                answer = await waiting
                times.append(time.perf_counter() - start)
                await writer.wait(stored)
                if _text(answer, "Ping", "Status") != "2":
                    raise RuntimeError(f"Ping answered {_text(answer, 'Ping', 'Status')}")
        finally:
            await writer.logout()
    return times


async def run(ctx: Context, rep: int) -> list[Figure]:
    if ctx.https_port is None:
        return not_yet(KEYS, "no ActiveSync")
    return figures(await latency(ctx, rep))


def figures(times: list[float]) -> list[Figure]:
    (median_key, unit, _), (p99_key, _, _) = KEYS
    return [
        Figure(median_key, median(times) * 1000, unit, "lower"),
        Figure(p99_key, percentile(times, 99) * 1000, unit, "lower"),
    ]


SCENARIO = Scenario("ping", run)
