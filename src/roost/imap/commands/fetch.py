"""FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY).

What FETCH returns most (FLAGS, ENVELOPE, BODYSTRUCTURE, sizes) was computed once when the
message arrived; only body sections read the message bytes, and they are located through
the stored part map, never by parsing the message again. A FETCH of stored items only
(the initial sync of a device) takes the path of roost.imap.cached_fetch, which reads just
the columns those items need.

Responses stream with back-pressure, and what one FETCH may cost is bounded before any of
it is built (issue 9: `FETCH 1 (BODY.PEEK[] x200)` of a 10 MB message once took the server
to 4 GB): identical items are answered once; message bytes are read in batches of at most
READ_BATCH bytes (one message at least), each message's response goes out as it is
rendered, a large section as its own write; and the body sections asked of one message
may add up to at most RESPONSE_FACTOR times its size (plus RESPONSE_SLACK), else the
command is refused with NO [LIMIT] before anything is sent.
"""

from __future__ import annotations

import enum
import functools
from typing import TYPE_CHECKING

from roost.imap import cached_fetch
from roost.imap.reply import Reply, bad, no, ok
from roost.model import SEEN, ModSeq, Uid
from roost.proto import mime
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged
from roost.proto.imap.searchkeys import partial_page
from roost.proto.imap.seqset import absent, clip, compress, render_runs
from roost.proto.imap.strings import render_astring
from roost.store.api import FlagMode, MessageField, MessageFlags, MessageMeta

if TYPE_CHECKING:
    from roost.imap.selected import SelectedMailbox
    from roost.imap.session import Session

CHUNK = 256
READ_BATCH = 8 * 1024 * 1024  # message bytes held at once by one FETCH (one message at least)
WRITE_BATCH = 64 * 1024  # small pieces are joined up to this; a larger one is its own write
RESPONSE_FACTOR = 4  # body sections of one message: at most this many times its size...
RESPONSE_SLACK = 64 * 1024  # ...plus this
PART_TREES = 512  # messages whose parsed part tree is kept (part_tree), per process
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
    items = tuple(dict.fromkeys(cmd.items))  # an item asked twice is answered once
    if "MODSEQ" in items:
        await s.enable_condstore()
    if cmd.changedsince is None:
        uids = view.resolve(cmd.seqset, uid=cmd.uid)
    else:
        uids = await _changed_since(s, view, cmd)
    if cmd.partial is not None:
        # RFC 9394 §3.3: only the messages at these positions of the set (after
        # CHANGEDSINCE, which picks the set), counted in UID order
        uids = partial_page(sorted(uids), cmd.partial)
    if not await _within_budget(s, view, items, uids):
        return no(
            f"The sections asked would exceed {RESPONSE_FACTOR} times the size of a message;"
            " ask for fewer at once",
            "LIMIT",
        )
    try:
        for start in range(0, len(uids), CHUNK):
            await _fetch_chunk(s, view, items, uids[start : start + CHUNK])
    except UnknownTransferEncoding:
        return no("Unknown content-transfer-encoding", "UNKNOWN-CTE")
    return ok(f"{'UID ' if cmd.uid else ''}FETCH completed")


async def fetch_new(
    s: Session, view: SelectedMailbox, items: tuple[c.FetchItem, ...], uids: list[int]
) -> None:
    """NOTIFY MessageNew fetch attributes (RFC 5465 §5.1) for messages just announced."""
    wanted = [Uid(u) for u in uids]
    items = tuple(dict.fromkeys(items))
    if not await _within_budget(s, view, items, wanted):
        return  # the client can still FETCH them and hear why
    for start in range(0, len(wanted), CHUNK):
        try:
            await _fetch_chunk(s, view, items, wanted[start : start + CHUNK])
        except UnknownTransferEncoding:
            continue  # the client can still FETCH it and hear why


async def _changed_since(s: Session, view: SelectedMailbox, cmd: c.Fetch) -> list[Uid]:
    """RFC 7162 §3.1.4.1 CHANGEDSINCE (and §3.2.6 VANISHED): from the change log, so the
    cost follows the number of changes, not the size of the set or the mailbox."""
    assert cmd.changedsince is not None
    changes = await s.store.changes_since(
        view.mailbox_id, ModSeq(cmd.changedsince), viewer=view.viewer
    )
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
        if changes.complete_since(cmd.changedsince):
            gone = compress(u for u in changes.expunged if cmd.seqset.contains(u, top))
        else:
            # Past the tombstone floor (roost.store.mail.retention): every UID of the set that
            # is gone, as QRESYNC's SELECT says it (RFC 7162 §3.2.5.2).
            last = changes.uidnext - 1
            gone = render_runs(absent(view.uids, clip(cmd.seqset.resolve(last), last)))
        if gone:
            await s.send(untagged(b"VANISHED (EARLIER) " + gone))
    return [u for u in wanted if view.msn(u) is not None]


async def _fetch_chunk(
    s: Session, view: SelectedMailbox, items: tuple[c.FetchItem, ...], uids: list[Uid]
) -> None:
    stored = cached_fetch.plan(items, uidonly=view.uidonly)
    if stored is not None:
        # The sync path: only the columns these items need, and no per-item dispatch.
        rows = await s.store.fetch_fields(view.mailbox_id, uids, stored.fields, viewer=view.viewer)
        await s.send(cached_fetch.render(stored, view, rows, utf8=s.utf8))
        return
    metas = await s.store.fetch_meta(view.mailbox_id, uids, viewer=view.viewer)
    # RFC 4314 §4 FETCH: without "s", reading a body leaves \Seen as it was.
    may_see = s.access is None or s.access.may("s")
    marks_seen = (not view.readonly and may_see) and any(
        (isinstance(i, c.FetchBody) and not i.peek) or i in ("RFC822", "RFC822.TEXT") for i in items
    )
    new_flags: dict[int, MessageFlags] = {}
    if marks_seen:
        unseen = [m.uid for m in metas if SEEN not in m.flags]
        if unseen:
            result = await s.store.store_flags(
                view.mailbox_id, unseen, FlagMode.ADD, frozenset({SEEN}), viewer=view.viewer
            )
            for changed in result.changed:
                new_flags[changed.uid] = changed
                view.note_reported(changed.uid, changed.modseq)
    out = _Output(s)
    reads = _reads(items)
    for batch in _read_batches(reads, metas):
        for meta, data in zip(batch, await _message_bytes(s, reads, batch), strict=True):
            seen = new_flags.get(meta.uid)
            flags = meta.flags if seen is None else seen.flags
            pieces = [_item(view, item, meta, flags, data, s.utf8) for item in items]
            if seen is not None:
                # RFC 9051 §6.4.5: report the \Seen that this FETCH set; RFC 7162 §3.1.2.1:
                # with its new MODSEQ once CONDSTORE is on.
                if "FLAGS" not in items:
                    pieces.append((b"FLAGS " + view.flags(flags, meta.uid).encode(),))
                if s.condstore and "MODSEQ" not in items:
                    pieces.append((b"MODSEQ (%d)" % seen.modseq,))
            await out.message(_line_start(view, meta.uid), pieces)
    await out.flush()


class _Output:
    """Writes rendered messages: small pieces joined up to WRITE_BATCH, a large section
    as a write of its own, so that memory holds one batch of message bytes, not the
    response."""

    def __init__(self, s: Session) -> None:
        self._session = s
        self._pending: list[bytes] = []
        self._size = 0

    async def message(self, start: bytes, items: list[tuple[bytes, ...]]) -> None:
        self._add(start)
        for number, pieces in enumerate(items):
            if number:
                self._add(b" ")
            for piece in pieces:
                if len(piece) > WRITE_BATCH:
                    await self.flush()
                    await self._session.send(piece)
                else:
                    self._add(piece)
        self._add(b")\r\n")
        if self._size >= WRITE_BATCH:
            await self.flush()

    def _add(self, piece: bytes) -> None:
        self._pending.append(piece)
        self._size += len(piece)

    async def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._size = 0
            await self._session.send(data)


def _line_start(view: SelectedMailbox, uid: int) -> bytes:
    if view.uidonly:
        # RFC 9586 §3.3: UIDFETCH names the message by its UID instead of its number.
        return b"* %d UIDFETCH (" % uid
    return b"* %d FETCH (" % (view.msn(uid) or 0)


def _sections(items: tuple[c.FetchItem, ...]) -> list[c.FetchBody]:
    """The items that read message bytes, aliases (RFC822...) as their sections."""
    return [
        body
        for item in items
        if isinstance(
            body := _ALIASES.get(item, item) if isinstance(item, str) else item, c.FetchBody
        )
    ]


class _Reads(enum.Enum):
    """What of each message a FETCH's items read (decided once per command)."""

    NOTHING = "nothing"
    HEADER = "header"  # the top-level header only: a phone's list of new mail
    WHOLE = "whole"


def _reads(items: tuple[c.FetchItem, ...]) -> _Reads:
    sections = _sections(items)
    if not sections:
        return _Reads.NOTHING
    return _Reads.HEADER if all(_header_only(i) for i in sections) else _Reads.WHOLE


def _bytes_read(reads: _Reads, meta: MessageMeta) -> int:
    if reads is _Reads.NOTHING:
        return 0
    return meta.header_size if reads is _Reads.HEADER else meta.size


def _read_batches(reads: _Reads, metas: list[MessageMeta]) -> list[list[MessageMeta]]:
    """Consecutive messages whose bytes together stay under READ_BATCH (one at least)."""
    batches: list[list[MessageMeta]] = []
    total = 0
    for meta in metas:
        size = _bytes_read(reads, meta)
        if not batches or total + size > READ_BATCH:
            batches.append([])
            total = 0
        batches[-1].append(meta)
        total += size
    return batches


async def _within_budget(
    s: Session, view: SelectedMailbox, items: tuple[c.FetchItem, ...], uids: list[Uid]
) -> bool:
    """Whether the body sections asked of each message add up to at most RESPONSE_FACTOR
    times its size (plus RESPONSE_SLACK). No section is larger than its message (a decoded
    BINARY section neither), so up to RESPONSE_FACTOR sections need no look at the sizes."""
    sections = _sections(items)
    if len(sections) <= RESPONSE_FACTOR:
        return True
    fields = (MessageField.SIZE, MessageField.HEADER_SIZE)
    for start in range(0, len(uids), CHUNK):
        for _uid, size, header_size in await s.store.fetch_fields(
            view.mailbox_id, uids[start : start + CHUNK], fields
        ):
            asked = sum(_section_bound(i, size, header_size) for i in sections)
            if asked > RESPONSE_FACTOR * size + RESPONSE_SLACK:
                return False
    return True


def _section_bound(item: c.FetchBody, size: int, header_size: int) -> int:
    """The most bytes a section can return of a message of this size."""
    if item.size_only:
        return 0  # BINARY.SIZE is a number (RFC 3516 §4.2)
    bound = header_size if _header_only(item) else size
    return bound if item.partial is None else min(bound, item.partial[1])


async def _message_bytes(s: Session, reads: _Reads, metas: list[MessageMeta]) -> list[bytes]:
    """What of each message the items read: nothing, only its header, or all of it."""
    if reads is _Reads.NOTHING:
        return [b""] * len(metas)
    blobs = [m.blob_id for m in metas]
    if reads is _Reads.HEADER:
        # The top-level header ends at header_size: a phone's list of new mail reads that.
        return await s.store.read_blobs(blobs, prefixes=[m.header_size for m in metas])
    return await s.store.read_blobs(blobs)


def _header_only(item: c.FetchBody) -> bool:
    return not item.binary and not item.section.path and item.section.specifier in _HEADERS


def _item(
    view: SelectedMailbox,
    item: c.FetchItem,
    meta: MessageMeta,
    flags: frozenset[str],
    data: bytes,
    utf8: bool,
) -> tuple[bytes, ...]:
    """One item's response, as pieces to write one after the other."""
    if isinstance(item, str):
        if item in _ALIASES:
            content = section_bytes(data, meta, _ALIASES[item].section)
            return (item.encode() + b" ", *_literal(content or b""))
        return (cached_fetch.stored_item(item, meta, flags, view, utf8=utf8),)
    return _body(item, meta, data)


def _body(item: c.FetchBody, meta: MessageMeta, data: bytes) -> tuple[bytes, ...]:
    if item.binary:
        content = binary_bytes(data, meta, item.section.path)
        name = b"BINARY.SIZE" if item.size_only else b"BINARY"
        label = name + b"[" + b".".join(b"%d" % n for n in item.section.path) + b"]"
        if item.size_only:
            return (label + b" %d" % len(content or b""),)
    else:
        content = section_bytes(data, meta, item.section)
        label = b"BODY" + _section_label(item.section)
    if item.partial is not None and content is not None:
        start, length = item.partial
        content = content[start : start + length]
        label += b"<%d>" % start
    if content is None:
        return (label + b" NIL",)
    return (label + b" ", *_literal(content, binary=item.binary))


@functools.lru_cache(maxsize=64)
def _section_label(section: c.Section) -> bytes:
    # Once per command, not once per message: a section may name hundreds of fields.
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
    root = part_tree(meta.parts)
    if section.specifier.startswith("HEADER.FIELDS"):
        span = mime.section_range(root, section.path, "HEADER")
        if span is None:
            return None
        names = _field_names(section.fields)
        exclude = section.specifier.endswith(".NOT")
        return mime.header_fields(data[span[0] : span[1]], names, exclude=exclude)
    span = mime.section_range(root, section.path, section.specifier)
    return None if span is None else data[span[0] : span[1]]


@functools.lru_cache(maxsize=PART_TREES)
def part_tree(parts: bytes) -> mime.Part:
    """A message's MIME part tree from its stored JSON, parsed once while it is in use: a
    client asks for the sections of the same messages again and again (BODYSTRUCTURE,
    then each part; headers on every check), and a tree never changes (issue 17)."""
    return mime.deserialize_parts(parts)


@functools.lru_cache(maxsize=64)
def _field_names(fields: tuple[str, ...]) -> frozenset[str]:
    return frozenset(f.lower() for f in fields)


def binary_bytes(data: bytes, meta: MessageMeta, path: tuple[int, ...]) -> bytes | None:
    if not path:
        return data
    root = part_tree(meta.parts)
    part = mime.find_section(root, path)
    if part is None:
        return None
    decoded = mime.decode_body(data[part.body_start : part.end], part.encoding)
    if decoded is None:
        raise UnknownTransferEncoding(part.encoding)
    return decoded


def _literal(content: bytes, *, binary: bool = False) -> tuple[bytes, bytes]:
    # RFC 3516 §4.3: binary content that holds NUL goes out as literal8.
    prefix = b"~" if binary and b"\0" in content else b""
    return prefix + b"{%d}\r\n" % len(content), content
