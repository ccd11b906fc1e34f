"""mbox in and out: From_ lines and their dates, Status/X-Status/X-Keywords flags.

An mbox file is messages one after another, each opened by a From_ line ("From sender
Sat Jan  3 01:05:34 1996", the date in asctime(3) form, in the writer's local time, which
is taken as UTC unless the line names an offset); that date becomes INTERNALDATE. A line
is a From_ line only if its date parses (as mutt's is_from does), so a body line that
begins "From " unquoted does not split a message. Lines of a body that begin with
">From ", ">>From "... lose one ">" (mboxrd; for mboxo the result is the same but for
lines that began ">From " already).

Flags live in headers the mail readers add: Status (R read: \\Seen; O: old, not new),
X-Status (A \\Answered, F \\Flagged, T \\Draft, D \\Deleted), X-Keywords (Dovecot's
keywords, separated by spaces or commas). They are removed from the stored message,
with the other mbox bookkeeping headers (X-UID, X-IMAP, X-IMAPbase), as Dovecot hides them.

Export writes one mbox file per mailbox under a directory ("Archive/2024" becomes
Archive/2024.mbox, so a mailbox and its children never clash), LF line ends, mboxrd
quoting, the flags in those headers, and the INTERNALDATE in the From_ line (UTC);
`roost import mbox DIR` reads such a directory back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from roost.store.api import Account, MessageMeta, Store
from roost.transfer.ingest import Incoming, Unreadable
from roost.transfer.progress import Progress
from roost.transfer.walk import chosen_mailboxes, mailbox_messages, require_empty

__all__ = ["export_mbox", "from_line_date", "mbox_files", "read_mbox"]

SUFFIX = ".mbox"
STATUS = {"R": "\\Seen"}
X_STATUS = {"A": "\\Answered", "F": "\\Flagged", "T": "\\Draft", "D": "\\Deleted"}
# The headers that are mbox bookkeeping, not part of the message.
BOOKKEEPING = (b"status", b"x-status", b"x-keywords", b"x-uid", b"x-imap", b"x-imapbase")
_QUOTED_FROM = re.compile(rb"^>+From ")
_NEEDS_QUOTE = re.compile(rb"^>*From ", re.MULTILINE)
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()
_TIME = re.compile(r"(\d{1,2}):(\d\d)(?::(\d\d))?")
_OFFSET = re.compile(r"[+-]\d{4}")
_BLANK_LINE = re.compile(rb"\n\r?\n")


# ----- reading -----------------------------------------------------------------------


def from_line_date(line: bytes) -> datetime | None:
    """The date of a From_ line ("From sender Www Mmm dd hh:mm:ss [zone] yyyy"), or
    None if line is not one."""
    if not line.startswith(b"From "):
        return None
    words = line.decode("latin-1").split()
    # The sender may be missing or hold spaces; the date is the last words.
    for start in range(1, len(words)):
        if words[start] in _DAYS:
            found = _asctime(words[start:])
            if found is not None:
                return found
    return None


def _asctime(words: list[str]) -> datetime | None:
    # Www Mmm dd hh:mm[:ss] [zone] yyyy [zone]
    if len(words) < 5 or words[1] not in _MONTHS or not words[2].isdigit():
        return None
    clock = _TIME.fullmatch(words[3])
    rest = words[4:]
    years = [w for w in rest if len(w) == 4 and w.isdigit()]
    if clock is None or not years or len(rest) > 3:
        return None
    offsets = [w for w in rest if _OFFSET.fullmatch(w)]
    zone: timezone = UTC
    if offsets:
        sign = -1 if offsets[0][0] == "-" else 1
        minutes = int(offsets[0][1:3]) * 60 + int(offsets[0][3:5])
        zone = timezone(sign * timedelta(minutes=minutes))
    hour, minute, second = (int(clock.group(i) or 0) for i in (1, 2, 3))
    try:
        return datetime(
            int(years[0]), _MONTHS.index(words[1]) + 1, int(words[2]), hour, minute, second,
            tzinfo=zone,
        )  # fmt: skip
    except ValueError:
        return None


def mbox_files(path: Path) -> list[tuple[tuple[str, ...], Path]]:
    """(folder, file): path itself if it is a file; else every mbox file below the
    directory, the folder named by its relative path without ".mbox"."""
    if path.is_file():
        return [((), path)]
    if not path.is_dir():
        raise ValueError(f"{path} is neither an mbox file nor a directory of them")
    found: list[tuple[tuple[str, ...], Path]] = []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if not file.is_file() or any(p.startswith(".") for p in relative.parts):
            continue
        if file.suffix in (".msf", ".lock"):  # Thunderbird's index, a dot-lock
            continue
        parts = (*relative.parts[:-1], relative.name.removesuffix(SUFFIX))
        found.append((parts, file))
    return found


def read_mbox(path: Path) -> Iterator[Incoming | Unreadable]:
    """Every message of the mbox file at path, or of every mbox file below a directory."""
    for folder, file in mbox_files(path):
        with file.open("rb") as stream:
            yield from _messages(stream, folder, str(file))


def _messages(
    stream: BinaryIO, folder: tuple[str, ...], origin: str
) -> Iterator[Incoming | Unreadable]:
    number = 0
    date: datetime | None = None
    lines: list[bytes] = []
    started = False
    for line in stream:
        found = from_line_date(line)
        if found is not None:
            if started:
                number += 1
                yield _message(lines, folder, date, f"{origin} message {number}")
            elif lines and any(line.strip() for line in lines):
                yield Unreadable(f"{origin}", "text before the first From_ line")
            started, date, lines = True, found, []
            continue
        lines.append(line)
    if started:
        yield _message(lines, folder, date, f"{origin} message {number + 1}")
    elif any(line.strip() for line in lines):
        yield Unreadable(origin, "no From_ line: not an mbox file")


def _message(
    lines: list[bytes], folder: tuple[str, ...], date: datetime | None, origin: str
) -> Incoming:
    if lines and lines[-1].strip() == b"":
        lines = lines[:-1]  # the blank line that separates it from the next From_ line
    body = [line[1:] if _QUOTED_FROM.match(line) else line for line in lines]
    data, flags = _take_bookkeeping(b"".join(body))
    return Incoming(folder=folder, data=data, flags=flags, internaldate=date, origin=origin)


def _take_bookkeeping(data: bytes) -> tuple[bytes, frozenset[str]]:
    """The message without its mbox bookkeeping headers, and the flags they held."""
    end = _header_end(data)
    kept: list[bytes] = []
    flags: set[str] = set()
    skipping = False
    for line in data[:end].splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name, _, value = line.partition(b":")
        skipping = name.strip().lower() in BOOKKEEPING
        if skipping:
            flags |= _header_flags(name.strip().lower(), value.decode("latin-1").strip())
        else:
            kept.append(line)
    return b"".join(kept) + data[end:], frozenset(flags)


def _header_end(data: bytes) -> int:
    """Where the header section ends (at its blank line), or len(data)."""
    match = _BLANK_LINE.search(data)
    return len(data) if match is None else match.start() + 1


def _header_flags(name: bytes, value: str) -> set[str]:
    if name == b"status":
        return {STATUS[c] for c in value if c in STATUS}
    if name == b"x-status":
        return {X_STATUS[c] for c in value if c in X_STATUS}
    if name == b"x-keywords":
        return {word for word in value.replace(",", " ").split() if word}
    return set()


# ----- writing -----------------------------------------------------------------------


def mailbox_file(root: Path, name: str) -> Path:
    parts = name.split("/")
    return root.joinpath(*parts[:-1], parts[-1] + SUFFIX)


async def export_mbox(
    store: Store, account: Account, dest: Path, progress: Progress, *, mailbox: str | None = None
) -> int:
    """Writes each mailbox of the account (or `mailbox` and those below it) as an mbox
    file under the directory dest, which must not exist or be empty; returns how many."""
    require_empty(dest)
    boxes = await chosen_mailboxes(store, account, mailbox)
    for box in boxes:
        file = mailbox_file(dest, box.name)
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with file.open("wb") as out:
            async for meta, data in mailbox_messages(store, box.id):
                out.write(mbox_entry(meta, data))
                progress.advance(octets=len(data))
    return len(boxes)


def mbox_entry(meta: MessageMeta, data: bytes) -> bytes:
    """One message as an mbox entry: From_ line, bookkeeping headers, quoted body, blank."""
    text = data.replace(b"\r\n", b"\n")
    end = _header_end(text)
    head, rest = text[:end], text[end:]
    if head and not head.endswith(b"\n"):
        head += b"\n"
    head += _flag_headers(meta.flags)
    when = _asctime_text(meta.internaldate)
    quoted = _NEEDS_QUOTE.sub(lambda m: b">" + m.group(0), head + rest)
    if not quoted.endswith(b"\n"):
        quoted += b"\n"
    return b"From MAILER-DAEMON " + when.encode() + b"\n" + quoted + b"\n"


def _asctime_text(moment: datetime) -> str:
    t = moment.astimezone(UTC)
    clock = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:2d} {clock} {t.year}"


def _flag_headers(flags: frozenset[str]) -> bytes:
    folded = {f.casefold() for f in flags}
    status = "RO" if "\\seen" in folded else "O"
    x_status = "".join(c for c, flag in X_STATUS.items() if flag.casefold() in folded)
    keywords = sorted(f for f in flags if not f.startswith("\\"))
    lines = f"Status: {status}\n"
    if x_status:
        lines += f"X-Status: {x_status}\n"
    if keywords:
        lines += f"X-Keywords: {' '.join(keywords)}\n"
    return lines.encode()
