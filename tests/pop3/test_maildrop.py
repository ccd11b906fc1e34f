"""The maildrop snapshot's pieces: message numbers and marks, and wire sizes measured once
per blob (roost.pop3.maildrop)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from roost.errors import MailError, MailErrorKind, ProtocolError
from roost.model import BlobId, MailboxId, Uid, UidValidity
from roost.pop3.maildrop import Entry, Maildrop, WireSizes, _batches


class Blobs:
    """The two store methods WireSizes uses, counting the reads; `gone` blobs are missing."""

    def __init__(self, blobs: dict[str, bytes], gone: frozenset[str] = frozenset()) -> None:
        self.blobs = blobs
        self.gone = gone
        self.read: list[str] = []

    async def read_blobs(self, blobs: Sequence[BlobId], **_: Any) -> list[bytes]:
        if any(b in self.gone for b in blobs):
            raise MailError(MailErrorKind.NONEXISTENT, "no such blob")
        self.read += blobs
        return [self.blobs[b] for b in blobs]

    async def read_blob(self, blob: BlobId) -> bytes:
        if blob in self.gone:
            raise MailError(MailErrorKind.NONEXISTENT, "no such blob")
        self.read.append(blob)
        return self.blobs[blob]


def measure(sizes: WireSizes, store: Blobs, *blobs: str) -> dict[BlobId, int]:
    pairs = [(BlobId(b), len(store.blobs[b])) for b in blobs]
    return asyncio.run(sizes.measure(store, pairs))  # type: ignore[arg-type]


def test_sizes_are_measured_once_per_blob() -> None:
    store = Blobs({"a": b"x\ny\n", "b": b"x\r\n", "c": b"no end"})
    sizes = WireSizes()
    assert measure(sizes, store, "a", "b") == {"a": 6, "b": 3}
    assert measure(sizes, store, "a", "b", "c") == {"a": 6, "b": 3, "c": 8}
    assert store.read == ["a", "b", "c"]  # a and b were not read again


def test_a_blob_that_is_gone_has_no_size() -> None:
    store = Blobs({"a": b"x\r\n", "b": b"y\r\n", "c": b"z\r\n"}, gone=frozenset({"b"}))
    assert measure(WireSizes(), store, "a", "b", "c") == {"a": 3, "c": 3}


def test_the_memo_is_bounded() -> None:
    store = Blobs(dict.fromkeys("abcd", b"x\r\n"))
    sizes = WireSizes(limit=2)
    measure(sizes, store, "a", "b", "c")
    assert set(sizes._known) == {"b", "c"}  # the oldest went first
    measure(sizes, store, "a")
    assert store.read == ["a", "b", "c", "a"]


def test_reads_are_batched_by_count_and_octets() -> None:
    blobs = [(BlobId(f"{i}"), 10) for i in range(600)]
    assert [len(b) for b in _batches(blobs)] == [256, 256, 88]
    big = [(BlobId("a"), 10 * 2**20), (BlobId("b"), 10 * 2**20), (BlobId("c"), 1)]
    assert [len(b) for b in _batches(big)] == [1, 2]


def test_numbers_marks_and_unique_ids() -> None:
    drop = Maildrop(
        mailbox=MailboxId(1),
        uidvalidity=UidValidity(77),
        entries=[Entry(Uid(3), 10), Entry(Uid(8), 20), Entry(Uid(9), 30)],
    )
    assert drop.totals() == (3, 60)
    assert drop.unique_id(drop.message(2)) == "77.8"
    for bad in (0, 4):
        with pytest.raises(ProtocolError, match=f"no message {bad}"):
            drop.message(bad)
    drop.delete(3)
    drop.delete(1)
    with pytest.raises(ProtocolError, match="message 1 is deleted"):
        drop.delete(1)
    assert drop.totals() == (1, 20)
    assert [msg for msg, _ in drop.present()] == [2]
    assert drop.marked() == [Uid(3), Uid(9)]
    drop.reset()
    assert drop.marked() == [] and drop.totals() == (3, 60)
