"""FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY).

What FETCH returns most (FLAGS, ENVELOPE, BODYSTRUCTURE, sizes) was computed once when the
message arrived; only body sections read the message bytes, and they are located through
the stored part map, never by parsing the message again. A FETCH of stored items only
(the initial sync of a device) takes the path of roost.imap.cached_fetch, which reads just
the columns those items need. Responses go out a chunk of messages at a time with
back-pressure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.imap import cached_fetch
from roost.imap.reply import Reply, bad, no, ok
from roost.model import SEEN, ModSeq, Uid
from roost.proto import mime
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged
from roost.proto.imap.searchkeys import partial_page
from roost.proto.imap.seqset import compress
from roost.proto.imap.strings import render_astring
from roost.store.api import FlagMode, MessageFlags, MessageMeta

if TYPE_CHECKING:
    from roost.imap.selected import SelectedMailbox
    from roost.imap.session import Session

CHUNK = 256
_ALIASES = {
    # RFC 9051 §6.4.5: RFC822 is BODY[], RFC822.HEADER is BODY.PEEK[HEADER], RFC822.TEXT is
    # BODY[TEXT]; the response keeps the old name.
    "RFC822": c.FetchBody(section=c.Section()),
    "RFC822.HEADER": c.FetchBody(section=c.Section(specifier="HEADER"), peek=True),
    "RFC822.TEXT": c.FetchBody(section=c.Section(specifier="TEXT")),
}
# Sections that lie wholly in the message's own header (RFC 9051 §6.4.5).
_HEADERS = frozenset({"HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT"})


class UnknownTransferEncoding(Exception):
    pass


async def fetch(s: Session, cmd: c.Fetch) -> Reply:
    view = s.selected
    assert view is not None
    if not cmd.uid and view.exists and not view.valid_msns(cmd.seqset):
        return bad("Message sequence number out of range")
    if cmd.vanished and not s.qresync:
        return bad("ENABLE QRESYNC first (RFC 7162 §3.2.6)")
    if "MODSEQ" in cmd.items:
        await s.enable_condstore()
    if cmd.changedsince is None:
        uids = view.resolve(cmd.seqset, uid=cmd.uid)
    else:
        uids = await _changed_since(s, view, cmd)
    if cmd.partial is not None:
        # RFC 9394 §3.3: only the messages at these positions of the set (after
        # CHANGEDSINCE, which picks the set), counted in UID order
        uids = partial_page(sorted(uids), cmd.partial)
    try:
        for start in range(0, len(uids), CHUNK):
            await _fetch_chunk(s, view, cmd.items, uids[start : start + CHUNK])
    except UnknownTransferEncoding:
        return no("Unknown content-transfer-encoding", "UNKNOWN-CTE")
    return ok(f"{'UID ' if cmd.uid else ''}FETCH completed")


async def fetch_new(
    s: Session, view: SelectedMailbox, items: tuple[c.FetchItem, ...], uids: list[int]
) -> None:
    """NOTIFY MessageNew fetch attributes (RFC 5465 §5.1) for messages just announced."""
    wanted = [Uid(u) for u in uids]
    for start in range(0, len(wanted), CHUNK):
        try:
            await _fetch_chunk(s, view, items, wanted[start : start + CHUNK])
        except UnknownTransferEncoding:
            continue  # the client can still FETCH it and hear why


async def _changed_since(s: Session, view: SelectedMailbox, cmd: c.Fetch) -> list[Uid]:
    """RFC 7162 §3.1.4.1 CHANGEDSINCE (and §3.2.6 VANISHED): from the change log, so the
    cost follows the number of changes, not the size of the set or the mailbox."""
    assert cmd.changedsince is not None
    changes = await s.store.changes_since(view.mailbox_id, ModSeq(cmd.changedsince))
    if cmd.uid:
        largest = view.uids[-1] if view.uids else 0
        wanted = [m.uid for m in changes.changed if cmd.seqset.contains(m.uid, largest)]
    else:
        largest = view.exists
        wanted = [
            m.uid
            for m in changes.changed
            if (msn := view.msn(m.uid)) is not None and cmd.seqset.contains(msn, largest)
        ]
    if cmd.vanished:
        top = max(largest, max(changes.expunged, default=0))
        gone = [u for u in changes.expunged if cmd.seqset.contains(u, top)]
        if gone:
            await s.send(untagged(b"VANISHED (EARLIER) " + compress(gone)))
    return [u for u in wanted if view.msn(u) is not None]


async def _fetch_chunk(
    s: Session, view: SelectedMailbox, items: tuple[c.FetchItem, ...], uids: list[Uid]
) -> None:
    stored = cached_fetch.plan(items, uidonly=view.uidonly)
    if stored is not None:
        # The sync path: only the columns these items need, and no per-item dispatch.
        rows = await s.store.fetch_fields(view.mailbox_id, uids, stored.fields)
        await s.send(cached_fetch.render(stored, view, rows, utf8=s.utf8))
        return
    metas = await s.store.fetch_meta(view.mailbox_id, uids)
    marks_seen = not view.readonly and any(
        (isinstance(i, c.FetchBody) and not i.peek) or i in ("RFC822", "RFC822.TEXT") for i in items
    )
    new_flags: dict[int, MessageFlags] = {}
    if marks_seen:
        unseen = [m.uid for m in metas if SEEN not in m.flags]
        if unseen:
            result = await s.store.store_flags(
                view.mailbox_id, unseen, FlagMode.ADD, frozenset({SEEN})
            )
            for changed in result.changed:
                new_flags[changed.uid] = changed
                view.note_reported(changed.uid, changed.modseq)
            if result.changed:
                s.publish(view.mailbox_id, result.changed[0].modseq)
    lines = []
    for meta, data in zip(metas, await _message_bytes(s, items, metas), strict=True):
        seen = new_flags.get(meta.uid)
        flags = meta.flags if seen is None else seen.flags
        rendered = [_item(view, item, meta, flags, data, s.utf8) for item in items]
        if seen is not None:
            # RFC 9051 §6.4.5: report the \Seen that this FETCH set; RFC 7162 §3.1.2.1:
            # with its new MODSEQ once CONDSTORE is on.
            if "FLAGS" not in items:
                rendered.append(b"FLAGS " + view.flags(flags, meta.uid).encode())
            if s.condstore and "MODSEQ" not in items:
                rendered.append(b"MODSEQ (%d)" % seen.modseq)
        lines.append(_line(view, meta.uid, rendered))
    await s.send(b"".join(lines))


def _line(view: SelectedMailbox, uid: int, rendered: list[bytes]) -> bytes:
    if view.uidonly:
        # RFC 9586 §3.3: UIDFETCH names the message by its UID instead of its number.
        return b"* %d UIDFETCH (" % uid + b" ".join(rendered) + b")\r\n"
    return b"* %d FETCH (" % (view.msn(uid) or 0) + b" ".join(rendered) + b")\r\n"


async def _message_bytes(
    s: Session, items: tuple[c.FetchItem, ...], metas: list[MessageMeta]
) -> list[bytes]:
    """What of each message the items read: nothing, only its header, or all of it."""
    wanted = [i for i in items if isinstance(i, c.FetchBody) or i in _ALIASES]
    if not wanted:
        return [b""] * len(metas)
    blobs = [m.blob_id for m in metas]
    if all(_header_only(item) for item in wanted):
        # The top-level header ends at header_size: a phone's list of new mail reads that.
        return await s.store.read_blobs(blobs, prefixes=[m.header_size for m in metas])
    return await s.store.read_blobs(blobs)


def _header_only(item: c.FetchItem) -> bool:
    body = _ALIASES.get(item, item) if isinstance(item, str) else item
    assert isinstance(body, c.FetchBody)
    return not body.binary and not body.section.path and body.section.specifier in _HEADERS


def _item(
    view: SelectedMailbox,
    item: c.FetchItem,
    meta: MessageMeta,
    flags: frozenset[str],
    data: bytes,
    utf8: bool,
) -> bytes:
    if isinstance(item, str):
        if item in _ALIASES:
            content = section_bytes(data, meta, _ALIASES[item].section)
            return item.encode() + b" " + _literal(content or b"")
        return cached_fetch.stored_item(item, meta, flags, view, utf8=utf8)
    return _body(item, meta, data)


def _body(item: c.FetchBody, meta: MessageMeta, data: bytes) -> bytes:
    if item.binary:
        content = binary_bytes(data, meta, item.section.path)
        name = b"BINARY.SIZE" if item.size_only else b"BINARY"
        label = name + b"[" + b".".join(b"%d" % n for n in item.section.path) + b"]"
        if item.size_only:
            return label + b" %d" % len(content or b"")
    else:
        content = section_bytes(data, meta, item.section)
        label = b"BODY" + _section_label(item.section)
    if item.partial is not None and content is not None:
        start, length = item.partial
        content = content[start : start + length]
        label += b"<%d>" % start
    if content is None:
        return label + b" NIL"
    return label + b" " + _literal(content, binary=item.binary)


def _section_label(section: c.Section) -> bytes:
    spec = ".".join(
        [*(str(n) for n in section.path), *([section.specifier] if section.specifier else [])]
    )
    fields = b""
    if section.fields:
        fields = b" (" + b" ".join(render_astring(f) for f in section.fields) + b")"
    return b"[" + spec.encode() + fields + b"]"


def section_bytes(data: bytes, meta: MessageMeta, section: c.Section) -> bytes | None:
    if not section.path and not section.specifier:
        return data
    root = mime.deserialize_parts(meta.parts)
    if section.specifier.startswith("HEADER.FIELDS"):
        span = mime.section_range(root, section.path, "HEADER")
        if span is None:
            return None
        names = {f.lower() for f in section.fields}
        exclude = section.specifier.endswith(".NOT")
        return mime.header_fields(data[span[0] : span[1]], names, exclude=exclude)
    span = mime.section_range(root, section.path, section.specifier)
    return None if span is None else data[span[0] : span[1]]


def binary_bytes(data: bytes, meta: MessageMeta, path: tuple[int, ...]) -> bytes | None:
    if not path:
        return data
    root = mime.deserialize_parts(meta.parts)
    part = mime.find_section(root, path)
    if part is None:
        return None
    decoded = mime.decode_body(data[part.body_start : part.end], part.encoding)
    if decoded is None:
        raise UnknownTransferEncoding(part.encoding)
    return decoded


def _literal(content: bytes, *, binary: bool = False) -> bytes:
    # RFC 3516 §4.3: binary content that holds NUL goes out as literal8.
    prefix = b"~" if binary and b"\0" in content else b""
    return prefix + b"{%d}\r\n" % len(content) + content
