"""Length limits of tags and atoms (issue 11): past them, BAD, and the session goes on."""

from __future__ import annotations

from roost.proto.imap import commands as c
from roost.proto.imap.cursor import MAX_ATOM, MAX_TAG
from roost.proto.imap.receiver import BadCommand
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
