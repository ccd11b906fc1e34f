"""What imaptest (Dovecot's tester, `make conformance`) found, as transcripts, so that none of
it comes back: each test names the imaptest group or stress check that failed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from roost.imap.selected import SelectedMailbox
from roost.model import MailboxId, ModSeq, UidValidity
from tests.imap.transcript import transcript

NOTE = """\
From: Bob <bob@example.org>
To: alice@example.org
Subject: Note

Hello.
"""

QP = """\
Content-Type: text/plain
Content-Transfer-Encoding: quoted-printable

hello \t
foo =\t
=62=
"""

COMMENTED = """\
From: <user-from (comment)@ (comment) domain.org>
Cc: user2: blah@domain1.org;
To: empty:;
Subject: comments

Hi.
"""

PLAIN = """\
From: user-from@domain.org
Cc: user2@domain2.org
To: b@c.d
Subject: plain

Hi.
"""

Run = Callable[..., None]
SYSTEM = "\\Answered \\Deleted \\Draft \\Flagged \\Seen"
PERMANENT = "\\* " + SYSTEM


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(
        transcript,
        tmp_path,
        messages={"note": NOTE, "qp": QP, "commented": COMMENTED, "plain": PLAIN},
    )


# ----- keywords in FLAGS (the checked stress test: "Keyword used without being in FLAGS") ---


def test_select_lists_the_mailbox_keywords_in_flags_and_permanentflags(run: Run) -> None:
    run(
        f"""
        C1: a APPEND INBOX ($Label1 \\Seen) {{note}} (Work $label1) {{note}} {{note}}
        S1: a OK [APPENDUID ... 1:3] APPEND completed
        C1: b SELECT INBOX
        S1: * FLAGS ({SYSTEM} $Label1 Work)
        S1: * OK [PERMANENTFLAGS ({PERMANENT} $Label1 Work)] Flags permitted
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: c EXAMINE INBOX
        S1: * OK [CLOSED] Previous mailbox closed
        S1: * FLAGS ({SYSTEM} $Label1 Work)
        S1: * OK [PERMANENTFLAGS ()] Read-only mailbox
        S1: ...
        S1: c OK [READ-ONLY] EXAMINE completed
        """,
        login=(1,),
    )


def test_a_keyword_set_by_another_device_is_announced_before_its_fetch(run: Run) -> None:
    run(
        f"""
        C1: a APPEND INBOX {{note}}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b SELECT INBOX
        S1: * FLAGS ({SYSTEM})
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C2: c SELECT INBOX
        S2: ...
        S2: c OK [READ-WRITE] SELECT completed
        C2: d STORE 1 +FLAGS.SILENT ($Important)
        S2: * FLAGS ({SYSTEM} $Important)
        S2: * OK [PERMANENTFLAGS ({PERMANENT} $Important)] Flags permitted
        S2: d OK STORE completed
        C1: e NOOP
        S1: * FLAGS ({SYSTEM} $Important)
        S1: * OK [PERMANENTFLAGS ({PERMANENT} $Important)] Flags permitted
        S1: * 1 FETCH (UID 1 FLAGS (\\Recent $Important))
        S1: e OK NOOP completed
        C1: f NOOP
        S1: f OK NOOP completed
        """,
        login=(1, 2),
    )


def test_a_fetch_before_the_sync_announces_the_keyword_first(run: Run) -> None:
    """FETCH reads the flags as they are now, which may hold a keyword another device set
    since this one last heard: FLAGS goes out ahead of that FETCH, never after."""
    run(
        f"""
        C1: a APPEND INBOX (\\Seen) {{note}}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b SELECT INBOX
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C2: c SELECT INBOX
        S2: ...
        S2: c OK [READ-WRITE] SELECT completed
        C2: d STORE 1 +FLAGS.SILENT (Later)
        S2: ...
        S2: d OK STORE completed
        C1: e FETCH 1 (FLAGS)
        S1: * FLAGS ({SYSTEM} Later)
        S1: * OK [PERMANENTFLAGS ({PERMANENT} Later)] Flags permitted
        S1: * 1 FETCH (FLAGS (\\Recent \\Seen Later))
        S1: * 1 FETCH (UID 1 FLAGS (\\Recent \\Seen Later))
        S1: e OK FETCH completed
        """,
        login=(1, 2),
    )


def test_flags_never_drops_a_keyword_and_case_does_not_make_a_new_one(run: Run) -> None:
    run(
        f"""
        C1: a APPEND INBOX (Old) {{note}}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b SELECT INBOX
        S1: * FLAGS ({SYSTEM} Old)
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: c STORE 1 -FLAGS (Old)
        S1: * 1 FETCH (UID 1 FLAGS (\\Recent))
        S1: c OK STORE completed
        C1: d STORE 1 +FLAGS (OLD)
        S1: * 1 FETCH (UID 1 FLAGS (\\Recent OLD))
        S1: d OK STORE completed
        C1: e STORE 1 +FLAGS (New)
        S1: * FLAGS ({SYSTEM} New Old)
        S1: * OK [PERMANENTFLAGS ({PERMANENT} New Old)] Flags permitted
        S1: * 1 FETCH (UID 1 FLAGS (\\Recent New OLD))
        S1: e OK STORE completed
        """,
        login=(1,),
    )


def test_a_keyword_on_a_message_expunged_unseen_is_still_announced(run: Run) -> None:
    """Checkpoint "Missing keyword": every session of a mailbox names the same keywords,
    including one whose only message went before this session heard of it."""
    run(
        f"""
        C1: a APPEND INBOX {{note}}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b APPEND INBOX {{note}}
        S1: b OK [APPENDUID ... 2] APPEND completed
        C1: c SELECT INBOX
        S1: * FLAGS ({SYSTEM})
        S1: ...
        S1: c OK [READ-WRITE] SELECT completed
        C2: d SELECT INBOX
        S2: ...
        S2: d OK [READ-WRITE] SELECT completed
        C2: e STORE 2 +FLAGS.SILENT (Brief \\Deleted)
        S2: ...
        S2: e OK STORE completed
        C2: f EXPUNGE
        S2: * 2 EXPUNGE
        S2: f OK EXPUNGE completed
        C1: g NOOP
        S1: * FLAGS ({SYSTEM} Brief)
        S1: * OK [PERMANENTFLAGS ({PERMANENT} Brief)] Flags permitted
        S1: * 2 EXPUNGE
        S1: * 1 RECENT
        S1: g OK NOOP completed
        C3: h SELECT INBOX
        S3: * FLAGS ({SYSTEM} Brief)
        S3: ...
        S3: h OK [READ-WRITE] SELECT completed
        """,
        login=(1, 2, 3),
    )


# ----- select: EXAMINE reports RECENT without claiming it ---------------------------------


def test_examine_reports_recent_and_leaves_it_to_select(run: Run) -> None:
    run(
        """
        C1: a APPEND INBOX {note}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b APPEND INBOX {note}
        S1: b OK [APPENDUID ... 2] APPEND completed
        C1: c EXAMINE INBOX
        S1: ...
        S1: * 2 EXISTS
        S1: * 2 RECENT
        S1: ...
        S1: c OK [READ-ONLY] EXAMINE completed
        C1: d FETCH 1:2 (FLAGS)
        S1: * 1 FETCH (FLAGS (\\Recent))
        S1: * 2 FETCH (FLAGS (\\Recent))
        S1: d OK FETCH completed
        C1: e SELECT INBOX
        S1: ...
        S1: * 2 EXISTS
        S1: * 2 RECENT
        S1: ...
        S1: e OK [READ-WRITE] SELECT completed
        C1: f STATUS INBOX (RECENT)
        S1: * STATUS "INBOX" (RECENT 0)
        S1: f OK STATUS completed
        """,
        login=(1,),
    )


# ----- stress: "Message has \Recent flag in multiple sessions" ---------------------------


def test_recent_follows_the_claimed_range_not_the_view() -> None:
    """SELECT reads the uids and claims \\Recent at once, so a message may arrive between the
    two: it is recent to this session only if its claim covered it, whether the view holds
    it yet or learns of it at a later sync."""
    view = SelectedMailbox(
        mailbox_id=MailboxId(1),
        uidvalidity=UidValidity(1),
        uids=[1, 2, 3, 4],  # 4 arrived after the claim: another session claims it
        modseq=ModSeq(1),
        readonly=False,
        recent=(2, 4),
    )
    assert [view.is_recent(u) for u in (1, 2, 3, 4)] == [False, True, True, False]
    assert view.recent_count() == 2
    view.claim_recent(5, 7)  # a later claim; 5 and 6 reach the view afterwards
    view.uids.extend([5, 6])
    assert [view.is_recent(u) for u in (4, 5, 6)] == [False, True, True]
    assert view.recent_count() == 4
    assert view.recent_ranges() == [(2, 3), (5, 6)]
    view.claim_recent(7, 7)  # nothing new claimed
    view.claim_recent(7, 9)
    assert view.recent_ranges() == [(2, 3), (5, 8)]


# ----- atoms: a name that is not modified UTF-7 names no mailbox ----------------------


def test_a_name_that_is_not_modified_utf7_gets_no_not_bad(run: Run) -> None:
    run(
        """
        C1: a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}
        S1: a NO [NONEXISTENT] No such mailbox name: ...
        C1: b LIST "" !#$&'+,-.0123456789:;<=>?@^_`|[}%*
        S1: b OK LIST completed
        C1: c CREATE &Jjo
        S1: c NO [CANNOT] No such mailbox name: ...
        C1: d RENAME INBOX &Jjo
        S1: d NO [CANNOT] ...
        C1: e STATUS &Jjo! (MESSAGES)
        S1: e NO [NONEXISTENT] ...
        """,
        login=(1,),
    )


# ----- append-binary: no NUL in an ordinary literal -----------------------------------


def test_a_part_appended_with_nul_is_sent_in_base64_and_binary_decodes_it(run: Run) -> None:
    run(
        """
        C1: a CREATE Bin
        S1: a OK ...
        C1: b APPEND Bin ~{41+}
        C1: Content-Transfer-Encoding: binary
        C1:
        C1: \0\x01ab
        S1: b OK [APPENDUID ... 1] APPEND completed
        C1: c SELECT Bin
        S1: ...
        S1: c OK [READ-WRITE] SELECT completed
        C1: d FETCH 1 (BODY.PEEK[1] BINARY.SIZE[1] BODYSTRUCTURE)
        S1: * 1 FETCH (BODY[1] {8}
        S1: AAFhYg== BINARY.SIZE[1] 4 BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "BASE64" 8 1 NIL NIL NIL NIL))
        S1: d OK FETCH completed
        C1: e FETCH 1 (BINARY.PEEK[1])
        S1: * 1 FETCH (BINARY[1] ~{4}
        S1: \0\x01ab)
        S1: e OK FETCH completed
        """,
        login=(1,),
    )


# ----- fetch-binary-mime-qp: RFC 2045 §6.7 decoding, and BINARY.SIZE agrees ----------


def test_binary_of_quoted_printable_drops_trailing_space_and_soft_breaks(run: Run) -> None:
    run(
        """
        C1: a APPEND INBOX {qp}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b SELECT INBOX
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: c FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])
        S1: * 1 FETCH (BINARY.SIZE[1] 12 BINARY[1] {12}
        S1: hello
        S1: foo b)
        S1: c OK FETCH completed
        """,
        login=(1,),
    )


# ----- esearch-condstore: RFC 7162 §3.1 and §3.1.5 --------------------------------------


def test_first_condstore_command_reports_highestmodseq_and_min_max_their_modseq(
    run: Run,
) -> None:
    run(
        """
        C1: a APPEND INBOX {note} {note} {note}
        S1: a OK [APPENDUID ... 1:3] APPEND completed
        C1: b SELECT INBOX
        S1: ...
        S1: * OK [HIGHESTMODSEQ 2] Highest
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: c FETCH 1 (MODSEQ)
        S1: * OK [HIGHESTMODSEQ 2] Highest
        S1: * 1 FETCH (MODSEQ (2))
        S1: c OK FETCH completed
        C1: d FETCH 2 (MODSEQ)
        S1: * 2 FETCH (MODSEQ (2))
        S1: d OK FETCH completed
        C1: e STORE 3 +FLAGS.SILENT (\\Seen)
        S1: e OK STORE completed
        C1: f STORE 1 +FLAGS.SILENT (\\Seen)
        S1: f OK STORE completed
        C1: g SEARCH RETURN (MIN) MODSEQ 3
        S1: * ESEARCH (TAG "g") MIN 1 MODSEQ 4
        S1: g OK SEARCH completed
        C1: h SEARCH RETURN (MAX) MODSEQ 3
        S1: * ESEARCH (TAG "h") MAX 3 MODSEQ 3
        S1: h OK SEARCH completed
        C1: i SEARCH RETURN (MIN MAX) MODSEQ 3
        S1: * ESEARCH (TAG "i") MIN 1 MAX 3 MODSEQ 4
        S1: i OK SEARCH completed
        C1: j SEARCH RETURN (MAX COUNT) MODSEQ 3
        S1: * ESEARCH (TAG "j") MAX 3 COUNT 2 MODSEQ 4
        S1: j OK SEARCH completed
        """,
        login=(1,),
    )


# ----- listext and subscribe: RFC 5258 options, CHILDINFO, LSUB's \Noselect parents ----


def test_list_extended_refuses_options_it_does_not_know(run: Run) -> None:
    run(
        """
        C1: a LIST (IMAPTEST) "" ""
        S1: a BAD unknown LIST selection option IMAPTEST
        C1: b LIST (RECURSIVEMATCH) "" ""
        S1: b BAD RECURSIVEMATCH needs another selection option
        C1: c LIST (RECURSIVEMATCH REMOTE) "" ""
        S1: c BAD RECURSIVEMATCH needs another selection option
        C1: d LIST "" "" RETURN (IMAPTEST)
        S1: d BAD unknown LIST return option IMAPTEST
        C1: e LIST (REMOTE) "" Nothing%
        S1: e OK LIST completed
        """,
        login=(1,),
    )


def test_childinfo_and_lsub_stand_in_for_a_subscribed_child_the_pattern_misses(
    run: Run,
) -> None:
    run(
        """
        C1: a CREATE Box/Kid
        S1: a OK ...
        C1: b SUBSCRIBE Box/Kid
        S1: b OK SUBSCRIBE completed
        C1: c LIST (SUBSCRIBED RECURSIVEMATCH) "" (Box)
        S1: * LIST (\\HasChildren) "/" "Box" ("CHILDINFO" ("SUBSCRIBED"))
        S1: c OK LIST completed
        C1: d LIST (SUBSCRIBED RECURSIVEMATCH) "" (Box Box/Kid)
        S1: * LIST (\\HasNoChildren \\Subscribed) "/" "Box/Kid"
        S1: d OK LIST completed
        C1: e LSUB "" B%
        S1: * LSUB (\\Noselect) "/" "Box"
        S1: e OK LSUB completed
        C1: f LSUB "" B*
        S1: * LSUB () "/" "Box/Kid"
        S1: f OK LSUB completed
        C1: g CREATE Gone/Deep/Kid
        S1: g OK ...
        C1: h SUBSCRIBE Gone/Deep/Kid
        S1: h OK SUBSCRIBE completed
        C1: i DELETE Gone/Deep/Kid
        S1: i OK DELETE completed
        C1: j DELETE Gone/Deep
        S1: j OK DELETE completed
        C1: k DELETE Gone
        S1: k OK DELETE completed
        C1: l LSUB "" Gone/%
        S1: * LSUB (\\Noselect) "/" "Gone/Deep"
        S1: l OK LSUB completed
        """,
        login=(1,),
    )


# ----- search-addresses, sort-addresses, sort-display-to ------------------------------


def test_address_search_sees_through_comments_and_groups_sort_by_name(run: Run) -> None:
    run(
        """
        C1: a APPEND INBOX {plain} {commented} {note}
        S1: a OK [APPENDUID ... 1:3] APPEND completed
        C1: b SELECT INBOX
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: c SEARCH FROM user-from@domain.org
        S1: * SEARCH 1 2
        S1: c OK SEARCH completed
        C1: d SORT (CC) US-ASCII ALL
        S1: * SORT 3 1 2
        S1: d OK SORT completed
        C1: e SORT (DISPLAYTO) US-ASCII ALL
        S1: * SORT 3 1 2
        S1: e OK SORT completed
        """,
        login=(1,),
    )


# ----- catenate, catenate-multiappend (RFC 4469) ----------------------------------------


def test_catenate_builds_a_message_from_text_and_parts_of_others(run: Run) -> None:
    run(
        """
        C1: a APPEND INBOX {note}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b CREATE Out
        S1: b OK ...
        C1: c APPEND Out CATENATE (TEXT {14+}
        C1: Subject: New
        C1:  URL "/INBOX/;UID=1/;SECTION=TEXT" TEXT {2+}
        C1: PS)
        S1: c OK [APPENDUID ... 1] APPEND completed
        C1: d APPEND Out CATENATE (URL "/INBOX/;uid=1/;section=header") CATENATE (URL "/INBOX/;UID=1/;PARTIAL=6.3")
        S1: d OK [APPENDUID ... 2:3] APPEND completed
        C1: e SELECT Out
        S1: ...
        S1: e OK [READ-WRITE] SELECT completed
        C1: f FETCH 1:3 (BODY.PEEK[])
        S1: * 1 FETCH (BODY[] {24}
        S1: Subject: New
        S1: Hello.
        S1: PS)
        S1: * 2 FETCH (BODY[] {69}
        S1: From: Bob <bob@example.org>
        S1: To: alice@example.org
        S1: Subject: Note
        S1:
        S1: )
        S1: * 3 FETCH (BODY[] {3}
        S1: Bob)
        S1: f OK FETCH completed
        C1: g APPEND Out CATENATE (TEXT {2+}
        C1: x: URL "/INBOX;UIDVALIDITY=1/;UID=1")
        S1: g NO [BADURL /INBOX;UIDVALIDITY=1/;UID=1] CATENATE names no message part you may read
        C1: h APPEND Out CATENATE (URL "/INBOX/;UID=9")
        S1: h NO [BADURL /INBOX/;UID=9] ...
        C1: i APPEND Nowhere CATENATE (URL "/INBOX/;UID=9")
        S1: i NO [TRYCREATE] No such mailbox
        C1: j STATUS Out (MESSAGES)
        S1: * STATUS "Out" (MESSAGES 3)
        S1: j OK STATUS completed
        """,
        login=(1,),
    )


# ----- search-context-update (RFC 5267 CONTEXT=SEARCH), search-partial ------------------


def test_a_search_kept_up_to_date_reports_what_joins_and_leaves(run: Run) -> None:
    run(
        """
        C1: a APPEND INBOX {note} {note} {note} {note}
        S1: a OK [APPENDUID ... 1:4] APPEND completed
        C1: b SELECT INBOX
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: s SEARCH RETURN (UPDATE) SEEN
        S1: * ESEARCH (TAG "s")
        S1: s OK SEARCH completed
        C1: u UID SEARCH RETURN (UPDATE COUNT) SEEN
        S1: * ESEARCH (TAG "u") UID COUNT 0
        S1: u OK UID SEARCH completed
        C1: c STORE 1,2,4 +FLAGS.SILENT (\\Seen)
        S1: * ESEARCH (TAG "s") ADDTO (0 1:2,4)
        S1: * ESEARCH (TAG "u") UID ADDTO (0 1:2,4)
        S1: c OK STORE completed
        C2: d SELECT INBOX
        S2: ...
        S2: d OK [READ-WRITE] SELECT completed
        C2: e STORE 2 +FLAGS.SILENT (\\Deleted)
        S2: e OK STORE completed
        C2: f EXPUNGE
        S2: * 2 EXPUNGE
        S2: f OK EXPUNGE completed
        C1: g NOOP
        S1: * ESEARCH (TAG "s") REMOVEFROM (0 2)
        S1: * ESEARCH (TAG "u") UID REMOVEFROM (0 2)
        S1: * 2 EXPUNGE
        S1: * 3 RECENT
        S1: g OK NOOP completed
        C2: h APPEND INBOX (\\Seen) {note}
        S2: ...
        S2: h OK [APPENDUID ... 5] APPEND completed
        C1: i NOOP
        S1: * 4 EXISTS
        S1: * 3 RECENT
        S1: * ESEARCH (TAG "s") ADDTO (0 4)
        S1: * ESEARCH (TAG "u") UID ADDTO (0 5)
        S1: i OK NOOP completed
        C1: j CANCELUPDATE "s" "u"
        S1: j OK CANCELUPDATE completed
        C1: k STORE 2 +FLAGS.SILENT (\\Seen)
        S1: k OK STORE completed
        C1: l CANCELUPDATE "s"
        S1: l BAD No search is kept up to date under tag s
        C1: m SEARCH RETURN (PARTIAL 4:2) ALL
        S1: * ESEARCH (TAG "m") PARTIAL (2:4 2:4)
        S1: m OK SEARCH completed
        """,
        login=(1, 2),
    )


# ----- limits: a 1 KiB tag is the longest ------------------------------------------------


def test_a_tag_past_1_kib_is_bad_untagged_and_the_session_goes_on(run: Run) -> None:
    long = "t" * 1025
    run(
        f"""
        C1: {long} NOOP
        S1: * BAD tag longer than 1024 octets
        C1: {long[:1024]} NOOP
        S1: {long[:1024]} OK NOOP completed
        """
    )


def test_recent_is_reported_again_when_expunges_lower_it(run: Run) -> None:
    """Checkpoint "Total RECENT count larger than message count": a client cannot tell
    from EXPUNGE whether the message was recent, so RECENT follows (as Dovecot sends)."""
    run(
        """
        C1: a APPEND INBOX {note} {note} {note}
        S1: a OK [APPENDUID ... 1:3] APPEND completed
        C1: b SELECT INBOX
        S1: ...
        S1: * 3 RECENT
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C2: c APPEND INBOX (\\Deleted) {note}
        S2: c OK [APPENDUID ... 4] APPEND completed
        C1: d NOOP
        S1: * 4 EXISTS
        S1: * 4 RECENT
        S1: d OK NOOP completed
        C2: e SELECT INBOX
        S2: ...
        S2: * 0 RECENT
        S2: ...
        S2: e OK [READ-WRITE] SELECT completed
        C2: f STORE 1 +FLAGS.SILENT (\\Deleted)
        S2: f OK STORE completed
        C2: g EXPUNGE
        S2: * 4 EXPUNGE
        S2: * 1 EXPUNGE
        S2: g OK EXPUNGE completed
        C1: h NOOP
        S1: * 4 EXPUNGE
        S1: * 1 EXPUNGE
        S1: * 2 RECENT
        S1: h OK NOOP completed
        """,
        login=(1, 2),
    )
