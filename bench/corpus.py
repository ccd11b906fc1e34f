"""A seeded generator of realistic messages, so every run loads the same corpus.

Message `i` of a corpus depends only on (seed, i): sizes are log-uniform between 1 and
50 KB; a third are multipart/mixed with a base64 attachment, a third multipart/alternative
(text and HTML), the rest text/plain; a quarter of the senders and subjects are non-ASCII
(RFC 2047 encoded-words); messages come in threads of 1-8 with In-Reply-To and References;
Date (and the INTERNALDATE given to APPEND) spread over two years, oldest first.

The search figures need terms whose selectivity is known: `RARE_WORD` appears in about 1%
of the bodies, `SEARCH_FROM` is one sender among `len(SENDERS)`, and `since_date()` falls
about 10% before the end of the corpus.
"""

from __future__ import annotations

import base64
import email.utils
import math
import random
from datetime import UTC, datetime, timedelta
from email.header import Header

MIN_SIZE = 1024
MAX_SIZE = 50 * 1024
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
RARE_WORD = "zebrafish"
RARE_SHARE = 0.01

_FIRST = ["Anna", "Björn", "Chloé", "Dmitri", "Eva", "François", "Gül", "Hiroshi", "Inés", "Jan"]
_LAST = ["Müller", "Øster", "Nowak", "García", "Smith", "Dubois", "Yılmaz", "Tanaka", "Rossi"]  # noqa: RUF001 (non-ASCII on purpose)
SENDERS = [
    (f"{_FIRST[i % len(_FIRST)]} {_LAST[(i * 7) % len(_LAST)]}", f"sender{i}@example.{tld}")
    for i, tld in zip(range(200), ["org", "com", "net", "de"] * 50, strict=True)
]
SEARCH_FROM = SENDERS[17][1]
_WORDS = (
    "meeting budget report draft review quarter project deadline invoice schedule update "
    "release server backup mailbox sync device travel lunch contract design proposal "
    "customer feedback roadmap team office holiday weekend agenda notes summary question "
    "answer thanks regards please attached document version change issue fix test build "
    "deploy monitor alert network storage client invoice payment order shipping delivery"
).split()
_SUBJECTS = [
    "Quarterly report",
    "Réunion de lundi",
    "Über das Projekt",
    "Invoice #{n}",
    "Lunch?",
    "Погода на выходные",
    "Release planning",
    "会議の議事録",
    "Backup status",
    "Travel plans",
]
_THREAD_MAX = 8


class Corpus:
    def __init__(self, seed: int, count: int, *, domain: str = "bench.test") -> None:
        self.seed = seed
        self.count = count
        self.domain = domain

    def __len__(self) -> int:
        return self.count

    def date(self, i: int) -> datetime:
        """Oldest first, evenly spread, so SINCE has a known selectivity."""
        return EPOCH + SPAN * (i / max(1, self.count))

    def since_date(self) -> datetime:
        return self.date(int(self.count * 0.9))

    def message_id(self, i: int) -> str:
        return f"<{self.seed}.{i}@{self.domain}>"

    def message(self, i: int) -> bytes:
        rng = random.Random(self.seed * 1_000_003 + i)
        size = int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))))
        headers = self._headers(rng, i)
        kind = rng.random()
        body_size = max(200, size - len(headers))
        rare = rng.random() < RARE_SHARE
        if kind < 1 / 3:
            body = self._mixed(rng, body_size, rare)
        elif kind < 2 / 3:
            body = self._alternative(rng, body_size, rare)
        else:
            body = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + self._text(
                rng, body_size, rare
            )
        return headers + b"MIME-Version: 1.0\r\n" + body

    def internaldate(self, i: int) -> str:
        """The APPEND date-time (RFC 9051 §9) matching the Date header."""
        return self.date(i).strftime('"%d-%b-%Y %H:%M:%S +0000"')

    # --- parts ----------------------------------------------------------------------
    def _headers(self, rng: random.Random, i: int) -> bytes:
        name, address = SENDERS[rng.randrange(len(SENDERS))]
        start = i - i % rng.randint(1, _THREAD_MAX)  # first message of this thread
        subject = _SUBJECTS[start % len(_SUBJECTS)].replace("{n}", str(start))
        if start != i:
            subject = "Re: " + subject
        lines = [
            f"From: {_address(name, address)}",
            f"To: {_address('Bench User', 'user@' + self.domain)}",
            f"Subject: {Header(subject, 'utf-8').encode() if not subject.isascii() else subject}",
            f"Date: {email.utils.format_datetime(self.date(i))}",
            f"Message-ID: {self.message_id(i)}",
        ]
        if start != i:
            references = " ".join(self.message_id(j) for j in range(start, i))
            lines += [f"In-Reply-To: {self.message_id(i - 1)}", f"References: {references}"]
        return "".join(line + "\r\n" for line in lines).encode("ascii")

    def _text(self, rng: random.Random, size: int, rare: bool) -> bytes:
        words = rng.choices(_WORDS, k=max(8, size // 7))
        if rare:
            words[rng.randrange(len(words))] = RARE_WORD
        lines = [" ".join(words[j : j + 10]) for j in range(0, len(words), 10)]
        text = ("\r\n".join(lines) + "\r\n").encode()[:size]
        return text.rstrip(b"\r")  # never a bare CR where the cut fell inside a CRLF

    def _alternative(self, rng: random.Random, size: int, rare: bool) -> bytes:
        text = self._text(rng, size // 2, rare)
        html = b"<html><body><p>" + text.replace(b"\r\n", b"<br>\r\n") + b"</p></body></html>"
        boundary = f"alt-{rng.getrandbits(48):012x}"
        return _multipart(
            "alternative",
            boundary,
            [
                (b"Content-Type: text/plain; charset=utf-8", text),
                (b"Content-Type: text/html; charset=utf-8", html),
            ],
        )

    def _mixed(self, rng: random.Random, size: int, rare: bool) -> bytes:
        text = self._text(rng, max(200, size // 4), rare)
        blob = rng.randbytes(max(64, (size - len(text)) * 3 // 4))
        encoded = base64.encodebytes(blob).replace(b"\n", b"\r\n")
        filename = rng.choice(["report.pdf", "photo.jpg", "données.xlsx", "notes.txt"])
        disposition = Header(filename, "utf-8").encode() if not filename.isascii() else filename
        boundary = f"mix-{rng.getrandbits(48):012x}"
        return _multipart(
            "mixed",
            boundary,
            [
                (b"Content-Type: text/plain; charset=utf-8", text),
                (
                    f"Content-Type: application/octet-stream\r\n"
                    f'Content-Disposition: attachment; filename="{disposition}"\r\n'
                    f"Content-Transfer-Encoding: base64".encode(),
                    encoded,
                ),
            ],
        )


def _address(name: str, address: str) -> str:
    if name.isascii():
        return f'"{name}" <{address}>'
    return f"{Header(name, 'utf-8').encode()} <{address}>"


def _multipart(subtype: str, boundary: str, parts: list[tuple[bytes, bytes]]) -> bytes:
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()]
    out.append(b"This is a multi-part message in MIME format.\r\n")
    for headers, body in parts:
        out.append(f"--{boundary}\r\n".encode() + headers + b"\r\n\r\n" + body + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)
