"""Nothing acknowledged is lost (DESIGN.md promise 1), tested with SIGKILL.

A child process appends messages from several concurrent loops and prints each uid once
`append` has returned (the acknowledgement). The test kills it at a random moment, reopens the store and checks
that every acknowledged message is there with its exact bytes, that no committed message
lost its blob, and that SQLite finds the database intact.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from roost.model import MailboxId, Uid
from roost.store.engines.sqlite import DATABASE, SqliteStore

RUNS = 3


def payload(i: int) -> bytes:
    """Message i: sizes vary so that blobs and rows are not all alike."""
    head = b"From: load@example.org\r\nSubject: message %d\r\n\r\n" % i
    return head + (b"line %d of message %d\r\n" % (i, i)) * (i * 37 % 400 + 1)


WRITERS = 4
CHILD = (
    "import asyncio, sys\n"
    f"WRITERS = {WRITERS}\n"
    "from pathlib import Path\n"
    "from roost.model import MailboxId, ParsedMessage\n"
    "from roost.store.api import NewMessage\n"
    "from roost.store.engines.sqlite import SqliteStore\n"
    + inspect.getsource(payload)
    + textwrap.dedent(
        """
        def parsed(data):
            head = data.index(b"\\r\\n\\r\\n") + 4
            return ParsedMessage(
                size=len(data), header_size=head, envelope=b"()", bodystructure=b"()",
                body=b"()", parts=b"", preview="", headers_text=data[:head].decode(),
                body_text=data[head:].decode(), sent_date=None, message_id=None,
            )

        async def appender(store, mailbox, i, step):
            while True:
                data = payload(i)
                result = await store.append(mailbox, [NewMessage(data=data, parsed=parsed(data))])
                print(result.uids[0], i, flush=True)
                i += step

        async def main(data_dir, mailbox):
            # Several appenders at once, so that acknowledgements also come from groups of
            # writes sharing one commit (roost.store.engines.sqlite, group commit).
            store = await SqliteStore.open(Path(data_dir))
            await asyncio.gather(*(appender(store, mailbox, k, WRITERS) for k in range(WRITERS)))

        asyncio.run(main(sys.argv[1], MailboxId(int(sys.argv[2]))))
        """
    )
)


async def make_inbox(data_dir: Path) -> MailboxId:
    store = await SqliteStore.open(data_dir)
    try:
        account = await store.create_account("load@example.org", "hash")
        return (await store.find_mailbox(account.id, "INBOX")).id
    finally:
        await store.close()


def record_ack(acked: dict[Uid, int], line: bytes) -> None:
    uid, i = line.split()
    acked[Uid(int(uid))] = int(i)


def run_and_kill(data_dir: Path, mailbox: MailboxId, rng: random.Random) -> dict[Uid, int]:
    """Starts the appender, SIGKILLs it after a random number of acks and a random pause;
    returns the acknowledged {uid: message number}."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), str(mailbox)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    acked: dict[Uid, int] = {}
    try:
        wanted = rng.randint(3, 40)
        while len(acked) < wanted:
            line = child.stdout.readline()
            assert line, f"appender died: {child.stderr.read().decode()}"
            record_ack(acked, line)
        time.sleep(rng.uniform(0, 0.03))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    # Through the buffered reader, not communicate(): readline may have read ahead of the
    # last line it returned, and communicate() reads the pipe itself, past that buffer.
    rest = child.stdout.read()
    child.stdout.close()
    child.stderr.close()
    # Lines printed before the kill were acknowledged too; a torn last line was not.
    for line in rest.splitlines(keepends=True):
        if line.endswith(b"\n"):
            record_ack(acked, line)
    assert child.returncode == -signal.SIGKILL
    return acked


async def verify(data_dir: Path, mailbox: MailboxId, acked: dict[Uid, int]) -> None:
    store = await SqliteStore.open(data_dir)
    try:
        present, _ = await store.uids(mailbox)
        assert set(acked) <= set(present)
        # Every committed message, acknowledged or not, must have its blob.
        for meta in await store.fetch_meta(mailbox, present):
            data = await store.read_blob(meta.blob_id)
            assert meta.size == len(data)
            if meta.uid in acked:
                assert data == payload(acked[meta.uid])
    finally:
        await store.close()


def test_acknowledged_appends_survive_sigkill(tmp_path: Path) -> None:
    rng = random.Random()
    data_dir = tmp_path / "data"
    mailbox = asyncio.run(make_inbox(data_dir))
    acked: dict[Uid, int] = {}
    for _run in range(RUNS):
        acked |= run_and_kill(data_dir, mailbox, rng)
        asyncio.run(verify(data_dir, mailbox, acked))
        with sqlite3.connect(data_dir / DATABASE) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
