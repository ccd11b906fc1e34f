"""Base subject extraction (RFC 5256 §2.1), the i;ascii-casemap fold, address keys and
message ids: the SORT and THREAD keys delivery computes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.proto.addresses import Address, parse_addresses
from roost.proto.sortkeys import (
    base_subject,
    display_key,
    fold,
    mailbox_key,
    message_ids,
    thread_parents,
)


@pytest.mark.parametrize(
    ("subject", "base", "reply"),
    [
        ("Lunch", "Lunch", False),
        ("", "", False),
        # (1) white space: tabs and line breaks are spaces, runs one space
        ("Lunch \t at\r\n  noon", "Lunch at noon", False),
        # (2) trailers: "(fwd)" and white space, repeatedly
        ("Lunch (fwd)", "Lunch", True),
        ("Lunch (FWD)  (fwd) ", "Lunch", True),
        ("Lunch   ", "Lunch", False),
        # (3) leaders: subj-refwd with optional blobs, and white space
        ("Re: Lunch", "Lunch", True),
        ("RE: re: Fwd: FW: Lunch", "Lunch", True),
        ("Re:Lunch", "Lunch", True),
        ("Re : Lunch", "Lunch", True),
        ("Re[2]: Lunch", "Lunch", True),
        ("[roost] Re: Lunch", "Lunch", True),
        ("[a][b] Re [c]: Lunch", "Lunch", True),
        ("  Lunch", "Lunch", False),
        # (4) a leading blob goes when something is left after it
        ("[roost] Lunch", "Lunch", False),
        ("[roost] [dev] Re: Lunch", "Lunch", True),
        ("[roost]", "[roost]", False),
        ("[roost] [dev]", "[dev]", False),
        # (6) "[fwd: ...]" wraps the subject it forwards; then from (2) again
        ("[Fwd: Re: Lunch]", "Lunch", True),
        ("[fwd: [Fwd: Lunch (fwd)]]", "Lunch", True),
        ("Re: [Fwd: Lunch]", "Lunch", True),
        # not leaders
        ("Reply: Lunch", "Reply: Lunch", False),
        ("Fwdx: Lunch", "Fwdx: Lunch", False),
        ("Lunch: Re: noon", "Lunch: Re: noon", False),
        ("[Fwd: Lunch", "[Fwd: Lunch", False),
    ],
)
def test_base_subject_follows_rfc5256(subject: str, base: str, reply: bool) -> None:
    assert base_subject(subject) == (base, reply)


_SUBJECT_ALPHABET = st.sampled_from(
    ["Re", "re", "Fwd", "FW", ":", " ", "\t", "[", "]", "(fwd)", "[fwd:", "a", "Lunch", "é"]
)
subjects = st.lists(_SUBJECT_ALPHABET, max_size=12).map("".join) | st.text(max_size=40)


@given(subjects)
def test_base_subject_is_idempotent(subject: str) -> None:
    base, _ = base_subject(subject)
    assert base_subject(base)[0] == base


@given(subjects)
def test_base_subject_has_no_outer_white_space_or_leader(subject: str) -> None:
    base, _ = base_subject(subject)
    assert base == base.strip(" ")
    assert "  " not in base and "\t" not in base and "\n" not in base
    assert not base.lower().startswith(("re:", "fw:", "fwd:"))
    assert not base.lower().endswith("(fwd)")


@given(subjects)
def test_a_reply_prefix_marks_a_reply_with_the_same_base(subject: str) -> None:
    base, _ = base_subject(subject)
    assert base_subject("Re: " + subject) == (base, True)


def test_fold_is_ascii_casemap() -> None:
    # i;ascii-casemap: ASCII letters to upper case, so "_" sorts after letters either way
    assert fold("aBc_é") == "ABC_é"
    assert sorted(["b", "_", "A"], key=fold) == ["A", "b", "_"]


def test_address_keys() -> None:
    bob = parse_addresses('"Bob Smith" <Bob@Example.org>, carol@example.org')
    assert mailbox_key(bob) == "Bob"
    assert display_key(bob) == "Bob Smith"
    bare = parse_addresses("carol@example.org")
    assert display_key(bare) == "carol@example.org"
    assert mailbox_key(()) == "" and display_key(()) == ""
    # A group sorts by its name, the mailbox of ENVELOPE's start marker (RFC 3501 §7.4.2),
    # as Dovecot sorts (imaptest sort-addresses, sort-display-to); so does an empty one.
    group = parse_addresses("Team: dave@example.org, erin@example.org;")
    assert mailbox_key(group) == "Team" and display_key(group) == "Team"
    assert display_key(parse_addresses("empty:;")) == "empty"
    assert display_key([Address("=?x?q?y?=", None, "a", "b")], lambda s: "Y") == "Y"


def test_message_ids_and_thread_parents() -> None:
    refs = "<a@x>  <b@x>\t<not an id> <c@x>"
    assert message_ids(refs) == ["a@x", "b@x", "c@x"]
    assert message_ids(None) == []
    assert thread_parents(refs, "<z@x>") == ("a@x", "b@x", "c@x")
    # RFC 5256 §3: without valid References, the first id of In-Reply-To
    assert thread_parents("junk", "<z@x> <y@x>") == ("z@x",)
    assert thread_parents(None, None) == ()
