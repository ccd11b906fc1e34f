"""Search keys and fetch items are typed (issue 11). Every search key the parser knows
becomes its own store query: none falls through to "every message", which a client that
deletes its search results would turn into an empty mailbox (mypy checks that to_query
matches every kind of key; this checks that each keyword is parsed into the kind it
means). Every fetch attribute the parser knows is one FETCH renders."""

from __future__ import annotations

import pytest

from roost.imap import cached_fetch
from roost.imap.commands import fetch
from roost.imap.commands.search import to_query
from roost.imap.selected import SelectedMailbox
from roost.model import MailboxId, ModSeq, UidValidity
from roost.proto.imap import commands as c
from roost.proto.imap.cursor import Cursor
from roost.proto.imap.searchkeys import NO_ARGUMENT, WITH_ARGUMENT, search_key
from roost.store import api as q

ARGUMENTS = {
    **dict.fromkeys(("BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"), "x"),
    **dict.fromkeys(
        [k for k in WITH_ARGUMENT if k.endswith(("BEFORE", "ON", "SINCE"))], "1-Feb-2024"
    ),
    "HEADER": "X-Spam yes",
    "LARGER": "10",
    "SMALLER": "10",
    "OLDER": "60",
    "YOUNGER": "60",
    "KEYWORD": "$Work",
    "UNKEYWORD": "$Work",
    "UID": "1:3",
    "NOT": "SEEN",
    "OR": "SEEN DRAFT",
    "MODSEQ": "5",
    "EMAILID": "M1",
    "THREADID": "T1",
}
VIEW = SelectedMailbox(
    mailbox_id=MailboxId(1),
    uidvalidity=UidValidity(1),
    uids=[1, 2, 3],
    modseq=ModSeq(1),
    readonly=False,
)


def query(text: str) -> q.Query:
    return to_query(VIEW, search_key(Cursor([text.encode()]), 0))


def test_every_key_with_an_argument_has_a_sample() -> None:
    assert set(ARGUMENTS) == set(WITH_ARGUMENT)


@pytest.mark.parametrize("name", sorted(set(NO_ARGUMENT) | set(WITH_ARGUMENT)))
def test_only_all_and_savedatesupported_match_every_message(name: str) -> None:
    text = f"{name} {ARGUMENTS[name]}" if name in ARGUMENTS else name
    everything = name in ("ALL", "SAVEDATESUPPORTED")
    assert (query(text) == q.All()) is everything, text


def test_every_fetch_attribute_is_rendered_somewhere() -> None:
    """A fetch-att the parser accepts is one FETCH renders: from the stored items or as a
    section of the message (RFC822, RFC822.HEADER, RFC822.TEXT)."""
    assert set(c.FetchAttr) == set(cached_fetch._ITEMS) | set(fetch._ALIASES)
