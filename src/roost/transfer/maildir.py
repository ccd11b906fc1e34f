"""Maildir in and out: Maildir++ folders, info flags, Dovecot's keyword files, mtimes.

A Maildir (https://cr.yp.to/proto/maildir.html) keeps one file per message in new/ (not
yet seen by a mail reader) or cur/; a file in cur/ carries its flags after ":2," in its
name: S \\Seen, R \\Answered (replied), F \\Flagged, T \\Deleted (trashed), D \\Draft and P
(passed, which Roost calls $Forwarded). Lower-case letters a..z are keywords: Dovecot's
`dovecot-keywords` file in the folder maps each index (a = 0) to its name. The file's
mtime is the message's arrival time, which becomes INTERNALDATE, as Dovecot does.

Maildir++ keeps folders as sibling directories of cur/new/tmp named ".Sent",
".Archive.2024" ("." separates levels); Dovecot writes non-ASCII names in modified UTF-7
(RFC 3501 §5.1.3), which is decoded here. The top Maildir is INBOX (or the mailbox the
import is told).

Export writes the same shape, byte for byte what the store holds, the flags in the names,
a dovecot-keywords file where keywords need one, and the INTERNALDATE as mtime; so Dovecot,
mutt, mbsync and `roost import maildir` read it back with nothing lost but keywords past
the 26th of a folder (Dovecot's limit too), which are reported.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from roost.store.api import Account, MessageMeta, Store
from roost.transfer.ingest import Incoming, Unreadable
from roost.transfer.progress import Progress
from roost.transfer.walk import chosen_mailboxes, mailbox_messages, require_empty

__all__ = ["Exported", "count_maildir", "export_maildir", "folder_dir", "read_maildir"]

INFO_FLAGS = {
    "S": "\\Seen",
    "R": "\\Answered",
    "F": "\\Flagged",
    "T": "\\Deleted",
    "D": "\\Draft",
    "P": "$Forwarded",
}
FLAG_LETTERS = {flag.casefold(): letter for letter, flag in INFO_FLAGS.items()}
KEYWORDS_FILE = "dovecot-keywords"
_MUTF7 = re.compile(r"&([^-]*)-")


# ----- reading -----------------------------------------------------------------------


def folders(root: Path) -> list[tuple[tuple[str, ...], Path]]:
    """(folder path below the top, directory) of the top Maildir and its Maildir++
    folders; ValueError if root is no Maildir."""
    if not (root / "cur").is_dir() and not (root / "new").is_dir():
        raise ValueError(f"{root} is no Maildir (it has no cur/ or new/)")
    found: list[tuple[tuple[str, ...], Path]] = [((), root)]
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name.startswith(".") and name not in (".", "..") and (entry / "cur").is_dir():
            found.append((tuple(decode_mutf7(p) for p in name[1:].split(".")), entry))
    return found


def message_files(folder: Path) -> list[tuple[float, str, Path]]:
    """(mtime, name, path) of every message file of a Maildir folder, oldest first."""
    files: list[tuple[float, str, Path]] = []
    for sub in ("new", "cur"):
        directory = folder / sub
        if not directory.is_dir():
            continue
        for entry in os.scandir(directory):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            files.append((entry.stat().st_mtime, entry.name, Path(entry.path)))
    files.sort(key=lambda f: (f[0], f[1]))
    return files


def count_maildir(root: Path) -> int:
    return sum(len(message_files(path)) for _, path in folders(root))


def read_maildir(root: Path) -> Iterator[Incoming | Unreadable]:
    """Every message of the Maildir at root and its folders, each folder in arrival order."""
    for folder, path in folders(root):
        keywords = read_keywords(path / KEYWORDS_FILE)
        for mtime, name, file in message_files(path):
            try:
                data = file.read_bytes()
            except OSError as exc:
                yield Unreadable(str(file), f"cannot be read: {exc.strerror}")
                continue
            yield Incoming(
                folder=folder,
                data=data,
                flags=info_flags(name, keywords) if file.parent.name == "cur" else frozenset(),
                internaldate=datetime.fromtimestamp(mtime, UTC),
                origin=str(file),
            )


def info_flags(name: str, keywords: dict[int, str]) -> frozenset[str]:
    """The flags a Maildir file name carries after ":2," (upper-case letters are flags,
    lower-case ones keywords by their index in dovecot-keywords; unknown ones ignored)."""
    _, sep, info = name.rpartition(":2,")
    if not sep:
        return frozenset()
    flags: set[str] = set()
    for letter in info:
        if letter in INFO_FLAGS:
            flags.add(INFO_FLAGS[letter])
        elif "a" <= letter <= "z" and (ord(letter) - ord("a")) in keywords:
            flags.add(keywords[ord(letter) - ord("a")])
    return frozenset(flags)


def read_keywords(path: Path) -> dict[int, str]:
    """Dovecot's keyword file: one "index name" per line."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    found: dict[int, str] = {}
    for line in text.splitlines():
        index, _, word = line.strip().partition(" ")
        if index.isdigit() and word:
            found[int(index)] = word
    return found


def decode_mutf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3), decoded; a name that is
    not valid modified UTF-7 is kept as it is."""

    def decode(match: re.Match[str]) -> str:
        encoded = match.group(1)
        if not encoded:
            return "&"
        padded = encoded.replace(",", "/") + "=" * (-len(encoded) % 4)
        return base64.b64decode(padded, validate=True).decode("utf-16-be")

    try:
        return _MUTF7.sub(decode, name)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return name


# ----- writing -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    mailboxes: int
    messages: int
    dropped_keywords: frozenset[str] = frozenset()


def folder_dir(root: Path, name: str, *, top: str = "INBOX") -> Path:
    """The directory of mailbox `name` in the Maildir++ tree at root, whose top is the
    mailbox `top`. A "." inside a name would read as a level, so it becomes "_"."""
    if name.casefold() == top.casefold():
        return root
    relative = name[len(top) + 1 :] if name.casefold().startswith(top.casefold() + "/") else name
    return root / ("." + ".".join(part.replace(".", "_") for part in relative.split("/")))


async def export_maildir(
    store: Store,
    account: Account,
    dest: Path,
    progress: Progress,
    *,
    mailbox: str | None = None,
) -> Exported:
    """Writes the account's mailboxes (or only `mailbox` and those below it) as a
    Maildir at dest, which must not exist or be empty."""
    require_empty(dest)
    boxes = await chosen_mailboxes(store, account, mailbox)
    top = mailbox or "INBOX"
    dropped: set[str] = set()
    for box in boxes:
        folder = _make_folder(folder_dir(dest, box.name, top=top))
        writer = _FolderWriter(folder)
        async for meta, data in mailbox_messages(store, box.id):
            writer.add(meta, data)
            progress.advance(octets=len(data))
        dropped |= writer.finish()
    return Exported(dest, len(boxes), progress.count, frozenset(dropped))


def _make_folder(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class _FolderWriter:
    """Writes message files into one Maildir folder, keywords into its dovecot-keywords."""

    __slots__ = ("_dropped", "_folder", "_host", "_keywords")

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._keywords: dict[str, int] = {}
        self._dropped: set[str] = set()
        self._host = socket.gethostname().replace("/", "_").replace(":", "_") or "roost"

    def add(self, meta: MessageMeta, data: bytes) -> None:
        stamp = meta.internaldate.timestamp()
        name = f"{int(stamp)}.R{secrets.token_hex(8)}.{self._host}:2,{self._letters(meta)}"
        path = self._folder / "cur" / name
        path.write_bytes(data)
        os.utime(path, (stamp, stamp))

    def _letters(self, meta: MessageMeta) -> str:
        letters: list[str] = []
        for flag in meta.flags:
            letter = FLAG_LETTERS.get(flag.casefold())
            if letter is not None:
                letters.append(letter)
            elif not flag.startswith("\\"):
                index = self._keyword_index(flag)
                if index is not None:
                    letters.append(chr(ord("a") + index))
        # Maildir: the info letters in ASCII order.
        return "".join(sorted(letters))

    def _keyword_index(self, keyword: str) -> int | None:
        if keyword not in self._keywords:
            if len(self._keywords) == 26:
                self._dropped.add(keyword)
                return None
            self._keywords[keyword] = len(self._keywords)
        return self._keywords[keyword]

    def finish(self) -> set[str]:
        if self._keywords:
            lines = "".join(f"{i} {k}\n" for k, i in self._keywords.items())
            (self._folder / KEYWORDS_FILE).write_text(lines, encoding="utf-8")
        return self._dropped
