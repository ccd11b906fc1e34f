"""The kill -9 harness (issue 9): `roost serve` under mixed load from several real clients
is killed with SIGKILL at random moments and restarted, again and again; after each restart
every acknowledged operation holds.

The load: two imaplib clients, each the only writer of its own mailbox and of the mailbox
it moves into (APPEND, STORE of flags, STORE \\Deleted + UID EXPUNGE, UID MOVE), a
submission client (smtplib, with AUTH) and an LMTP client, both delivering to a second
account. Each client keeps a model of what the server acknowledged; an operation cut off
by the kill leaves its messages *uncertain* (it may or may not have happened) until the
next check reads them. After each restart the checker verifies:

- every acknowledged message is there with its bytes and its acknowledged flags, and no
  acknowledged expunge or move came undone (the moved message is in its new mailbox only);
- the UIDVALIDITY did not change, and no UID was handed out twice: each new UID is above
  every UID the mailbox ever showed;
- MODSEQs strictly increase across the crash: HIGHESTMODSEQ is at least every MODSEQ
  acknowledged before, and each change after the restart gets a MODSEQ above them all;
- every message acknowledged by submission (250) or LMTP (250) is in the recipient's INBOX;
- `roost check` finds the store clean.

`make test` runs ROOST_KILLS=5 (the default); `make soak` runs 50.
"""

from __future__ import annotations

import imaplib
import os
import random
import re
import signal
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server

pytestmark = pytest.mark.e2e

KILLS = int(os.environ.get("ROOST_KILLS", "5"))
FLAGS = ("\\Flagged", "\\Answered", "$Label1")
Runner = Callable[[Server, threading.Event, threading.Event], None]
ClientErrors = (OSError, EOFError, imaplib.IMAP4.abort, imaplib.IMAP4.error, smtplib.SMTPException)


@dataclass
class Ports:
    submission: int = field(default_factory=free_port)
    lmtp: int = field(default_factory=free_port)


def serve(data_dir: Path, ports: Ports, imap: tuple[int, int] | None = None) -> Server:
    return start_server(
        data_dir,
        ports=imap,
        extra_env={
            "ROOST_SUBMISSION_PORT": str(ports.submission),
            "ROOST_LMTP_PORT": str(ports.lmtp),
        },
        listeners=5,  # IMAP x2, submission, LMTP and the LMTP socket
    )


@dataclass
class Mailbox:
    """What the server acknowledged for one mailbox that a single client writes."""

    name: str
    messages: dict[int, bytes] = field(default_factory=dict)  # uid -> bytes
    flags: dict[int, frozenset[str]] = field(default_factory=dict)
    modseqs: dict[int, int] = field(default_factory=dict)  # uid -> last acknowledged MODSEQ
    gone: set[int] = field(default_factory=set)  # acknowledged expunged or moved away
    uncertain: set[int] = field(default_factory=set)
    top_uid: int = 0  # the highest UID the mailbox ever showed or acknowledged
    top_modseq: int = 0
    uidvalidity: int | None = None

    def new_uid(self, uid: int) -> None:
        assert uid > self.top_uid, f"{self.name}: UID {uid} handed out again (had {self.top_uid})"
        self.top_uid = uid

    def new_modseq(self, uid: int, modseq: int) -> None:
        assert modseq > self.top_modseq, (
            f"{self.name}: MODSEQ {modseq} of UID {uid} is not above {self.top_modseq}"
        )
        self.top_modseq = modseq
        self.modseqs[uid] = modseq


@dataclass
class Tally:
    acknowledged: int = 0
    checked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self) -> None:
        with self.lock:
            self.acknowledged += 1


def message(tag: str, n: int, sender: str = "load@example.org") -> bytes:
    return (
        f"From: {sender}\r\nTo: load@example.org\r\nSubject: {tag} {n}\r\n"
        f"Message-ID: <{tag}.{n}.{time.monotonic_ns()}@kill9.test>\r\n"
        f"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\n".encode()
        + (f"{tag} {n} ".encode() * (1 + n % 40))
        + b"\r\n"
    )


FETCH = re.compile(rb"UID (\d+)|MODSEQ \((\d+)\)|FLAGS \(([^)]*)\)")


def parse_fetch(line: bytes) -> tuple[int, int | None, frozenset[str] | None]:
    uid, modseq, flags = 0, None, None
    for m in FETCH.finditer(line):
        if m.group(1):
            uid = int(m.group(1))
        elif m.group(2):
            modseq = int(m.group(2))
        else:
            flags = frozenset(m.group(3).decode().split()) - {"\\Recent"}
    return uid, modseq, flags


class ImapLoad:
    """One imaplib client: the only writer of `box` and of `box`/moved."""

    def __init__(self, user: str, name: str, rng: random.Random, tally: Tally) -> None:
        self.user, self.rng, self.tally = user, rng, tally
        self.box, self.moved = Mailbox(name), Mailbox(f"{name}/moved")
        self.n = 0

    def run(self, server: Server, stop: threading.Event, ready: threading.Event) -> None:
        try:
            client = imaplib.IMAP4(server.host, server.imap_port, timeout=20)
        except OSError:
            return
        try:
            client.login(self.user, PASSWORD)
            client.enable("CONDSTORE")
            client.select(self.box.name)
            while not stop.is_set():
                self.step(client)
                ready.set()
        except ClientErrors:
            pass  # killed under us: what was acknowledged before counts
        finally:
            client.shutdown()

    def step(self, client: imaplib.IMAP4) -> None:
        certain = sorted(set(self.box.messages) - self.box.uncertain)
        choice = self.rng.random()
        if choice < 0.45 or len(certain) < 3:
            self.append(client)
        elif choice < 0.7:
            self.store(client, self.rng.choice(certain))
        elif choice < 0.85:
            self.expunge(client, self.rng.choice(certain))
        else:
            self.move(client, self.rng.choice(certain))
        self.tally.ack()

    def append(self, client: imaplib.IMAP4) -> None:
        self.n += 1
        data = message(self.box.name, self.n)
        self.box.uncertain.add(-self.n)  # an APPEND in flight: its UID is not known yet
        typ, resp = client.append(self.box.name, "", None, data)
        m = re.search(rb"APPENDUID (\d+) (\d+)", resp[0] or b"")
        assert typ == "OK" and m, resp
        uid = int(m.group(2))
        self.box.uncertain.discard(-self.n)
        self.box.new_uid(uid)
        self.box.messages[uid], self.box.flags[uid] = data, frozenset()

    def store(self, client: imaplib.IMAP4, uid: int) -> None:
        flag = self.rng.choice(FLAGS)
        sign = "-" if flag in self.box.flags[uid] else "+"
        self.box.uncertain.add(uid)
        typ, resp = client.uid("STORE", str(uid), f"{sign}FLAGS", f"({flag})")
        assert typ == "OK", resp
        fetched = [parse_fetch(r) for r in resp if isinstance(r, bytes)]
        _, modseq, flags = next(f for f in fetched if f[0] == uid)
        assert modseq is not None and flags is not None, resp
        self.box.uncertain.discard(uid)
        self.box.new_modseq(uid, modseq)
        self.box.flags[uid] = flags

    def expunge(self, client: imaplib.IMAP4, uid: int) -> None:
        self.box.uncertain.add(uid)
        typ, resp = client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
        assert typ == "OK", resp
        typ, resp = client.uid("EXPUNGE", str(uid))
        assert typ == "OK", resp
        self.box.uncertain.discard(uid)
        self.forget(self.box, uid)

    def move(self, client: imaplib.IMAP4, uid: int) -> None:
        self.box.uncertain.add(uid)
        self.moved.uncertain.add(-uid)  # its UID there is not known yet
        typ, resp = client.uid("MOVE", str(uid), self.moved.name)
        assert typ == "OK", resp
        untagged = client.untagged_responses.pop("OK", [])
        text = b" ".join(r for r in [*untagged, *resp] if isinstance(r, bytes))
        m = re.search(rb"COPYUID \d+ \d+ (\d+)", text)
        assert m, (resp, untagged)
        new = int(m.group(1))
        self.moved.new_uid(new)
        self.moved.messages[new] = self.box.messages[uid]
        self.moved.flags[new] = self.box.flags[uid]
        self.box.uncertain.discard(uid)
        self.moved.uncertain.discard(-uid)
        self.forget(self.box, uid)

    @staticmethod
    def forget(box: Mailbox, uid: int) -> None:
        del box.messages[uid], box.flags[uid]
        box.modseqs.pop(uid, None)
        box.gone.add(uid)


class Delivery:
    """Submission (smtplib with AUTH) or LMTP (smtplib.LMTP), to `rcpt`."""

    def __init__(self, kind: str, sender: str, rcpt: str, port: int, tally: Tally) -> None:
        self.kind, self.sender, self.rcpt, self.port, self.tally = kind, sender, rcpt, port, tally
        self.acked: dict[str, bytes] = {}  # Message-ID -> the bytes sent
        self.n = 0

    def run(self, server: Server, stop: threading.Event, ready: threading.Event) -> None:
        try:
            client = (smtplib.LMTP if self.kind == "lmtp" else smtplib.SMTP)(
                server.host, self.port, timeout=20
            )
        except OSError:
            return
        try:
            client.ehlo("client.test")  # LHLO for LMTP
            if self.kind == "submission":
                client.login(self.sender, PASSWORD)
            while not stop.is_set():
                self.n += 1
                data = message(self.kind, self.n, self.sender)
                refused = client.sendmail(self.sender, [self.rcpt], data)
                assert refused == {}
                self.acked[message_id(data)] = data
                self.tally.ack()
                ready.set()
        except ClientErrors:
            pass
        finally:
            client.close()


def message_id(data: bytes) -> str:
    m = re.search(rb"Message-ID: (<[^>]+>)", data)
    assert m
    return m.group(1).decode()


class Checker:
    def __init__(self, server: Server, user: str, tally: Tally) -> None:
        self.client = imaplib.IMAP4(server.host, server.imap_port, timeout=60)
        self.client.login(user, PASSWORD)
        self.client.enable("CONDSTORE")
        self.tally = tally

    def mailbox(self, box: Mailbox) -> None:
        typ, _ = self.client.select(box.name, readonly=True)
        assert typ == "OK"
        uidvalidity = int(self.response("UIDVALIDITY"))
        highest = int(self.response("HIGHESTMODSEQ"))
        uidnext = int(self.response("UIDNEXT"))
        if box.uidvalidity is None:
            box.uidvalidity = uidvalidity
        assert uidvalidity == box.uidvalidity, f"{box.name}: UIDVALIDITY changed"
        assert highest >= box.top_modseq, f"{box.name}: HIGHESTMODSEQ went back to {highest}"
        assert uidnext > box.top_uid, f"{box.name}: UIDNEXT {uidnext} <= UID {box.top_uid}"
        seen = self.fetch_all(box.name)
        for uid, data in box.messages.items():
            if uid in box.uncertain:
                continue
            assert uid in seen, f"{box.name}: acknowledged UID {uid} is gone"
            got_bytes, got_flags, got_modseq = seen[uid]
            assert got_bytes == data, f"{box.name}: UID {uid} changed its bytes"
            assert got_flags == box.flags[uid], f"{box.name}: UID {uid} {got_flags}"
            if uid in box.modseqs:
                assert got_modseq == box.modseqs[uid], f"{box.name}: UID {uid} MODSEQ"
            self.tally.checked += 1
        for uid in box.gone - box.uncertain:
            assert uid not in seen, f"{box.name}: expunged UID {uid} is back"
            self.tally.checked += 1
        # What the kill left uncertain is now whatever the server holds.
        box.messages = {uid: s[0] for uid, s in seen.items()}
        box.flags = {uid: s[1] for uid, s in seen.items()}
        box.modseqs = {uid: s[2] for uid, s in seen.items()}
        box.gone |= {uid for uid in box.uncertain if uid > 0 and uid not in seen}
        box.uncertain.clear()
        box.top_uid = max([box.top_uid, *seen])
        box.top_modseq = max(box.top_modseq, highest)

    def deliveries(self, deliveries: list[Delivery]) -> None:
        self.client.select("INBOX", readonly=True)
        present: dict[str, bytes] = {}
        for data, _, _ in self.fetch_all("INBOX").values():
            m = re.search(rb"\r\nMessage-ID: (<[^>]+>)", data)
            if m:
                present[m.group(1).decode()] = data
        for delivery in deliveries:
            for mid, data in delivery.acked.items():
                assert mid in present, f"{delivery.kind}: acknowledged {mid} is not delivered"
                assert present[mid].endswith(data), (mid, present[mid][:400])
                self.tally.checked += 1

    def fetch_all(self, name: str) -> dict[int, tuple[bytes, frozenset[str], int]]:
        typ, resp = self.client.uid("FETCH", "1:*", "(FLAGS MODSEQ BODY.PEEK[])")
        assert typ == "OK", (name, resp)
        seen = {}
        for item in resp:
            if isinstance(item, tuple):
                uid, modseq, flags = parse_fetch(item[0])
                assert modseq is not None and flags is not None
                seen[uid] = (item[1], flags, modseq)
        return seen

    def response(self, code: str) -> bytes:
        typ, data = self.client.response(code)
        assert data and data[0] is not None, code
        return data[0]

    def close(self) -> None:
        self.client.logout()


def roost_check(server: Server) -> None:
    result = server.roost("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "clean" in result.stdout


def test_acknowledged_operations_survive_repeated_kill_9(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("ROOST_KILL_SEED", "9")))
    data_dir, ports = tmp_path / "data", Ports()
    server = serve(data_dir, ports)
    imap = (server.imap_port, server.imaps_port)
    owner, rcpt = server.add_user(), server.add_user()
    tally = Tally()
    loads = [ImapLoad(owner, name, random.Random(rng.random()), tally) for name in ("one", "two")]
    deliveries = [
        Delivery("submission", owner, rcpt, ports.submission, tally),
        Delivery("lmtp", "mta@remote.test", rcpt, ports.lmtp, tally),
    ]
    client = imaplib.IMAP4(server.host, server.imap_port)
    client.login(owner, PASSWORD)
    for load in loads:
        for box in (load.box, load.moved):
            assert client.create(box.name)[0] == "OK"
    client.logout()
    runners: list[Runner] = [
        *(load.run for load in loads),
        *(delivery.run for delivery in deliveries),
    ]
    errors: list[BaseException] = []

    def guarded(run: Runner) -> Runner:
        def go(server: Server, stop: threading.Event, ready: threading.Event) -> None:
            try:
                run(server, stop, ready)
            except BaseException as exc:  # an assertion of a client's model
                errors.append(exc)
                ready.set()

        return go

    started = time.monotonic()
    try:
        for _kill in range(KILLS):
            stop = threading.Event()
            readies = [threading.Event() for _ in runners]
            threads = [
                threading.Thread(target=guarded(run), args=(server, stop, ready))
                for run, ready in zip(runners, readies, strict=True)
            ]
            for thread in threads:
                thread.start()
            for ready in readies:  # the kill falls among the operations, not the logins
                ready.wait(60)
            assert all(ready.is_set() for ready in readies), errors  # each client was heard
            time.sleep(rng.uniform(0.05, 1.5))
            server.process.send_signal(signal.SIGKILL)
            server.process.wait()
            stop.set()
            for thread in threads:
                thread.join(30)
                assert not thread.is_alive()
            assert errors == [], errors
            stop_server(server)
            server = serve(data_dir, ports, imap)
            checker = Checker(server, owner, tally)
            for load in loads:
                checker.mailbox(load.box)
                checker.mailbox(load.moved)
            checker.close()
            checker = Checker(server, rcpt, tally)
            checker.deliveries(deliveries)
            checker.close()
            roost_check(server)
    finally:
        stop_server(server)
    took = time.monotonic() - started
    print(
        f"{KILLS} kills survived in {took:.0f} s: {tally.acknowledged} operations acknowledged,"
        f" {tally.checked} checks of acknowledged state"
    )
    assert tally.acknowledged >= KILLS * len(runners)
