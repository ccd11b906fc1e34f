"""A socket fuzzer (issue 9): real sessions of imaplib, poplib and smtplib (submission,
inbound SMTP, LMTP), and a raw IMAP one with SASL-IR, IDLE, NOTIFY and COMPRESS=DEFLATE,
are recorded through a small proxy as the chunks each client wrote, then mutated (bytes flipped, chunks split, dropped, repeated or cut short, junk and lines
of other sessions inserted) and replayed against `roost serve` from several threads for
ROOST_FUZZ_SECONDS (10 in `make test`, 600 in `make soak`). Afterwards an IMAP session
opened before the run still answers, a fresh login works, every other listener greets,
the server never logged a traceback and never answered [SERVERBUG].
"""

from __future__ import annotations

import base64
import imaplib
import os
import poplib
import random
import smtplib
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tests.e2e.conftest import PASSWORD, Server, free_port, start_server, stop_server
from tests.e2e.rawimap import RawImap

pytestmark = pytest.mark.e2e

SECONDS = float(os.environ.get("ROOST_FUZZ_SECONDS", "10"))
THREADS = 4
Transcript = list[bytes]  # the chunks a client wrote, in order


@dataclass
class Ports:
    pop3: int = field(default_factory=free_port)
    submission: int = field(default_factory=free_port)
    smtp: int = field(default_factory=free_port)
    lmtp: int = field(default_factory=free_port)


class Log:
    """The server's stderr, drained from a thread so that the pipe never fills."""

    def __init__(self, server: Server) -> None:
        assert server.process.stderr is not None
        self.stream = server.process.stderr
        self.data = bytearray()
        self.thread = threading.Thread(target=self.drain, daemon=True)
        self.thread.start()

    def drain(self) -> None:
        while chunk := os.read(self.stream.fileno(), 65536):
            self.data += chunk


class Recorder:
    """A one-connection proxy to `port` that keeps what the client wrote, chunk by chunk."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.chunks: Transcript = []
        self.thread = threading.Thread(target=self.relay, args=(port,))
        self.thread.start()

    def relay(self, port: int) -> None:
        client, _ = self.listener.accept()
        upstream = socket.create_connection(("127.0.0.1", port))
        back = threading.Thread(target=pump, args=(upstream, client, None))
        back.start()
        pump(client, upstream, self.chunks)
        back.join()
        client.close()
        upstream.close()
        self.listener.close()

    def transcript(self) -> Transcript:
        self.thread.join(30)
        return self.chunks


def pump(source: socket.socket, sink: socket.socket, keep: Transcript | None) -> None:
    try:
        while chunk := source.recv(65536):
            if keep is not None:
                keep.append(chunk)
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def imap_session(server: Server, port: int, user: str) -> None:
    client = imaplib.IMAP4(server.host, port)
    client.login(user, PASSWORD)
    client.capability()
    client.enable("CONDSTORE")
    client.create("fuzz")
    client.append("INBOX", "(\\Seen)", None, b"Subject: hi\r\nFrom: a@b.test\r\n\r\nhello\r\n")
    client.select("INBOX")
    client.fetch("1:*", "(UID FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    client.uid("FETCH", "1:*", "(BODY.PEEK[1]<0.10> MODSEQ)")
    client.search(None, "OR", "TEXT", "hello", "SINCE", "1-Jan-2020")
    client.uid("STORE", "1", "+FLAGS", "(\\Flagged $Fuzz)")
    client.uid("COPY", "1", "fuzz")
    client.uid("MOVE", "1", "fuzz")
    client.status("fuzz", "(MESSAGES UIDNEXT HIGHESTMODSEQ)")
    client.list('""', "*")
    client.rename("fuzz", "fuzz2")
    client.delete("fuzz2")
    client.expunge()
    client.logout()


def raw_imap_session(server: Server, port: int, user: str) -> None:
    """What imaplib does not send: SASL-IR, IDLE, a synchronizing literal, NOTIFY, and
    commands inside COMPRESS=DEFLATE (whose mutations then reach the inflater)."""
    plain = base64.b64encode(f"\0{user}\0{PASSWORD}".encode()).decode()
    with socket.create_connection((server.host, port), timeout=10) as sock:
        f = sock.makefile("rb", buffering=0)

        def until(tag: bytes) -> None:
            while not f.readline().startswith(tag):
                pass

        f.readline()
        for command in (f"a AUTHENTICATE PLAIN {plain}", "b SELECT INBOX (CONDSTORE)", "c IDLE"):
            sock.sendall(command.encode() + b"\r\n")
            until(command[:1].encode() if command[0] != "c" else b"+")
        sock.sendall(b"DONE\r\n")
        until(b"c ")
        body = b"Subject: literal\r\n\r\nbody\r\n"
        sock.sendall(b"d APPEND INBOX (\\Seen) {%d}\r\n" % len(body))
        until(b"+")
        sock.sendall(body + b"\r\n")
        until(b"d ")
        sock.sendall(
            b"e NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MailboxName))\r\n"
        )
        until(b"e ")
        sock.sendall(b"f COMPRESS DEFLATE\r\n")
        until(b"f ")
        out, inflate = zlib.compressobj(wbits=-15), zlib.decompressobj(wbits=-15)
        heard = b""
        for command in (b"g NOOP", b"h UID FETCH 1:* (FLAGS BODY.PEEK[])", b"i LOGOUT"):
            sock.sendall(out.compress(command + b"\r\n") + out.flush(zlib.Z_SYNC_FLUSH))
            while command[:2] not in heard:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                heard += inflate.decompress(chunk)
        f.close()


def pop3_session(server: Server, port: int, user: str) -> None:
    client = poplib.POP3(server.host, port)
    client.capa()
    client.user(user)
    client.pass_(PASSWORD)
    client.stat()
    client.list()
    client.uidl()
    client.retr(1)
    client.top(1, 2)
    client.dele(1)
    client.rset()
    client.quit()


def smtp_session(kind: str) -> Callable[[Server, int, str], None]:
    def session(server: Server, port: int, user: str) -> None:
        factory = smtplib.LMTP if kind == "lmtp" else smtplib.SMTP
        with factory(server.host, port) as client:
            client.ehlo("client.test")
            sender = user if kind == "submission" else "someone@remote.test"
            if kind == "submission":
                client.login(user, PASSWORD)
            data = f"From: {sender}\r\nTo: {user}\r\nSubject: fuzz\r\n\r\n.dot\r\nbody\r\n"
            client.sendmail(sender, [user], data.encode())
            client.noop()
            client.rset()

    return session


def mutate(rng: random.Random, transcripts: list[Transcript]) -> Transcript:
    chunks = list(rng.choice(transcripts))
    for _ in range(rng.randint(1, 6)):
        if not chunks:
            break
        i = rng.randrange(len(chunks))
        chunk = bytearray(chunks[i])
        edit = rng.randrange(7)
        if edit == 0 and chunk:  # flip bytes
            for _ in range(rng.randint(1, 4)):
                chunk[rng.randrange(len(chunk))] = rng.randrange(256)
            chunks[i] = bytes(chunk)
        elif edit == 1:  # split a chunk in two writes
            at = rng.randint(0, len(chunk))
            chunks[i : i + 1] = [bytes(chunk[:at]), bytes(chunk[at:])]
        elif edit == 2:  # cut the session short
            del chunks[i:]
        elif edit == 3:  # repeat a chunk
            chunks[i:i] = [bytes(chunk)] * rng.randint(1, 20)
        elif edit == 4:  # drop a chunk
            del chunks[i]
        elif edit == 5:  # a chunk of another session (another protocol, perhaps)
            chunks.insert(i, rng.choice(rng.choice(transcripts) or [b"\r\n"]))
        else:  # junk
            chunks.insert(i, rng.randbytes(rng.randint(1, 300)))
    return chunks


def replay(port: int, chunks: Transcript, deadline: float) -> bytes:
    """Writes each chunk, reading what the server has said so far; returns it all."""
    heard = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            for chunk in chunks:
                sock.sendall(chunk)
                heard += drain(sock, 0.02)
                if time.monotonic() > deadline:
                    break
            sock.shutdown(socket.SHUT_WR)
            heard += drain(sock, 0.5)
    except OSError:
        pass  # the server may close a connection that talks nonsense
    return heard


def drain(sock: socket.socket, wait: float) -> bytes:
    sock.settimeout(wait)
    heard = b""
    try:
        while len(heard) < 1 << 20 and (chunk := sock.recv(65536)):
            heard += chunk
    except TimeoutError:
        pass
    return heard


@dataclass
class Fuzzed:
    server: Server
    ports: Ports
    log: Log


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    ports = Ports()
    server = start_server(
        tmp_path_factory.mktemp("socket-fuzz"),
        extra_env={
            "ROOST_POP3_PORT": str(ports.pop3),
            "ROOST_SUBMISSION_PORT": str(ports.submission),
            "ROOST_SMTP_PORT": str(ports.smtp),
            "ROOST_LMTP_PORT": str(ports.lmtp),
        },
        listeners=7,  # IMAP x2, POP3, submission, SMTP, LMTP and the LMTP socket
    )
    log = Log(server)
    yield Fuzzed(server, ports, log)
    stop_server(server)


def test_mutated_sessions_never_hurt_the_server(fuzzed: Fuzzed) -> None:
    server, ports = fuzzed.server, fuzzed.ports
    user = server.add_user()
    sentinel = RawImap(server.host, server.imap_port)
    sentinel.ok(f'LOGIN {user} "{PASSWORD}"')
    sentinel.ok("SELECT INBOX")
    sessions: list[tuple[Callable[[Server, int, str], None], int]] = [
        (imap_session, server.imap_port),
        (raw_imap_session, server.imap_port),
        (smtp_session("lmtp"), ports.lmtp),
        (smtp_session("smtp"), ports.smtp),
        (smtp_session("submission"), ports.submission),
        (pop3_session, ports.pop3),
    ]
    recorded: list[tuple[int, Transcript]] = []
    for session, port in sessions:
        recorder = Recorder(port)
        session(server, recorder.port, user)
        recorded.append((port, recorder.transcript()))
    assert all(len(chunks) >= 5 for _, chunks in recorded), recorded
    transcripts = [chunks for _, chunks in recorded]

    replayed = [0] * THREADS
    serverbugs: list[bytes] = []
    end = time.monotonic() + SECONDS

    def fuzz(n: int) -> None:
        rng = random.Random(int(os.environ.get("ROOST_FUZZ_SEED", "9")) * 100 + n)
        while time.monotonic() < end:
            port, _ = rng.choice(recorded)
            heard = replay(port, mutate(rng, transcripts), time.monotonic() + 5)
            if b"SERVERBUG" in heard:
                serverbugs.append(heard[-2000:])
            replayed[n] += 1

    threads = [threading.Thread(target=fuzz, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 60)
    print(f"{sum(replayed)} mutated sessions replayed in {SECONDS:.0f} s")

    assert server.process.poll() is None
    sentinel.sock.settimeout(10)
    assert sentinel.command("NOOP")[0].split()[1] == "OK"
    fresh = RawImap(server.host, server.imap_port)
    fresh.ok(f'LOGIN {user} "{PASSWORD}"')
    fresh.ok("SELECT INBOX")
    fresh.close()
    sentinel.close()
    for port in (ports.pop3, ports.submission, ports.smtp, ports.lmtp):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            assert sock.recv(100)[:3] in (b"+OK", b"220")
    assert serverbugs == []
    log = bytes(fuzzed.log.data)
    assert b"login" in log  # the log is read: the sessions' login lines are in it
    assert b"Traceback" not in log, log[log.index(b"Traceback") - 2000 :][:6000].decode()
    assert sum(replayed) >= THREADS
