"""NOTIFY (RFC 5465) and ESEARCH IN (RFC 7377) syntax: whole, byte by byte, with trailing
data; the RFC's BAD cases; and properties (render -> parse round trip, junk never crashes)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.proto.imap import commands as c
from roost.proto.imap.receiver import NEED_DATA, BadCommand, Fatal, NeedLiteral, Receiver
from roost.proto.imap.seqset import SeqSet
from tests.proto.test_imap_receiver import events, parse_one

F = c.MailboxFilter
E = c.NotifyEvent
G = c.NotifyGroup
NEW, GONE = E(name="MessageNew"), E(name="MessageExpunge")
KEY_ALL = c.AllKey()

CASES: list[tuple[bytes, c.Command]] = [
    (b"a NOTIFY NONE\r\n", c.Notify(tag="a", groups=None)),
    (
        b"a notify set (selected (messagenew messageexpunge))\r\n",
        c.Notify(tag="a", groups=(G(filter=F(kind="SELECTED"), events=(NEW, GONE)),)),
    ),
    (
        b"a NOTIFY SET STATUS (SELECTED-DELAYED (MessageNew (UID BODY.PEEK[HEADER]) "
        b"MessageExpunge FlagChange)) (INBOXES (MessageNew MessageExpunge)) (PERSONAL NONE)\r\n",
        c.Notify(
            tag="a",
            status=True,
            groups=(
                G(
                    filter=F(kind="SELECTED-DELAYED"),
                    events=(
                        E(
                            name="MessageNew",
                            fetch=(
                                "UID",
                                c.FetchBody(section=c.Section(specifier="HEADER"), peek=True),
                            ),
                        ),
                        GONE,
                        E(name="FlagChange"),
                    ),
                ),
                G(filter=F(kind="INBOXES"), events=(NEW, GONE)),
                G(filter=F(kind="PERSONAL"), events=()),
            ),
        ),
    ),
    (
        b'a NOTIFY SET (SUBTREE (Lists "Work/Q 1") (MailboxName SubscriptionChange)) '
        b"(MAILBOXES Drafts (MessageNew MessageExpunge)) (SUBSCRIBED (X-Custom))\r\n",
        c.Notify(
            tag="a",
            groups=(
                G(
                    filter=F(kind="SUBTREE", mailboxes=("Lists", "Work/Q 1")),
                    events=(E(name="MailboxName"), E(name="SubscriptionChange")),
                ),
                G(filter=F(kind="MAILBOXES", mailboxes=("Drafts",)), events=(NEW, GONE)),
                # An unknown event is event-ext: the handler answers NO [BADEVENT].
                G(filter=F(kind="SUBSCRIBED"), events=(E(name="X-Custom"),)),
            ),
        ),
    ),
    (
        b"a NOTIFY SET (MAILBOXES {5+}\r\nA b c (MessageNew MessageExpunge))\r\n",
        c.Notify(
            tag="a",
            groups=(G(filter=F(kind="MAILBOXES", mailboxes=("A b c",)), events=(NEW, GONE)),),
        ),
    ),
    (b"a ESEARCH ALL\r\n", c.Esearch(tag="a", sources=(), charset=None, key=KEY_ALL)),
    (
        b"a esearch in (personal) return (min count) unseen\r\n",
        c.Esearch(
            tag="a",
            sources=(F(kind="PERSONAL"),),
            charset=None,
            key=c.FlagKey(flag="\\Seen", present=False),
            returns=("MIN", "COUNT"),
        ),
    ),
    (
        b'a ESEARCH IN (MAILBOXES (INBOX Archive) SUBTREE-ONE "Lists" SELECTED INBOXES '
        b"SUBSCRIBED SUBTREE Work) CHARSET UTF-8 FROM bob UID 1:*\r\n",
        c.Esearch(
            tag="a",
            sources=(
                F(kind="MAILBOXES", mailboxes=("INBOX", "Archive")),
                F(kind="SUBTREE-ONE", mailboxes=("Lists",)),
                F(kind="SELECTED"),
                F(kind="INBOXES"),
                F(kind="SUBSCRIBED"),
                F(kind="SUBTREE", mailboxes=("Work",)),
            ),
            charset="UTF-8",
            key=c.AndKey(
                keys=(
                    c.HeaderKey(field="from", text="bob"),
                    c.UidKey(seqset=SeqSet.parse(b"1:*")),
                ),
            ),
        ),
    ),
]


@pytest.mark.parametrize(("line", "expected"), CASES)
def test_parses(line: bytes, expected: c.Command) -> None:
    assert parse_one(line) == expected


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (b"a NOTIFY\r\n", "space"),
        (b"a NOTIFY SET\r\n", "at least one event group"),
        (b"a NOTIFY SET STATUS\r\n", "at least one event group"),
        (b"a NOTIFY RESET\r\n", "SET or NONE"),
        (b"a NOTIFY NONE (SELECTED NONE)\r\n", "unexpected"),
        (b"a NOTIFY SET (SELECTED)\r\n", "space"),
        (b"a NOTIFY SET (EVERYTHING NONE)\r\n", "unknown mailbox filter"),
        (b"a NOTIFY SET (SUBTREE-ONE A NONE)\r\n", "unknown mailbox filter"),
        (b"a NOTIFY SET (SUBTREE NONE)\r\n", "space"),
        (b"a NOTIFY SET (MAILBOXES () NONE)\r\n", "at least one mailbox"),
        (b"a NOTIFY SET (PERSONAL ())\r\n", "empty event list"),
        (b"a NOTIFY SET (PERSONAL (MessageNew))\r\n", "together"),
        (b"a NOTIFY SET (PERSONAL (MessageExpunge))\r\n", "together"),
        (b"a NOTIFY SET (PERSONAL (FlagChange MailboxName))\r\n", "FlagChange needs"),
        (b"a NOTIFY SET (PERSONAL (MailboxName MailboxName))\r\n", "twice"),
        (
            b"a NOTIFY SET (INBOXES (MessageNew (UID) MessageExpunge))\r\n",
            "fetch attributes need the SELECTED filter",
        ),
        (b"a NOTIFY SET (SELECTED (MessageNew () MessageExpunge))\r\n", "empty fetch"),
        (b"a NOTIFY SET (SELECTED (MessageNew (BOGUS) MessageExpunge))\r\n", "unknown fetch"),
        (
            b"a NOTIFY SET (SELECTED NONE) (SELECTED-DELAYED NONE)\r\n",
            "only one SELECTED",
        ),
        (b"a NOTIFY SET (PERSONAL NONE)(INBOXES NONE)\r\n", "unexpected"),
        (b"a ESEARCH IN () ALL\r\n", "mailbox filter"),
        (b"a ESEARCH IN (BOGUS) ALL\r\n", "unknown mailbox filter"),
        (b'a ESEARCH IN ("SELECTED") ALL\r\n', "mailbox filter"),
        (b"a ESEARCH IN (SELECTED-DELAYED) ALL\r\n", "unknown mailbox filter"),
        (b"a ESEARCH IN (SUBTREE-ONE) ALL\r\n", "space"),
        (b"a ESEARCH IN (SUBTREE-ONE (Test) ) ALL\r\n", "mailbox filter"),
        (b"a ESEARCH IN (PERSONAL (DEPTH 1)) ALL\r\n", "mailbox filter"),
        (b"a ESEARCH IN (PERSONAL) RETURN (PARTIAL 1:5) ALL\r\n", "return option"),
        (b"a ESEARCH IN (PERSONAL)\r\n", "space"),
    ],
)
def test_bad_syntax_is_a_bad_naming_what_is_wrong(line: bytes, fragment: str) -> None:
    [event] = events(line)
    assert isinstance(event, BadCommand), event
    assert event.tag == "a"
    assert fragment in event.text, event.text


# --- properties ---------------------------------------------------------------------------
_NAMES = st.text(alphabet="abcXYZ019 /-_", min_size=1, max_size=12).filter(
    lambda s: s == s.strip() and s.upper() not in ("NIL",)
)
_FILTERS = st.one_of(
    st.sampled_from(["INBOXES", "PERSONAL", "SUBSCRIBED"]).map(lambda k: F(kind=k)),
    st.builds(
        lambda k, names: F(kind=k, mailboxes=tuple(names)),
        st.sampled_from(["SUBTREE", "MAILBOXES"]),
        st.lists(_NAMES, min_size=1, max_size=3),
    ),
)
_EVENT_SETS = st.sampled_from(
    [
        (),
        (NEW, GONE),
        (GONE, NEW, E(name="FlagChange")),
        (E(name="MailboxName"),),
        (E(name="SubscriptionChange"), E(name="MailboxName"), NEW, GONE),
        (E(name="AnnotationChange"), NEW, GONE),
    ]
)


def _quoted(name: str) -> bytes:
    return b'"' + name.encode() + b'"'


def render(cmd: c.Notify) -> bytes:
    """NOTIFY as a client would write it (the test's side of the round trip)."""
    if cmd.groups is None:
        return b"%s NOTIFY NONE\r\n" % cmd.tag.encode()
    out = b"%s NOTIFY SET%s" % (cmd.tag.encode(), b" STATUS" if cmd.status else b"")
    for group in cmd.groups:
        f = group.filter
        part = f.kind.lower().encode()
        if f.mailboxes:
            part += b" (" + b" ".join(_quoted(n) for n in f.mailboxes) + b")"
        names = b" ".join(e.name.encode() for e in group.events)
        out += b" (" + part + b" " + (b"(" + names + b")" if names else b"NONE") + b")"
    return out + b"\r\n"


@given(
    groups=st.none() | st.lists(st.builds(G, filter=_FILTERS, events=_EVENT_SETS), min_size=1),
    status=st.booleans(),
)
def test_notify_render_parse_round_trip(groups: list[c.NotifyGroup] | None, status: bool) -> None:
    cmd = c.Notify(
        tag="t", groups=None if groups is None else tuple(groups), status=status and bool(groups)
    )
    assert parse_one(render(cmd)) == cmd


@settings(max_examples=300)
@given(
    prefix=st.sampled_from([b"a NOTIFY SET ", b"a NOTIFY SET STATUS (", b"a ESEARCH IN ("]),
    data=st.binary(max_size=120),
)
def test_arbitrary_arguments_are_a_bad_or_a_command(prefix: bytes, data: bytes) -> None:
    # The parser raises only ProtocolError, which the receiver turns into BadCommand.
    r = Receiver(max_line=400, max_literal=100)
    r.receive_data(prefix + data + b"\r\n")
    for _ in range(200):
        event = r.next_event()
        if event is NEED_DATA:
            break
        assert isinstance(event, BadCommand | c.Command | NeedLiteral | Fatal), event
