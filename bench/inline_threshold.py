"""`python -m bench.inline_threshold`: where a message stops being cheaper inside the SQLite
database than in a file of its own (roost.store.engines.sqlite.blobs.INLINE_LIMIT).

For each size, APPENDs of that size one after another into a fresh store, once with every
message a file (two fsyncs of its own before the commit's) and once with every message in
the database (the commit's WAL fsync only, but every octet written twice: the WAL, then the
checkpoint); the better of `--repeat` runs, in milliseconds per APPEND. Store-level, no
IMAP: the choice is the store's own.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import roost.store.engines.sqlite.blobs as blobs
from roost.delivery import analyse
from roost.store.api import NewMessage
from roost.store.engines.sqlite.store import SqliteStore

SIZES = (16_000, 64_000, 128_000, 256_000, 512_000, 1_000_000)


async def per_append(size: int, inline: bool, count: int, workdir: Path) -> float:
    """Milliseconds per APPEND of `count` messages of about `size` octets."""
    saved = blobs.INLINE_LIMIT
    blobs.INLINE_LIMIT = 1 << 40 if inline else -1
    data_dir = Path(tempfile.mkdtemp(dir=workdir))
    store = await SqliteStore.open(data_dir)
    try:
        account = await store.create_account("bench@example.org", "-")
        mailbox = await store.create_mailbox(account.id, "Bench")
        line = "y" * 76 + "\r\n"
        messages = []
        for i in range(count):
            data = (f"Subject: m{i}\r\n\r\n" + line * (size // len(line))).encode()
            messages.append(NewMessage(data=data, parsed=analyse(data), flags=frozenset()))
        start = time.perf_counter()
        for message in messages:
            await store.append(mailbox.id, [message])
        return (time.perf_counter() - start) / count * 1000
    finally:
        await store.close()
        blobs.INLINE_LIMIT = saved
        shutil.rmtree(data_dir)


async def main(count: int, repeat: int, workdir: Path) -> None:
    print("| size | file | in the database |")
    print("|---|---|---|")
    for size in SIZES:
        file = min([await per_append(size, False, count, workdir) for _ in range(repeat)])
        inline = min([await per_append(size, True, count, workdir) for _ in range(repeat)])
        print(f"| {size:,} octets | {file:.2f} ms | {inline:.2f} ms |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60, help="APPENDs per size and kind")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    asyncio.run(main(args.count, args.repeat, args.workdir))
