"""The IMAP receiver and parser: bytes in, commands out (whole, byte by byte, trailing)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.proto.imap import commands as c
from roost.proto.imap.cursor import SpooledLiteral
from roost.proto.imap.receiver import (
    NEED_DATA,
    BadCommand,
    Event,
    Fatal,
    NeedLiteral,
    RawLine,
    Receiver,
)
from roost.proto.imap.seqset import SeqSet


def events(
    data: bytes, *, chunk: int | None = None, receiver: Receiver | None = None
) -> list[Event]:
    r = receiver or Receiver()
    out: list[Event] = []
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        r.receive_data(piece)
        while (event := r.next_event()) is not NEED_DATA:
            out.append(event)
    return out


def parse_one(line: bytes) -> Event:
    """Parse whole, byte by byte and followed by another command: all three must agree."""
    whole = events(line)
    assert len(whole) == 1 or isinstance(whole[0], NeedLiteral)
    assert events(line, chunk=1) == whole
    trailing = events(line + b"z NOOP\r\n")
    assert trailing == [*whole, c.Noop(tag="z")]
    return whole[-1]


CASES: list[tuple[bytes, c.Command]] = [
    (b"a1 CAPABILITY\r\n", c.Capability(tag="a1")),
    (b"a2 noop\r\n", c.Noop(tag="a2")),
    (
        b'a LOGIN alice@example.org "p a\\"ss"\r\n',
        c.Login(tag="a", user="alice@example.org", password='p a"ss'),
    ),
    (
        b"a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n",
        c.Authenticate(tag="a", mechanism="PLAIN", initial=b"AGFsaWNlAHNlY3JldA=="),
    ),
    (b"a AUTHENTICATE plain\r\n", c.Authenticate(tag="a", mechanism="PLAIN", initial=None)),
    (
        b"a ENABLE IMAP4rev2 CONDSTORE\r\n",
        c.Enable(tag="a", capabilities=("IMAP4REV2", "CONDSTORE")),
    ),
    (b"a SELECT inbox\r\n", c.Select(tag="a", mailbox="inbox", readonly=False)),
    (b'a EXAMINE "Sent Items"\r\n', c.Select(tag="a", mailbox="Sent Items", readonly=True)),
    (
        b"a CREATE Lists/rust (USE (\\Archive))\r\n",
        c.Create(tag="a", mailbox="Lists/rust", special_use=("\\Archive",)),
    ),
    (b"a RENAME old new\r\n", c.Rename(tag="a", old="old", new="new")),
    (b'a LIST "" *\r\n', c.List(tag="a", reference="", patterns=("*",))),
    (
        b'a LIST (SUBSCRIBED RECURSIVEMATCH) "" ("%" "Lists/%") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n',
        c.List(
            tag="a",
            reference="",
            patterns=("%", "Lists/%"),
            selection=("SUBSCRIBED", "RECURSIVEMATCH"),
            returns=("CHILDREN", "STATUS"),
            status_items=("MESSAGES", "UNSEEN"),
        ),
    ),
    (b'a LSUB "" %\r\n', c.List(tag="a", reference="", patterns=("%",), lsub=True)),
    (
        b"a STATUS INBOX (MESSAGES UIDNEXT)\r\n",
        c.Status(tag="a", mailbox="INBOX", items=("MESSAGES", "UIDNEXT")),
    ),
    (b"a UID EXPUNGE 3:5\r\n", c.Expunge(tag="a", uids=SeqSet(((3, 5),)))),
    (b"a EXPUNGE\r\n", c.Expunge(tag="a")),
    (
        b"a STORE 1:* +FLAGS.SILENT (\\Seen $Junk)\r\n",
        c.Store(
            tag="a",
            uid=False,
            seqset=SeqSet(((1, None),)),
            mode="+",
            silent=True,
            flags=("\\Seen", "$Junk"),
        ),
    ),
    (
        b"a UID STORE 7 FLAGS \\Deleted\r\n",
        c.Store(
            tag="a", uid=True, seqset=SeqSet(((7, 7),)), mode="", silent=False, flags=("\\Deleted",)
        ),
    ),
    (
        b"a UID MOVE 1,3:4 Trash\r\n",
        c.Copy(tag="a", uid=True, seqset=SeqSet(((1, 1), (3, 4))), mailbox="Trash", move=True),
    ),
    (
        b"a FETCH 1 FAST\r\n",
        c.Fetch(
            tag="a",
            uid=False,
            seqset=SeqSet(((1, 1),)),
            items=("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
        ),
    ),
    (
        b"a UID FETCH 1:* (FLAGS)\r\n",
        c.Fetch(tag="a", uid=True, seqset=SeqSet(((1, None),)), items=("UID", "FLAGS")),
    ),
    (
        b"a FETCH 2 (BODY[1.2.MIME] BINARY.PEEK[1]<0.10> BODY.PEEK[HEADER.FIELDS.NOT (Received)])\r\n",
        c.Fetch(
            tag="a",
            uid=False,
            seqset=SeqSet(((2, 2),)),
            items=(
                c.FetchBody(section=c.Section(path=(1, 2), specifier="MIME")),
                c.FetchBody(section=c.Section(path=(1,)), peek=True, binary=True, partial=(0, 10)),
                c.FetchBody(
                    section=c.Section(specifier="HEADER.FIELDS.NOT", fields=("Received",)),
                    peek=True,
                ),
            ),
        ),
    ),
    (
        b'a SEARCH UNSEEN FROM "Bob Smith"\r\n',
        c.Search(
            tag="a",
            uid=False,
            charset=None,
            key=c.AndKey(
                keys=(
                    c.FlagKey(flag="\\Seen", present=False),
                    c.HeaderKey(field="from", text="Bob Smith"),
                ),
            ),
        ),
    ),
    (
        b"a UID SEARCH RETURN (COUNT) SINCE 1-Feb-2024\r\n",
        c.Search(
            tag="a",
            uid=True,
            charset=None,
            returns=("COUNT",),
            key=c.DateKey(
                field=c.DateField.INTERNAL, relation=c.DateRelation.SINCE, day=date(2024, 2, 1)
            ),
        ),
    ),
    (
        b"a SEARCH CHARSET UTF-8 OR 1:3 NOT HEADER X-Spam yes\r\n",
        c.Search(
            tag="a",
            uid=False,
            charset="UTF-8",
            key=c.OrKey(
                left=c.SeqKey(seqset=SeqSet(((1, 3),))),
                right=c.NotKey(key=c.HeaderKey(field="x-spam", text="yes")),
            ),
        ),
    ),
    (b"a ID NIL\r\n", c.Id(tag="a", params=None)),
    (
        b"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:3 5:7)))\r\n",
        c.Select(
            tag="a",
            mailbox="INBOX",
            readonly=False,
            qresync=c.QResync(
                uidvalidity=67890007,
                modseq=20050715194045000,
                known_uids=SeqSet(((41, 41), (43, 211), (214, 541))),
                seq_match=(SeqSet(((1, 3),)), SeqSet(((5, 7),))),
            ),
        ),
    ),
    (
        b"a EXAMINE INBOX (CONDSTORE)\r\n",
        c.Select(tag="a", mailbox="INBOX", readonly=True, condstore=True),
    ),
    (
        b"a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
        c.Fetch(
            tag="a",
            uid=True,
            seqset=SeqSet(((1, None),)),
            items=("UID", "FLAGS", "MODSEQ"),
            changedsince=12345,
            vanished=True,
        ),
    ),
    (
        b'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338\r\n',
        c.Search(tag="a", uid=False, charset=None, key=c.ModSeqKey(modseq=620162338)),
    ),
    (
        b"a STORE 1 (UNCHANGEDSINCE 7) -FLAGS (\\Seen)\r\n",
        c.Store(
            tag="a",
            uid=False,
            seqset=SeqSet(((1, 1),)),
            mode="-",
            silent=False,
            flags=("\\Seen",),
            unchangedsince=7,
        ),
    ),
    (
        b'a ID ("name" "mbsync" "version" NIL)\r\n',
        c.Id(tag="a", params=(("name", "mbsync"), ("version", None))),
    ),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_parses(line: bytes, expected: c.Command) -> None:
    assert parse_one(line) == expected


def test_synchronizing_literal_asks_for_more() -> None:
    data = b"a LOGIN {5}\r\nalice {6}\r\nsecret\r\n"
    assert events(data) == [
        NeedLiteral(5),
        NeedLiteral(6),
        c.Login(tag="a", user="alice", password="secret"),
    ]
    assert events(data, chunk=1) == events(data)


def test_multiappend_with_nonsynchronizing_literals() -> None:
    data = b'a APPEND Drafts (\\Draft) "05-Jan-2024 10:00:00 -0130" {3+}\r\nabc {2+}\r\nde\r\n'
    [event] = events(data)
    assert event == c.Append(
        tag="a",
        mailbox="Drafts",
        messages=(
            c.AppendMessage(
                flags=("\\Draft",),
                internaldate=datetime(
                    2024, 1, 5, 10, tzinfo=timezone(-timedelta(hours=1, minutes=30))
                ),
                data=b"abc",
            ),
            c.AppendMessage(flags=(), internaldate=None, data=b"de"),
        ),
    )


def test_literal_may_hold_crlf_and_braces() -> None:
    [event] = events(b"a APPEND INBOX {10+}\r\nx{3}\r\nyz\r\n\r\n")
    assert isinstance(event, c.Append)
    assert event.messages[0].data == b"x{3}\r\nyz\r\n"


@pytest.mark.parametrize(
    ("line", "tag", "fragment"),
    [
        (b"a FOO\r\n", "a", "unknown command"),
        (b"a SELECT\r\n", "a", "space"),
        (b"a FETCH 0 FLAGS\r\n", "a", "sequence numbers"),
        (b"a FETCH 1 (FLAGS\r\n", "a", ""),
        (b"a SEARCH BOGUS\r\n", "a", "unknown search key"),
        (b"a UID NOOP\r\n", "a", "not a command"),
        (b"a LOGIN alice\r\n", "a", "space"),
        (b"\r\n", None, "empty"),
        (b"(bad\r\n", None, "tag"),
        (b"a STORE 1 +FLAGS (\\Seen) extra\r\n", "a", "unexpected"),
        # Issue 9: NUL is no CHAR (quoted) nor CHAR8 (literal); absurd sections.
        (b'a CREATE "a\x00b"\r\n', "a", "quoted"),
        (b"a LOGIN {3+}\r\na\x00b p\r\n", "a", "NUL in a user name"),
        (b"a FETCH 1 BODY[" + b".".join([b"1"] * 65) + b"]\r\n", "a", "deeper than 64"),
        (
            b"a FETCH 1 BODY[HEADER.FIELDS (" + b" ".join([b"X"] * 513) + b")]\r\n",
            "a",
            "more than 512 header fields",
        ),
    ],
)
def test_bad_commands_name_what_is_wrong(line: bytes, tag: str | None, fragment: str) -> None:
    [event] = events(line)
    assert isinstance(event, BadCommand)
    assert event.tag == tag
    assert fragment in event.text


def test_line_over_limit_is_refused_without_buffering() -> None:
    r = Receiver(max_line=100)
    r.receive_data(b"a NOOP " + b"x" * 200)
    event = r.next_event()
    assert isinstance(event, BadCommand) and event.tag == "a"
    r.receive_data(b"y" * 10_000 + b"\r\nb NOOP\r\n")
    assert r.next_event() == c.Noop(tag="b")
    assert len(r._buffer) == 0


def test_oversized_literal_refused_before_it_is_sent() -> None:
    r = Receiver(max_literal=10)
    r.receive_data(b"a APPEND INBOX {11}\r\nb NOOP\r\n")
    event = r.next_event()
    assert isinstance(event, BadCommand) and "TOOBIG" in event.text
    assert r.next_event() == c.Noop(tag="b")


def test_oversized_nonsynchronizing_literal_is_fatal() -> None:
    assert isinstance(events(b"a APPEND INBOX {999999999999+}\r\n")[0], Fatal)


class Spools:
    """In-memory stand-ins for the session's spool files: what went where."""

    def __init__(self) -> None:
        self.made: list[io.BytesIO] = []

    def new(self) -> io.BytesIO:
        self.made.append(io.BytesIO())
        return self.made[-1]


def spooled(event: Event, index: int = 0) -> SpooledLiteral:
    assert isinstance(event, c.Append)
    data = event.messages[index].data
    assert isinstance(data, SpooledLiteral)
    return data


@pytest.mark.parametrize("chunk", [None, 1, 7, 4096])
def test_a_large_literal_goes_to_a_spool_as_it_arrives(chunk: int | None) -> None:
    # Issue 9: an APPENDed message past spool_over is written out, never kept whole.
    spools = Spools()
    r = Receiver(spool=spools.new, spool_over=100)
    body = bytes(range(256)) * 2
    data = b"a APPEND INBOX {512}\r\n" + body + b"\r\nz NOOP\r\n"
    out = events(data, chunk=chunk, receiver=r)
    assert out[0] == NeedLiteral(512) and out[2] == c.Noop(tag="z") and len(out) == 3
    literal = spooled(out[1])
    assert literal.size == 512 and len(spools.made) == 1
    assert spools.made[0].getvalue() == body
    assert len(r._buffer) == 0


def test_small_literals_stay_in_memory_until_the_command_holds_too_much() -> None:
    spools = Spools()
    r = Receiver(spool=spools.new, spool_over=100)
    data = b"a APPEND INBOX {60+}\r\n" + b"x" * 60 + b" {60+}\r\n" + b"y" * 60 + b"\r\n"
    [event] = events(data, receiver=r)
    assert isinstance(event, c.Append)
    assert event.messages[0].data == b"x" * 60  # 60 octets: memory
    assert spooled(event, 1).size == 60  # 120 would be over 100: the second is spooled
    assert spools.made[0].getvalue() == b"y" * 60
    # The next command starts from nothing again.
    [event] = events(b"b APPEND INBOX {60+}\r\n" + b"z" * 60 + b"\r\n", receiver=r)
    assert isinstance(event, c.Append) and event.messages[0].data == b"z" * 60


def test_a_spooled_literal_is_no_ordinary_string() -> None:
    # Only a message may be large; a 200-octet search string is refused, not read back.
    r = Receiver(spool=Spools().new, spool_over=100)
    [event] = events(b"a SEARCH TEXT {200+}\r\n" + b"q" * 200 + b"\r\n", receiver=r)
    assert isinstance(event, BadCommand) and event.tag == "a"
    assert "too large" in event.text


def test_catenate_text_may_be_spooled() -> None:
    spools = Spools()
    r = Receiver(spool=spools.new, spool_over=10)
    data = b'a APPEND INBOX CATENATE (URL "/INBOX;UID=1" TEXT {20+}\r\n' + b"t" * 20 + b")\r\n"
    [event] = events(data, receiver=r)
    assert isinstance(event, c.Append)
    catenate = event.messages[0].data
    assert isinstance(catenate, c.Catenate)
    text = catenate.parts[1]
    assert isinstance(text, c.CatenateText) and isinstance(text.data, SpooledLiteral)
    assert spools.made[0].getvalue() == b"t" * 20


def test_raw_line_for_idle_done() -> None:
    r = Receiver()
    r.expect_raw_line()
    assert events(b"DONE\r\na NOOP\r\n", receiver=r) == [RawLine(b"DONE"), c.Noop(tag="a")]


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    r = Receiver(max_line=200, max_literal=100)
    r.receive_data(data + b"\r\n")
    for _ in range(1000):
        if r.next_event() is NEED_DATA:
            break


_ATOMS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_.@", min_size=1, max_size=20
)


_NO_NUL = st.text(max_size=30).filter(lambda s: "\x00" not in s)  # CHAR8 is %x01-ff


@given(user=_NO_NUL, password=_NO_NUL)
def test_login_round_trip_through_literals(user: str, password: str) -> None:
    u, p = user.encode(), password.encode()
    data = b"t LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" % (len(u), u, len(p), p)
    assert events(data) == [c.Login(tag="t", user=user, password=password)]


@given(
    st.lists(
        st.tuples(st.integers(1, 2**32 - 1), st.integers(1, 2**32 - 1)), min_size=1, max_size=8
    )
)
def test_seqset_render_parse_round_trip(ranges: list[tuple[int, int]]) -> None:
    seqset = SeqSet(tuple(ranges))
    assert SeqSet.parse(seqset.render()).resolve(10) == seqset.resolve(10)
