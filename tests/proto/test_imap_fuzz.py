"""Properties of the IMAP command codec on hostile input (issue 9): whatever the bytes, the
parser raises nothing but ProtocolError and the receiver nothing at all (every event is a
command, a BAD, a literal request or a BYE). Three generators: raw bytes, lines built from
the grammar's own tokens (so commands get deep before they go wrong), and those lines cut
into literals."""

from __future__ import annotations

import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from roost.proto.errors import ProtocolError
from roost.proto.imap import commands as c
from roost.proto.imap.cursor import Literal
from roost.proto.imap.parse import _COMMANDS, parse_command
from roost.proto.imap.receiver import (
    NEED_DATA,
    BadCommand,
    Fatal,
    NeedLiteral,
    RawLine,
    Receiver,
)
from tests.proto.test_imap_receiver import CASES

COMMAND_NAMES = [name.decode() for name in _COMMANDS] + ["UID FETCH", "UID SEARCH", "UID STORE"]
TOKENS = [
    *COMMAND_NAMES,
    *"()[]<>{}.:,*%$\"\\+-~",
    "NIL", "INBOX", "ALL", "NOT", "OR", "UID", "FLAGS", "BODY", "BODY.PEEK", "BINARY",
    "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME", "RFC822", "ENVELOPE",
    "BODYSTRUCTURE", "INTERNALDATE", "MODSEQ", "CHANGEDSINCE", "UNCHANGEDSINCE", "VANISHED",
    "QRESYNC", "CONDSTORE", "RETURN", "MIN", "MAX", "COUNT", "SAVE", "PARTIAL", "CHARSET",
    "UTF-8", "SUBJECT", "FROM", "SINCE", "BEFORE", "LARGER", "SMALLER", "KEYWORD", "\\Seen",
    "\\Deleted", "\\*", "+FLAGS", "-FLAGS.SILENT", "CATENATE", "URL", "SELECTED",
    "PERSONAL", "MAILBOXES", "SUBTREE", "MessageNew", "MessageExpunge", "FlagChange",
    "STATUS", "MESSAGES", "UNSEEN", "SPECIAL-USE", "SUBSCRIBED", "REFERENCES", "ORDEREDSUBJECT",
    "REVERSE", "DATE", "ARRIVAL", "DISPLAYFROM", "PLAIN", "DEFLATE", "STORAGE", "1", "0", "1:*",
    "4294967296", "99999999999999999999", "-1", "01-Jan-2024", '"01-Jan-2024 10:00:00 +0000"',
    "&AAA-", "&Jjo-", "a\x00b", "é", "\x7f", "\r", " ", "  ",
]  # fmt: skip


def tokens_line() -> st.SearchStrategy[bytes]:
    """A tag, a command name, then tokens of the grammar (and a little noise), joined by
    single spaces or nothing, so the parser gets deep into each command before failing."""
    token = st.sampled_from(TOKENS) | st.text(max_size=6)
    joiner = st.sampled_from([" ", "", " ", " "])
    words = st.lists(st.tuples(joiner, token), max_size=30)
    return st.tuples(st.sampled_from(COMMAND_NAMES), words).map(
        lambda t: ("a " + t[0] + "".join(j + w for j, w in t[1])).encode()
    )


SEEDS = [line.rstrip(b"\r\n") for line, _ in CASES if b"{" not in line] + [
    b"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
    b"a UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (Subject From)]<0.100>) (CHANGEDSINCE 12345 VANISHED)",
    b"a UID STORE 1,3:5 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted $Junk)",
    b"a SEARCH RETURN (MIN MAX PARTIAL 1:100) CHARSET UTF-8 LARGER 100 YOUNGER 3600 MODSEQ 5 OR SEEN NOT UID 1:7",
    b'a SETQUOTA "" (STORAGE 512 MESSAGE 1000)',
    b"a UID REPLACE 4 Drafts {3+}",
    b'a NOTIFY SET STATUS (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From)]) MessageExpunge)) (SUBTREE Lists (MessageNew))',
    b'a SORT RETURN (PARTIAL -1:-10) (REVERSE ARRIVAL DISPLAYFROM) UTF-8 SINCE 1-Feb-1994',
    b'a APPEND INBOX (\\Seen) "05-Jan-2024 10:00:00 -0130" CATENATE (URL "/INBOX;UIDVALIDITY=3/;UID=20/;SECTION=1.HEADER" TEXT {3+}',
    b'a LIST (SUBSCRIBED) "" ("%" "Lists/%") RETURN (CHILDREN STATUS (MESSAGES UNSEEN SIZE))',
    b"a FETCH 2:4 (BINARY.PEEK[1.2]<10.20> BINARY.SIZE[3] RFC822.SIZE ENVELOPE PREVIEW)",
]  # fmt: skip
_SPLIT = re.compile(rb"([ ()\[\]<>.:,])")


def mutated_seed() -> st.SearchStrategy[bytes]:
    """A command the parser accepts (tests/proto/test_imap_receiver.py), with a few of its
    tokens replaced, dropped, doubled or joined by grammar tokens: deep into every command
    before it goes wrong, where bugs hide."""
    token = st.sampled_from(TOKENS).map(str.encode) | st.binary(max_size=4)
    edit = st.tuples(st.integers(0, 200), st.sampled_from("rdit"), token)
    return st.tuples(st.sampled_from(SEEDS), st.lists(edit, min_size=1, max_size=4)).map(_apply)


def _apply(seed_edits: tuple[bytes, list[tuple[int, str, bytes]]]) -> bytes:
    seed, edits = seed_edits
    parts = [p for p in _SPLIT.split(seed) if p]
    for where, op, token in edits:
        i = where % (len(parts) + 1)
        if op == "r" and i < len(parts):
            parts[i] = token
        elif op == "d" and i < len(parts):
            del parts[i]
        elif op == "t" and i < len(parts):
            parts.insert(i, parts[i])
        else:
            parts.insert(i, token)
    return b"".join(parts).replace(b"\r", b"").replace(b"\n", b"")


def assert_codec_holds(segments: list[bytes | Literal]) -> None:
    try:
        command = parse_command(segments)
    except ProtocolError:
        return
    assert isinstance(command, c.Command)


def drain(receiver: Receiver) -> list[object]:
    events: list[object] = []
    for _ in range(10_000):
        event = receiver.next_event()
        if event is NEED_DATA:
            return events
        assert isinstance(event, c.Command | BadCommand | NeedLiteral | Fatal | RawLine), event
        events.append(event)
    raise AssertionError("the receiver never asked for more data")


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=4))
def test_arbitrary_segments_raise_only_protocol_errors(parts: list[bytes]) -> None:
    # Lines alternating with literals, as the receiver hands them over.
    segments: list[bytes | Literal] = []
    for n, part in enumerate(parts):
        segments.append(Literal(part) if n % 2 else part.replace(b"\n", b" "))
    if isinstance(segments[-1], Literal):
        segments.append(b"")
    assert_codec_holds(segments)


@settings(max_examples=1000, deadline=None)
@given(tokens_line())
def test_lines_of_grammar_tokens_raise_only_protocol_errors(line: bytes) -> None:
    assert_codec_holds([line.replace(b"\r", b"").replace(b"\n", b"")])


@settings(max_examples=2500, deadline=None)
@given(mutated_seed())
def test_mutated_commands_raise_only_protocol_errors(line: bytes) -> None:
    assert_codec_holds([line])


@settings(max_examples=1000, deadline=None)
@given(tokens_line(), st.lists(st.integers(0, 60), max_size=3), st.booleans())
def test_token_lines_cut_into_literals_pass_the_receiver(
    line: bytes, cuts: list[int], plus: bool
) -> None:
    # The same lines, with pieces sent as literals ({n} or {n+}), and large literals
    # going to a spool: the receiver never raises and always comes back for more.
    data = line.replace(b"\r", b"").replace(b"\n", b"")
    wire = b""
    for cut in sorted(set(cuts)):
        head, piece = data[:cut], data[cut : cut + 10]
        data = data[cut + 10 :]
        wire += head + b"{%d%s}\r\n" % (len(piece), b"+" if plus else b"") + piece
    wire += data + b"\r\n"
    spools: list[io.BytesIO] = []

    def spool() -> io.BytesIO:
        spools.append(io.BytesIO())
        return spools[-1]

    for chunk in (None, 7):
        receiver = Receiver(max_line=512, max_literal=1024, spool=spool, spool_over=5)
        pieces = (
            [wire] if chunk is None else [wire[i : i + chunk] for i in range(0, len(wire), chunk)]
        )
        for piece in pieces:
            receiver.receive_data(piece)
            drain(receiver)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_pass_the_receiver_whole_and_byte_by_byte(data: bytes) -> None:
    for chunk in (len(data) or 1, 1):
        receiver = Receiver(max_line=256, max_literal=512, spool=io.BytesIO, spool_over=16)
        for i in range(0, len(data), chunk):
            receiver.receive_data(data[i : i + chunk])
            drain(receiver)
        receiver.receive_data(b"\r\nz NOOP\r\n")
        drain(receiver)
