"""CATENATE (RFC 4469): an APPENDed message built from literal text and from messages, or
their parts, already in the account, named by IMAP URLs (RFC 5092)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.errors import MailError
from roost.imap.commands.fetch import section_bytes
from roost.model import Uid
from roost.proto.imap import commands as c
from roost.proto.imap.cursor import SpooledLiteral
from roost.proto.imap.imapurl import MessageUrl, parse_message_url
from roost.spool import read_back

if TYPE_CHECKING:
    from roost.imap.session import Session


class BadUrl(Exception):
    """RFC 4469 §5: a URL that names no message (part) this user may read: the APPEND
    fails with NO [BADURL url] and stores nothing."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url

    @property
    def code(self) -> str:
        # url-resp-text excludes "]" (RFC 4469 §5).
        return "BADURL " + self.url.replace("]", "%5D")


async def assemble(s: Session, catenate: c.Catenate) -> bytes:
    out = []
    for part in catenate.parts:
        if isinstance(part, c.CatenateText):
            data = part.data
            out.append(await read_back(data.spool) if isinstance(data, SpooledLiteral) else data)
        else:
            out.append(await _url_bytes(s, part.url))
    return b"".join(out)


async def _url_bytes(s: Session, url: str) -> bytes:
    try:
        where = parse_message_url(url)
        return await _read(s, where)
    except (ValueError, MailError):
        raise BadUrl(url) from None


async def _read(s: Session, url: MessageUrl) -> bytes:
    assert s.account is not None
    mailbox = await s.store.find_mailbox(s.account.id, s.decode_mailbox(url.mailbox))
    if url.uidvalidity is not None and url.uidvalidity != mailbox.uidvalidity:
        raise ValueError("UIDVALIDITY differs")
    metas = await s.store.fetch_meta(mailbox.id, [Uid(url.uid)])
    if not metas:
        raise ValueError("no such message")
    meta = metas[0]
    data = await s.store.read_blob(meta.blob_id)
    content = data if url.section is None else section_bytes(data, meta, url.section)
    if content is None:
        raise ValueError("no such section")
    if url.partial is not None:
        start, length = url.partial
        content = content[start : None if length is None else start + length]
    return content
