"""Every device converges (DESIGN.md promise 2), as a property: a random sequence of appends,
flag changes, expunges, moves, renames and replaces from three devices — some idling, some
not; one with QRESYNC, one with QRESYNC and UIDONLY, one plain IMAP4rev1 — after which each
device's picture of each mailbox, built only from the responses it received
(tests/imap/device.py), equals the store's; a device that comes back to a mailbox it left
resynchronises with QRESYNC from what it cached.

Runs at the session level through the real codec and store (transcript.Scene), no sockets."""

from __future__ import annotations

import asyncio
import itertools
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from roost.model import Uid
from roost.proto.imap.seqset import compress
from tests.imap.device import DeviceView, ViewError
from tests.imap.transcript import Client, Scene

MAILBOXES = ("INBOX", "Work")
FLAGS = ("\\Seen", "\\Flagged", "\\Deleted", "$Work")
_VALIDITY = re.compile(r"\[UIDVALIDITY (\d+)\]")
_HIGHEST = re.compile(r"\[HIGHESTMODSEQ (\d+)\]")


@dataclass
class Device:
    client: Client
    qresync: bool
    names: dict[str, str]  # a mailbox (as the device knows it: MAILBOXID) -> its name now
    uidonly: bool = False  # ENABLE UIDONLY: UIDs only, both ways (RFC 9586)
    view: DeviceView = field(default_factory=DeviceView)
    mailbox: str | None = None
    idling: bool = False
    # mailbox -> (UIDVALIDITY, HIGHESTMODSEQ at its SELECT, uid -> flags when the device left)
    caches: dict[str, tuple[int, int, dict[int, frozenset[str]]]] = field(default_factory=dict)
    selected_at: tuple[int, int] = (0, 0)
    tags: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    log: list[str] = field(default_factory=list)

    def _take(self) -> list[str]:
        lines = list(self.client.receive())
        self.client.pending.clear()
        self.log.extend(f"S: {line}" for line in lines)
        return lines

    async def send(self, data: bytes) -> tuple[str, list[str]]:
        """One command; (its tagged line, the untagged lines before it)."""
        assert not self.idling
        tag = f"t{next(self.tags)}"
        self.log.append(f"C: {tag} {data[:80]!r}")
        await self.client.session.feed(tag.encode() + b" " + data + b"\r\n")
        lines = self._take()
        assert lines and lines[-1].startswith(tag + " "), lines
        return lines[-1], lines[:-1]

    async def command(self, data: bytes, *, may_be_gone: bool = False) -> list[str]:
        status, untagged = await self.send(data)
        self.view.feed(untagged)
        # REPLACE of a message another device expunged, unheard: NO, and nothing changes.
        gone = may_be_gone and " NO [NONEXISTENT] " in status
        assert status.split()[1] == "OK" or gone, (data, status)
        await self.fill()
        return untagged

    async def fill(self) -> None:
        """Fetch the messages an EXISTS announced, as a client does before anything else."""
        while (first := self.view.first_unknown()) is not None:
            if self.uidonly:
                known = [u for u in self.view.uids if u is not None]
                data = b"UID FETCH %d:* (FLAGS)" % ((known[-1] if known else 0) + 1)
            else:
                data = b"FETCH %d:* (UID FLAGS)" % first
            _, untagged = await self.send(data)
            self.view.feed(untagged)

    # --- IDLE ------------------------------------------------------------------------------
    async def idle(self) -> None:
        await self.client.session.feed(b"i IDLE\r\n")
        lines = self._take()
        assert lines[:1] == ["+ idling"], lines
        self.idling = True
        await self._heard(lines[1:])  # what was pending is sent at once

    async def _heard(self, lines: list[str]) -> None:
        self.view.feed(lines)
        if self.view.first_unknown() is not None:
            await self.done()
            await self.fill()
            await self.idle()

    async def push(self) -> None:
        """The server's IDLE loop: runs only when the notifier hinted this session."""
        listener = self.client.session.listener
        assert listener is not None
        try:
            async with asyncio.timeout(0):
                await listener.wait()
        except TimeoutError:
            return
        await self.client.session.push()
        if not self.idling:
            assert self._take() == []  # push outside IDLE sends nothing by design of the test
            return
        await self._heard(self._take())

    async def done(self) -> None:
        await self.client.session.feed(b"DONE\r\n")
        self.idling = False
        lines = self._take()
        assert lines and lines[-1] == "i OK IDLE terminated", lines
        self.view.feed(lines[:-1])

    # --- SELECT ------------------------------------------------------------------------------
    async def select(self, mailbox: str) -> None:
        if self.idling:
            await self.done()
        if self.mailbox is not None:
            self.caches[self.mailbox] = (*self.selected_at, self.view.snapshot())
        cached = self.caches.get(mailbox) if self.qresync else None
        name = self.names[mailbox]
        if cached is None:
            self.view.start_select()
            status, untagged = await self.send(f"SELECT {name}".encode())
            self.view.feed(untagged)
        else:
            validity, modseq, known = cached
            self.view.start_resync(known)
            uids = compress(sorted(known)).decode() if known else ""
            args = f"{validity} {modseq}" + (f" {uids}" if uids else "")
            status, untagged = await self.send(f"SELECT {name} (QRESYNC ({args}))".encode())
            self.view.feed(untagged)
            self.view.finish_resync()
        assert " OK " in status, status
        text = "\n".join(untagged)
        validity_m, highest_m = _VALIDITY.search(text), _HIGHEST.search(text)
        assert validity_m is not None and highest_m is not None
        if cached is not None:
            assert int(validity_m.group(1)) == cached[0]
        self.selected_at = (int(validity_m.group(1)), int(highest_m.group(1)))
        self.mailbox = mailbox
        await self.fill()

    # --- operations --------------------------------------------------------------------------
    def pick(self, k: int) -> tuple[int, int] | None:
        """(sequence number, UID) of the k-th message of the view, modulo its size."""
        if not self.view.uids:
            return None
        msn = 1 + k % len(self.view.uids)
        uid = self.view.uids[msn - 1]
        assert uid is not None
        return msn, uid


def _message(n: int) -> bytes:
    body = f"Subject: message {n}\r\n\r\nbody {n}\r\n".encode()
    return b"{%d+}\r\n%s" % (len(body), body)


Op = tuple[str, int, int, str, bool]
OPS = st.tuples(
    st.sampled_from(
        [
            *("append", "append", "store", "store", "expunge", "move", "noop", "idle"),
            *("switch", "rename", "replace"),
        ]
    ),
    st.integers(0, 2),
    st.integers(0, 60),
    st.sampled_from(FLAGS),
    st.booleans(),
)


async def run_op(device: Device, op: Op, n: int) -> None:
    name, _, k, flag, b = op
    if name == "idle":
        await (device.done() if device.idling else device.idle())
        return
    if device.idling:
        await device.done()
    if name == "append":
        flags = f"({flag}) " if b else ""
        target = device.names[MAILBOXES[k % 2]]
        await device.command(f"APPEND {target} {flags}".encode() + _message(n))
    elif name == "rename":
        # Devices follow a rename by MAILBOXID (RFC 8474): the name map is shared.
        await device.command(f"RENAME {device.names['Work']} Work{n}".encode())
        device.names["Work"] = f"Work{n}"
    elif name == "switch":
        await device.select(MAILBOXES[k % 2])
    else:
        await _selected_op(device, op)


async def _selected_op(device: Device, op: Op) -> None:
    name, _, k, flag, b = op
    picked = device.pick(k)
    if name == "noop" or picked is None:
        await device.command(b"NOOP")
        return
    msn, uid = picked
    prefix, ref = ("UID ", uid) if k % 2 or device.uidonly else ("", msn)
    if name == "store":
        mode = ("+", "-", "")[k % 3]
        if b:  # .SILENT: the client sets the flags itself
            device.view.apply_silent(uid, mode, frozenset({flag}))
        silent = ".SILENT" if b else ""
        await device.command(f"{prefix}STORE {ref} {mode}FLAGS{silent} ({flag})".encode())
    elif name == "expunge":
        device.view.apply_silent(uid, "+", frozenset({"\\Deleted"}))
        await device.command(f"{prefix}STORE {ref} +FLAGS.SILENT (\\Deleted)".encode())
        await device.command(b"EXPUNGE" if b else b"UID EXPUNGE %d" % uid)
    elif name == "move":
        other = device.names[MAILBOXES[1 - MAILBOXES.index(device.mailbox or "INBOX")]]
        await device.command(f"{prefix}MOVE {ref} {other}".encode())
    elif name == "replace":
        target = device.names[MAILBOXES[k % 2]]
        data = f"{prefix}REPLACE {ref} {target} ({flag}) ".encode() + _message(k)
        await device.command(data, may_be_gone=True)


async def server_state(scene: Scene, name: str) -> dict[int, frozenset[str]]:
    box = await scene.store.find_mailbox(scene.account.id, name)
    uids, _ = await scene.store.uids(box.id)
    return {f.uid: f.flags for f in await scene.store.fetch_flags(box.id, [Uid(u) for u in uids])}


async def converge(data_dir: Path, ops: list[Op]) -> None:
    async with Scene(data_dir) as scene:
        await scene.store.create_mailbox(scene.account.id, "Work")
        names = {mailbox: mailbox for mailbox in MAILBOXES}
        devices = []
        for i in range(3):
            client = await scene.client(i + 1)
            # Logged in without LOGIN: Argon2 costs half a second by design, per login.
            client.session.logged_in(scene.account)
            devices.append(Device(client, qresync=i < 2, names=names, uidonly=i == 1))
        for device in devices:
            if device.uidonly:
                await device.command(b"ENABLE QRESYNC UIDONLY")
            elif device.qresync:
                await device.command(b"ENABLE QRESYNC")
            await device.select("INBOX")
        try:
            for n, op in enumerate(ops):
                await run_op(devices[op[1]], op, n)
                for device in devices:
                    if device.idling:
                        await device.push()
            for device in devices:
                for mailbox in (*MAILBOXES, device.mailbox or "INBOX"):
                    await device.select(mailbox)
                    await device.command(b"NOOP")
                    assert device.view.snapshot() == await server_state(scene, names[mailbox])
        except (AssertionError, ViewError) as exc:
            logs = "\n\n".join(
                f"device {i + 1}:\n" + "\n".join(d.log) for i, d in enumerate(devices)
            )
            raise AssertionError(f"{exc}\n\n{logs}") from exc


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, max_size=30))
# A .SILENT STORE on a message another device re-flagged unheard (it was never reported).
@example([("append", 0, 0, "\\Seen", False), ("store", 1, 0, "\\Flagged", False),
          ("store", 0, 0, "\\Seen", True), ("noop", 1, 0, "\\Seen", False)])  # fmt: skip
def test_every_device_converges(ops: list[Op]) -> None:
    # tmpfs where there is one: fsync there costs nothing, and each example commits often.
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        asyncio.run(converge(Path(tmp), ops))
