"""Length limits of tags and atoms (issue 11): past them, BAD, and the session goes on."""

from __future__ import annotations

from roost.proto.imap import commands as c
from roost.proto.imap.cursor import MAX_ATOM, MAX_TAG
from roost.proto.imap.receiver import BadCommand
from roost.proto.imap.searchkeys import MAX_KEYS
from tests.proto.test_imap_receiver import events


def test_a_tag_of_1_kib_is_the_longest() -> None:
    tag = b"t" * MAX_TAG
    assert events(tag + b" NOOP\r\n") == [c.Noop(tag=tag.decode())]
    [bad, after] = events(tag + b"t NOOP\r\nz NOOP\r\n")
    assert bad == BadCommand(None, f"tag longer than {MAX_TAG} octets")  # not echoed
    assert after == c.Noop(tag="z")


def test_an_atom_past_the_limit_is_bad() -> None:
    keyword = b"k" * MAX_ATOM
    [ok] = events(b"a STORE 1 +FLAGS (" + keyword + b")\r\n")
    assert isinstance(ok, c.Store) and ok.flags == (keyword.decode(),)
    [bad] = events(b"a STORE 1 +FLAGS (" + keyword + b"k)\r\n")
    assert bad == BadCommand("a", f"flag longer than {MAX_ATOM} octets")


def test_search_sort_thread_and_esearch_take_at_most_max_keys() -> None:
    # Issue 9: 5,000 keys made the store's SQL too deep ([SERVERBUG]); now BAD past
    # MAX_KEYS, nested keys counted, and the session goes on.
    prefixes = [b"a SEARCH ", b"a UID SORT (DATE) UTF-8 ", b"a THREAD REFERENCES UTF-8 "]
    prefixes.append(b"a ESEARCH IN (personal) ")
    for prefix in prefixes:
        [ok] = events(prefix + b" ".join([b"FLAGGED"] * MAX_KEYS) + b"\r\n")
        assert not isinstance(ok, BadCommand), prefix
        [bad, after] = events(prefix + b" ".join([b"FLAGGED"] * (MAX_KEYS + 1)) + b"\r\nz NOOP\r\n")
        assert bad == BadCommand("a", f"more than {MAX_KEYS} search keys"), prefix
        assert after == c.Noop(tag="z")
    # NOT x counts two keys; 500 of them are 1,000.
    [ok] = events(b"a SEARCH " + b" ".join([b"NOT SEEN"] * 500) + b"\r\n")
    assert isinstance(ok, c.Search)
    [bad] = events(b"a SEARCH ALL " + b" ".join([b"NOT SEEN"] * 500) + b"\r\n")
    assert isinstance(bad, BadCommand)
