"""Reading every message of a mailbox through the store interface, in batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from roost.model import MailboxId, Uid
from roost.store.api import Account, Mailbox, MessageMeta, Store

__all__ = ["chosen_mailboxes", "mailbox_messages"]

BATCH = 500


async def mailbox_messages(
    store: Store, mailbox: MailboxId, batch: int = BATCH
) -> AsyncIterator[tuple[MessageMeta, bytes]]:
    """(metadata, bytes) of every message of mailbox, ascending by uid; a batch of metadata
    and their blobs read together."""
    uids, _ = await store.uids(mailbox)
    for start in range(0, len(uids), batch):
        chunk: list[Uid] = list(uids[start : start + batch])
        metas = await store.fetch_meta(mailbox, chunk)
        datas = await store.read_blobs([meta.blob_id for meta in metas])
        for meta, data in zip(metas, datas, strict=True):
            yield meta, data


async def chosen_mailboxes(store: Store, account: Account, mailbox: str | None) -> list[Mailbox]:
    """Every mailbox of account, or (named) that one and the mailboxes below it;
    NONEXISTENT if it is not there."""
    boxes = await store.list_mailboxes(account.id)
    if mailbox is None:
        return boxes
    top = await store.find_mailbox(account.id, mailbox)
    prefix = top.name.casefold() + "/"
    return [b for b in boxes if b.id == top.id or b.name.casefold().startswith(prefix)]


def require_empty(dest: Path) -> None:
    """ValueError unless dest is missing or an empty directory: an export never mixes
    into files already there."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"{dest} exists and is not empty: export into a new directory")
