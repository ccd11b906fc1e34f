"""A copy of one account's mail as a Maildir, before `roost user delete` removes it.

Maildir (with Maildir++ folders: ".Sent", ".Archive.2024") is what Dovecot, mbsync,
mutt and Roost's own future importer read; each message keeps its bytes, its flags
(\\Seen S, \\Answered R, \\Flagged F, \\Deleted T, \\Draft D) and its arrival time (the
file's mtime). The copy is read through the store interface, so it works on either engine.
"""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from roost.model import Uid
from roost.store.api import Account, MessageMeta, Store

__all__ = ["Backup", "backup_account", "backup_path"]

BATCH = 500
_FLAGS = {"\\Seen": "S", "\\Answered": "R", "\\Flagged": "F", "\\Deleted": "T", "\\Draft": "D"}


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    mailboxes: int
    messages: int


def backup_path(data_dir: Path, address: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return data_dir / "backups" / f"{address}-{stamp}"


async def backup_account(store: Store, account: Account, dest: Path) -> Backup:
    """Writes every mailbox of account under dest (a new Maildir); returns what it wrote."""
    root = _open_maildir(dest)
    count = 0
    mailboxes = await store.list_mailboxes(account.id)
    for box in mailboxes:
        folder = root if box.name.upper() == "INBOX" else _folder(root, box.name)
        uids, _ = await store.uids(box.id)
        for start in range(0, len(uids), BATCH):
            batch: list[Uid] = list(uids[start : start + BATCH])
            for meta in await store.fetch_meta(box.id, batch):
                _add(folder, meta, await store.read_blob(meta.blob_id))
                count += 1
    return Backup(dest, len(mailboxes), count)


def _open_maildir(dest: Path) -> mailbox.Maildir:
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return mailbox.Maildir(dest, create=True)


def _folder(root: mailbox.Maildir, name: str) -> mailbox.Maildir:
    # Maildir++ separates levels with "."; a "." inside a name would read as a level.
    return root.add_folder(".".join(part.replace(".", "_") for part in name.split("/")))


def _add(folder: mailbox.Maildir, meta: MessageMeta, data: bytes) -> None:
    message = mailbox.MaildirMessage(data)
    message.set_subdir("cur")
    message.set_flags("".join(sorted(_FLAGS[f] for f in meta.flags if f in _FLAGS)))
    message.set_date(meta.internaldate.timestamp())
    folder.add(message)
