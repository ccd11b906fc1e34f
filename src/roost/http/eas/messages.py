"""Messages as ActiveSync items: their ServerIds, and what roost.proto.eas.email needs to
render one, read from the store in one batch."""

from __future__ import annotations

import re
from collections.abc import Sequence

from roost.model import MailboxId, Uid
from roost.proto.eas.email import EmailSource
from roost.proto.mime import deserialize_envelope, deserialize_parts, parse_message
from roost.store.api import MessageMeta, Store

__all__ = ["load", "parse_server_id", "server_id"]

_SERVER_ID = re.compile(r"(\d{1,19}):(\d{1,10})")


def server_id(mailbox: MailboxId, uid: Uid) -> str:
    """An item's ServerId: "<MAILBOXID>:<uid>", unique in the account ([MS-ASCMD]
    §2.2.3.166.6 allows up to 64 characters)."""
    return f"{mailbox}:{uid}"


def parse_server_id(text: str) -> tuple[MailboxId, Uid] | None:
    found = _SERVER_ID.fullmatch(text)
    if found is None:
        return None
    return MailboxId(int(found.group(1))), Uid(int(found.group(2)))


async def load(store: Store, mailbox: MailboxId, uids: Sequence[Uid]) -> list[EmailSource]:
    """The messages among uids that still exist, ascending by uid."""
    metas = await store.fetch_meta(mailbox, uids)
    if not metas:
        return []
    blobs = await store.read_blobs([m.blob_id for m in metas])
    return [_source(mailbox, meta, data) for meta, data in zip(metas, blobs, strict=True)]


def _source(mailbox: MailboxId, meta: MessageMeta, data: bytes) -> EmailSource:
    if meta.envelope_fields is not None and meta.parts:
        envelope, root = deserialize_envelope(meta.envelope_fields), deserialize_parts(meta.parts)
    else:  # stored before the protocol-neutral description existed
        envelope, root = parse_message(data)
    return EmailSource(
        data=data,
        root=root,
        envelope=envelope,
        flags=meta.flags,
        received=meta.internaldate,
        file_reference=server_id(mailbox, meta.uid),
    )
