"""IMAP sessions as transcripts (see transcript.py): each command family, the RFC 9051 rules
about what is sent when, and several connections sharing one mailbox."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.imap.transcript import transcript

LUNCH = """\
From: Bob <bob@example.org>
To: alice@example.org
Subject: Lunch
Date: Mon, 7 Feb 1994 21:52:25 -0800
Message-ID: <lunch@example.org>

See you at noon.
"""

REPORT = """\
From: Carol <carol@example.org>
To: alice@example.org
Subject: Report
Date: Tue, 8 Feb 1994 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="xx"

--xx
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

aGVsbG8gd29ybGQ=
--xx
Content-Type: text/plain

second part
--xx--
"""

MESSAGES = {"lunch": LUNCH, "report": REPORT}
DATE = '"07-Feb-1994 21:52:25 -0800"'

Run = Callable[..., None]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages=MESSAGES)


# Three messages in INBOX: 1 lunch (\Seen), 2 report, 3 lunch (\Flagged), then SELECT.
FILLED = f"""
C1: f1 APPEND INBOX (\\Seen) {DATE} {{lunch}} {DATE} {{report}} (\\Flagged) {DATE} {{lunch}}
S1: f1 OK [APPENDUID ... 1:3] APPEND completed
C1: f2 SELECT INBOX
S1: ...
S1: f2 OK [READ-WRITE] SELECT completed
"""


# --- greeting, capabilities, authentication ------------------------------------------


def test_greeting_and_capabilities_before_and_after_login(run: Run) -> None:
    # Issue 11: what a client plans with is in the greeting already (IDLE, MOVE, UIDPLUS,
    # CONDSTORE, QRESYNC...), and LOGIN's OK carries the list once logged in (no AUTH=).
    before = (
        "IMAP4rev1 IMAP4rev2 LITERAL\\+ SASL-IR ID ENABLE IDLE .* UIDPLUS MOVE "
        ".* CONDSTORE QRESYNC .* APPENDLIMIT=\\d+ AUTH=PLAIN"
    )
    after = "IMAP4rev1 IMAP4rev2 .* IDLE .* UIDPLUS MOVE .* CONDSTORE QRESYNC .* APPENDLIMIT=\\d+"
    run(
        f"""
        S1: re:\\* OK \\[CAPABILITY {before}\\] Roost ready
        C1: a CAPABILITY
        S1: re:\\* CAPABILITY {before}
        S1: a OK CAPABILITY completed
        C1: b LOGIN alice@example.org secret
        S1: re:b OK \\[CAPABILITY {after}\\] Logged in
        C1: c CAPABILITY
        S1: re:\\* CAPABILITY {after}
        S1: c OK CAPABILITY completed
        """
    )


def test_cleartext_login_refused_from_another_machine(run: Run) -> None:
    # RFC 9051 §6.2.3: LOGINDISABLED, and a refusal, when the password would cross in clear.
    run(
        """
        S1: re:\\* OK \\[CAPABILITY IMAP4rev1 IMAP4rev2 .* IDLE .* LOGINDISABLED\\] Roost ready
        C1: a LOGIN alice@example.org secret
        S1: a NO [PRIVACYREQUIRED] ...
        C1: b AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
        S1: b NO [PRIVACYREQUIRED] ...
        C1: c SELECT INBOX
        S1: c BAD Log in first
        """,
        remote=(1,),
    )


def test_login_with_a_wrong_password_and_in_the_wrong_state(run: Run) -> None:
    run(
        """
        C1: a LOGIN alice@example.org wrong
        S1: a NO [AUTHENTICATIONFAILED] Invalid credentials
        C1: b LOGIN nobody@example.org secret
        S1: b NO [AUTHENTICATIONFAILED] Invalid credentials
        C1: c LOGIN "alice@example.org" "secret"
        S1: c OK [CAPABILITY ...] Logged in
        C1: d LOGIN alice@example.org secret
        S1: d BAD Already authenticated
        """
    )


def test_authenticate_plain_with_initial_response(run: Run) -> None:
    # RFC 4959 SASL-IR: "\0alice@example.org\0secret" in the command itself.
    run(
        """
        C1: a AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
        S1: a OK [CAPABILITY ...] Logged in
        C1: b AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
        S1: b BAD Already authenticated
        """
    )


def test_authenticate_plain_with_a_continuation(run: Run) -> None:
    run(
        """
        C1: a AUTHENTICATE PLAIN
        S1: +
        C1: *
        S1: a BAD AUTHENTICATE cancelled
        C1: b AUTHENTICATE PLAIN
        S1: +
        C1: not base64!
        S1: b BAD invalid base64 in SASL response
        C1: c AUTHENTICATE PLAIN
        S1: +
        C1: AGFsaWNlQGV4YW1wbGUub3JnAHdyb25n
        S1: c NO [AUTHENTICATIONFAILED] Invalid credentials
        C1: d AUTHENTICATE CRAM-MD5
        S1: d NO [CANNOT] ...
        C1: e AUTHENTICATE PLAIN
        S1: +
        C1: AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
        S1: e OK [CAPABILITY ...] Logged in
        C1: f NOOP
        S1: f OK NOOP completed
        """
    )


# --- ENABLE IMAP4rev2 --------------------------------------------------------------------


def test_enable_imap4rev2_changes_select_and_search(run: Run) -> None:
    # RFC 9051: no RECENT, a LIST response in SELECT, SEARCH answered with ESEARCH.
    run(
        """
        C1: a ENABLE IMAP4rev2
        S1: * ENABLED IMAP4rev2
        S1: a OK ENABLE completed
        C1: b ENABLE IMAP4rev2 X-UNKNOWN
        S1: * ENABLED
        S1: b OK ENABLE completed
        C1: c APPEND INBOX {lunch}
        S1: c OK [APPENDUID ... 1] APPEND completed
        C1: d SELECT INBOX
        S1: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen)
        S1: * OK [PERMANENTFLAGS (\\* \\Answered \\Deleted \\Draft \\Flagged \\Seen)] Flags permitted
        S1: * 1 EXISTS
        S1: re:\\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
        S1: * OK [UIDNEXT 2] Predicted next UID
        S1: * OK [HIGHESTMODSEQ ...] Highest
        S1: * OK [MAILBOXID (...)] Ok
        S1: * LIST () "/" "INBOX"
        S1: d OK [READ-WRITE] SELECT completed
        C1: e FETCH 1 FLAGS
        S1: * 1 FETCH (FLAGS ())
        S1: e OK FETCH completed
        C1: f SEARCH ALL
        S1: * ESEARCH (TAG "f") ALL 1
        S1: f OK SEARCH completed
        C1: g UID SEARCH SEEN
        S1: * ESEARCH (TAG "g") UID
        S1: g OK UID SEARCH completed
        C1: h APPEND INBOX {lunch}
        S1: * 2 EXISTS
        S1: h OK [APPENDUID ... 2] APPEND completed
        """,
        login=(1,),
    )


def test_enable_before_login_is_refused(run: Run) -> None:
    run(
        """
        C1: a ENABLE IMAP4rev2
        S1: a BAD Log in first
        """
    )


# --- SELECT and EXAMINE ------------------------------------------------------------------


def test_select_and_examine_responses(run: Run) -> None:
    run(
        """
        C1: a APPEND INBOX (\\Seen) {lunch} {report}
        S1: a OK [APPENDUID ... 1:2] APPEND completed
        C1: b SELECT INBOX
        S1: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen)
        S1: * OK [PERMANENTFLAGS (\\* \\Answered \\Deleted \\Draft \\Flagged \\Seen)] Flags permitted
        S1: * 2 EXISTS
        S1: * 2 RECENT
        S1: * OK [UNSEEN 2] First unseen
        S1: re:\\* OK \\[UIDVALIDITY \\d+\\] UIDs valid
        S1: * OK [UIDNEXT 3] Predicted next UID
        S1: * OK [HIGHESTMODSEQ ...] Highest
        S1: * OK [MAILBOXID (...)] Ok
        S1: b OK [READ-WRITE] SELECT completed
        C1: c EXAMINE INBOX
        S1: * OK [CLOSED] Previous mailbox closed
        S1: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen)
        S1: * OK [PERMANENTFLAGS ()] Read-only mailbox
        S1: * 2 EXISTS
        S1: * 0 RECENT
        S1: * OK [UNSEEN 2] First unseen
        S1: * OK [UIDVALIDITY ...] UIDs valid
        S1: * OK [UIDNEXT 3] Predicted next UID
        S1: * OK [HIGHESTMODSEQ ...] Highest
        S1: * OK [MAILBOXID (...)] Ok
        S1: c OK [READ-ONLY] EXAMINE completed
        C1: d STORE 1 +FLAGS (\\Flagged)
        S1: d NO [READ-ONLY] Mailbox is read-only
        C1: e EXPUNGE
        S1: e NO [READ-ONLY] Mailbox is read-only
        C1: f SELECT Nowhere
        S1: * OK [CLOSED] Previous mailbox closed
        S1: f NO [NONEXISTENT] ...
        C1: g FETCH 1 FLAGS
        S1: g BAD No mailbox selected
        C1: h SELECT Trash
        S1: ...
        S1: * 0 EXISTS
        S1: ...
        S1: h OK [READ-WRITE] SELECT completed
        """,
        login=(1,),
    )


def test_recent_is_claimed_by_the_first_session_only(run: Run) -> None:
    # RFC 3501 §2.3.2 (IMAP4rev1): \\Recent goes to the first session that sees the message.
    run(
        """
        C1: a APPEND INBOX {lunch}
        S1: a OK ...
        C1: b SELECT INBOX
        S1: ...
        S1: * 1 RECENT
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: c FETCH 1 FLAGS
        S1: * 1 FETCH (FLAGS (\\Recent))
        S1: c OK FETCH completed
        C1: d SEARCH RECENT
        S1: * SEARCH 1
        S1: d OK SEARCH completed
        C2: e SELECT INBOX
        S2: ...
        S2: * 0 RECENT
        S2: ...
        S2: e OK [READ-WRITE] SELECT completed
        C2: f SEARCH RECENT
        S2: * SEARCH
        S2: f OK SEARCH completed
        """,
        login=(1, 2),
    )


# --- APPEND ------------------------------------------------------------------------------


def test_append_with_appenduid_multiappend_and_literals(run: Run) -> None:
    run(
        f"""
        C1: a APPEND INBOX (\\Seen $Work) {DATE} {{lunch}}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b APPEND INBOX {{lunch}} (\\Flagged) {{report}}
        S1: b OK [APPENDUID ... 2:3] APPEND completed
        C1: c APPEND INBOX {{5}}
        S1: + Ready
        C1: hello
        S1: c OK [APPENDUID ... 4] APPEND completed
        C1: d APPEND Nowhere {{lunch}}
        S1: d NO [TRYCREATE] No such mailbox
        C1: e APPEND INBOX (\\Bogus) {{lunch}}
        S1: e BAD unknown system flag \\Bogus
        C1: f STATUS INBOX (MESSAGES UIDNEXT)
        S1: * STATUS "INBOX" (MESSAGES 4 UIDNEXT 5)
        S1: f OK STATUS completed
        C1: g SELECT INBOX
        S1: ...
        S1: g OK [READ-WRITE] SELECT completed
        C1: h FETCH 1:* (FLAGS INTERNALDATE)
        S1: * 1 FETCH (FLAGS (\\Recent \\Seen $Work) INTERNALDATE " 7-Feb-1994 21:52:25 -0800")
        S1: * 2 FETCH (FLAGS (\\Recent) INTERNALDATE ...)
        S1: * 3 FETCH (FLAGS (\\Flagged \\Recent) INTERNALDATE ...)
        S1: * 4 FETCH (FLAGS (\\Recent) INTERNALDATE ...)
        S1: h OK FETCH completed
        C1: i APPEND INBOX {{lunch}}
        S1: * 5 EXISTS
        S1: * 5 RECENT
        S1: i OK [APPENDUID ... 5] APPEND completed
        """,
        login=(1,),
    )


# --- FETCH -------------------------------------------------------------------------------


def test_fetch_metadata_items(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a FETCH 1 (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE)
        S1: * 1 FETCH (FLAGS (\\Recent \\Seen) UID 1 INTERNALDATE " 7-Feb-1994 21:52:25 -0800" RFC822.SIZE 159 ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "Lunch" (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) ((NIL NIL "alice" "example.org")) NIL NIL NIL "<lunch@example.org>"))
        S1: a OK FETCH completed
        C1: b UID FETCH 2:3 FLAGS
        S1: * 2 FETCH (UID 2 FLAGS (\\Recent))
        S1: * 3 FETCH (UID 3 FLAGS (\\Flagged \\Recent))
        S1: b OK UID FETCH completed
        C1: c FETCH 2 BODYSTRUCTURE
        S1: * 2 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "BASE64" 16 1 NIL NIL NIL NIL)("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 11 1 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "xx") NIL NIL NIL))
        S1: c OK FETCH completed
        C1: d FETCH 4 FLAGS
        S1: d BAD Message sequence number out of range
        C1: e UID FETCH 4:9 FLAGS
        S1: e OK UID FETCH completed
        """,
        login=(1,),
    )


def test_fetch_body_sections_partial_and_binary(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject From)])
        S1: * 2 FETCH (BODY[HEADER.FIELDS (Subject From)] {52}
        S1: From: Carol <carol@example.org>
        S1: Subject: Report
        S1:
        S1: )
        S1: a OK FETCH completed
        C1: b FETCH 2 (BODY.PEEK[1] BODY.PEEK[2]<0.6> BODY.PEEK[1]<14.10>)
        S1: * 2 FETCH (BODY[1] {16}
        S1: aGVsbG8gd29ybGQ= BODY[2]<0> {6}
        S1: second BODY[1]<14> {2}
        S1: Q=)
        S1: b OK FETCH completed
        C1: c FETCH 2 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[1]<6.5>)
        S1: * 2 FETCH (BINARY[1] {11}
        S1: hello world BINARY.SIZE[1] 11 BINARY[1]<6> {5}
        S1: world)
        S1: c OK FETCH completed
        C1: d FETCH 2 (BODY.PEEK[3])
        S1: * 2 FETCH (BODY[3] NIL)
        S1: d OK FETCH completed
        C1: e FETCH 2 FLAGS
        S1: * 2 FETCH (FLAGS (\\Recent))
        S1: e OK FETCH completed
        """,
        login=(1,),
    )


def test_fetch_body_sets_seen_and_peek_does_not(run: Run) -> None:
    # RFC 9051 §6.4.5: BODY[...] sets \\Seen (and the FETCH reports the new FLAGS);
    # BODY.PEEK and BINARY.PEEK do not; EXAMINE never changes flags.
    run(
        FILLED
        + """
        C1: a FETCH 2 BODY.PEEK[TEXT]<0.7>
        S1: * 2 FETCH (BODY[TEXT]<0> {7}
        S1: --xx
        S1: C)
        S1: a OK FETCH completed
        C1: b FETCH 2 RFC822.HEADER
        S1: * 2 FETCH (RFC822.HEADER {...}
        S1: From: Carol <carol@example.org>
        S1: ...
        S1: )
        S1: b OK FETCH completed
        C1: c FETCH 2 FLAGS
        S1: * 2 FETCH (FLAGS (\\Recent))
        S1: c OK FETCH completed
        C1: d EXAMINE INBOX
        S1: ...
        S1: d OK [READ-ONLY] EXAMINE completed
        C1: e FETCH 3 BODY[TEXT]
        S1: * 3 FETCH (BODY[TEXT] {18}
        S1: See you at noon.
        S1: )
        S1: e OK FETCH completed
        C1: f FETCH 3 FLAGS
        S1: * 3 FETCH (FLAGS (\\Flagged))
        S1: f OK FETCH completed
        C1: g SELECT INBOX
        S1: ...
        S1: g OK [READ-WRITE] SELECT completed
        C1: h FETCH 3 RFC822
        S1: * 3 FETCH (RFC822 {159}
        S1: From: Bob <bob@example.org>
        S1: ...
        S1: See you at noon.
        S1:  FLAGS (\\Flagged \\Seen))
        S1: h OK FETCH completed
        C1: i FETCH 2 BODY[1]
        S1: * 2 FETCH (BODY[1] {16}
        S1: aGVsbG8gd29ybGQ= FLAGS (\\Seen))
        S1: i OK FETCH completed
        C1: j FETCH 2:3 FLAGS
        S1: * 2 FETCH (FLAGS (\\Seen))
        S1: * 3 FETCH (FLAGS (\\Flagged \\Seen))
        S1: j OK FETCH completed
        """,
        login=(1,),
    )


# --- STORE -------------------------------------------------------------------------------


def test_store_add_remove_replace_silent_and_uid(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a STORE 1:2 +FLAGS (\\Answered $Work)
        S1: * FLAGS (\\Answered \\Deleted \\Draft \\Flagged \\Seen $Work)
        S1: * OK [PERMANENTFLAGS (\\* \\Answered \\Deleted \\Draft \\Flagged \\Seen $Work)] Flags permitted
        S1: * 1 FETCH (UID 1 FLAGS (\\Answered \\Recent \\Seen $Work))
        S1: * 2 FETCH (UID 2 FLAGS (\\Answered \\Recent $Work))
        S1: a OK STORE completed
        C1: b STORE 1 -FLAGS \\Seen
        S1: * 1 FETCH (UID 1 FLAGS (\\Answered \\Recent $Work))
        S1: b OK STORE completed
        C1: c STORE 2 FLAGS (\\Draft)
        S1: * 2 FETCH (UID 2 FLAGS (\\Draft \\Recent))
        S1: c OK STORE completed
        C1: d STORE 3 +FLAGS.SILENT (\\Deleted)
        S1: d OK STORE completed
        C1: e UID STORE 3 -FLAGS.SILENT (\\Flagged)
        S1: e OK UID STORE completed
        C1: f UID STORE 1:* FLAGS (\\seen)
        S1: * 1 FETCH (UID 1 FLAGS (\\Recent \\Seen))
        S1: * 2 FETCH (UID 2 FLAGS (\\Recent \\Seen))
        S1: * 3 FETCH (UID 3 FLAGS (\\Recent \\Seen))
        S1: f OK UID STORE completed
        C1: g STORE 4 +FLAGS \\Seen
        S1: g BAD Message sequence number out of range
        C1: h STORE 1 +FLAGS (\\Bogus)
        S1: h BAD unknown system flag \\Bogus
        C1: i NOOP
        S1: i OK NOOP completed
        """,
        login=(1,),
    )


# --- SEARCH ------------------------------------------------------------------------------


def test_search_keys_and_uid_search(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a SEARCH SEEN
        S1: * SEARCH 1
        S1: a OK SEARCH completed
        C1: b SEARCH OR FLAGGED SEEN
        S1: * SEARCH 1 3
        S1: b OK SEARCH completed
        C1: c SEARCH NOT FLAGGED SUBJECT lunch
        S1: * SEARCH 1
        S1: c OK SEARCH completed
        C1: d SEARCH FROM carol BODY "second part"
        S1: * SEARCH 2
        S1: d OK SEARCH completed
        C1: e SEARCH 2:* UNSEEN LARGER 200
        S1: * SEARCH 2
        S1: e OK SEARCH completed
        C1: f UID SEARCH UID 1:2 SENTBEFORE 1-Mar-1994 BEFORE 1-Jan-2000
        S1: * SEARCH 1 2
        S1: f OK UID SEARCH completed
        C1: f2 SEARCH SENTSINCE 1-Mar-1994
        S1: * SEARCH
        S1: f2 OK SEARCH completed
        C1: g SEARCH HEADER Message-ID <lunch@example.org> (SMALLER 200 ALL)
        S1: * SEARCH 1 3
        S1: g OK SEARCH completed
        C1: h SEARCH CHARSET UTF-8 TEXT noon
        S1: * SEARCH 1 3
        S1: h OK SEARCH completed
        C1: i SEARCH CHARSET KOI8-R ALL
        S1: i NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset
        C1: j SEARCH NONSENSE
        S1: j BAD unknown search key NONSENSE
        """,
        login=(1,),
    )


def test_sent_date_keys_disregard_the_time_zone(run: Run) -> None:
    # RFC 9051 §6.4.4: SENTBEFORE/SENTON/SENTSINCE compare the Date: header's day
    # "disregarding time and timezone". Lunch says 7 Feb 1994 21:52 -0800 (8 Feb in UTC).
    run(
        FILLED
        + """
        C1: a SEARCH SENTON 7-Feb-1994
        S1: * SEARCH 1 3
        S1: a OK SEARCH completed
        """,
        login=(1,),
    )


def test_esearch_return_options_and_searchres(run: Run) -> None:
    # RFC 4731 (ESEARCH) and RFC 5182 (SEARCHRES: RETURN (SAVE), then "$").
    run(
        FILLED
        + """
        C1: a SEARCH RETURN (MIN MAX COUNT ALL) UNFLAGGED
        S1: * ESEARCH (TAG "a") MIN 1 MAX 2 ALL 1:2 COUNT 2
        S1: a OK SEARCH completed
        C1: b UID SEARCH RETURN (COUNT) DELETED
        S1: * ESEARCH (TAG "b") UID COUNT 0
        S1: b OK UID SEARCH completed
        C1: c SEARCH RETURN () ALL
        S1: * ESEARCH (TAG "c") ALL 1:3
        S1: c OK SEARCH completed
        C1: d SEARCH RETURN (SAVE) SUBJECT lunch
        S1: d OK SEARCH completed
        C1: e FETCH $ (UID FLAGS)
        S1: * 1 FETCH (UID 1 FLAGS (\\Recent \\Seen))
        S1: * 3 FETCH (UID 3 FLAGS (\\Flagged \\Recent))
        S1: e OK FETCH completed
        C1: f UID STORE $ +FLAGS.SILENT (\\Answered)
        S1: f OK UID STORE completed
        C1: g SEARCH ANSWERED
        S1: * SEARCH 1 3
        S1: g OK SEARCH completed
        C1: h SEARCH RETURN (SAVE COUNT) ALL
        S1: * ESEARCH (TAG "h") COUNT 3
        S1: h OK SEARCH completed
        C1: i SEARCH $
        S1: * SEARCH 1 2 3
        S1: i OK SEARCH completed
        """,
        login=(1,),
    )


def test_searchres_with_min_or_max_saves_only_those(run: Run) -> None:
    # RFC 5182 §2.1: SAVE with MIN and/or MAX (and no ALL or COUNT) saves just the
    # minimum and/or maximum message, not the whole result.
    run(
        FILLED
        + """
        C1: a SEARCH RETURN (SAVE MIN) ALL
        S1: * ESEARCH (TAG "a") MIN 1
        S1: a OK SEARCH completed
        C1: b FETCH $ UID
        S1: * 1 FETCH (UID 1)
        S1: b OK FETCH completed
        C1: c UID SEARCH RETURN (SAVE MIN MAX) ALL
        S1: * ESEARCH (TAG "c") UID MIN 1 MAX 3
        S1: c OK UID SEARCH completed
        C1: d FETCH $ UID
        S1: * 1 FETCH (UID 1)
        S1: * 3 FETCH (UID 3)
        S1: d OK FETCH completed
        C1: e SEARCH RETURN (SAVE MAX ALL) ALL
        S1: * ESEARCH (TAG "e") MAX 3 ALL 1:3
        S1: e OK SEARCH completed
        C1: f FETCH $ UID
        S1: * 1 FETCH (UID 1)
        S1: * 2 FETCH (UID 2)
        S1: * 3 FETCH (UID 3)
        S1: f OK FETCH completed
        C1: g SEARCH RETURN (SAVE) CHARSET KOI8-R ALL
        S1: g NO [BADCHARSET ...] Unsupported charset
        C1: h FETCH $ UID
        S1: h OK FETCH completed
        """,
        login=(1,),
    )


# --- COPY, MOVE, EXPUNGE ------------------------------------------------------------------


def test_copy_and_move_with_copyuid(run: Run) -> None:
    # RFC 4315 COPYUID; RFC 6851 §4.3: MOVE sends COPYUID in an untagged OK, then EXPUNGEs.
    run(
        FILLED
        + """
        C1: a COPY 1:2 Archive
        S1: a OK [COPYUID ... 1:2 1:2] COPY completed
        C1: b UID COPY 3 Archive
        S1: b OK [COPYUID ... 3 3] UID COPY completed
        C1: c MOVE 2 Trash
        S1: * OK [COPYUID ... 2 1] Moved
        S1: * 2 EXPUNGE
        S1: * 2 RECENT
        S1: c OK MOVE completed
        C1: d UID MOVE 3 Trash
        S1: * OK [COPYUID ... 3 2] Moved
        S1: * 2 EXPUNGE
        S1: * 1 RECENT
        S1: d OK UID MOVE completed
        C1: e UID MOVE 7 Trash
        S1: e OK UID MOVE completed (no messages)
        C1: f COPY 1 Nowhere
        S1: f NO [TRYCREATE] No such mailbox
        C1: g MOVE 5 Trash
        S1: g BAD Message sequence number out of range
        C1: h STATUS Archive (MESSAGES)
        S1: * STATUS "Archive" (MESSAGES 3)
        S1: h OK STATUS completed
        C1: i STATUS Trash (MESSAGES UIDNEXT)
        S1: * STATUS "Trash" (MESSAGES 2 UIDNEXT 3)
        S1: i OK STATUS completed
        C1: j FETCH 1:* UID
        S1: * 1 FETCH (UID 1)
        S1: j OK FETCH completed
        """,
        login=(1,),
    )


def test_expunge_uid_expunge_close_and_unselect(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a STORE 1:3 +FLAGS.SILENT (\\Deleted)
        S1: a OK STORE completed
        C1: b UID EXPUNGE 2
        S1: * 2 EXPUNGE
        S1: * 2 RECENT
        S1: b OK EXPUNGE completed
        C1: c UNSELECT
        S1: c OK UNSELECT completed
        C1: d STATUS INBOX (MESSAGES DELETED)
        S1: * STATUS "INBOX" (MESSAGES 2 DELETED 2)
        S1: d OK STATUS completed
        C1: e EXAMINE INBOX
        S1: ...
        S1: e OK [READ-ONLY] EXAMINE completed
        C1: f CLOSE
        S1: f OK CLOSE completed
        C1: g STATUS INBOX (MESSAGES)
        S1: * STATUS "INBOX" (MESSAGES 2)
        S1: g OK STATUS completed
        C1: h SELECT INBOX
        S1: ...
        S1: h OK [READ-WRITE] SELECT completed
        C1: i STORE 1 -FLAGS.SILENT (\\Deleted)
        S1: i OK STORE completed
        C1: j EXPUNGE
        S1: * 2 EXPUNGE
        S1: j OK EXPUNGE completed
        C1: k STORE 1 +FLAGS.SILENT (\\Deleted)
        S1: k OK STORE completed
        C1: l CLOSE
        S1: l OK CLOSE completed
        C1: m STATUS INBOX (MESSAGES)
        S1: * STATUS "INBOX" (MESSAGES 0)
        S1: m OK STATUS completed
        C1: n EXPUNGE
        S1: n BAD No mailbox selected
        """,
        login=(1,),
    )


# --- mailboxes -----------------------------------------------------------------------------


def test_create_delete_rename(run: Run) -> None:
    run(
        """
        C1: a CREATE Work/Projects
        S1: a OK [MAILBOXID (...)] CREATE completed
        C1: b CREATE Work
        S1: b NO [ALREADYEXISTS] ...
        C1: c CREATE inbox
        S1: c NO [ALREADYEXISTS] ...
        C1: d CREATE Things (USE (\\Drafts))
        S1: d OK [MAILBOXID (...)] CREATE completed
        C1: e CREATE Odd (USE (\\Nonsense))
        S1: e NO [USEATTR] ...
        C1: f RENAME Work Play
        S1: f OK RENAME completed
        C1: g LIST "" Play*
        S1: * LIST (\\HasChildren) "/" "Play"
        S1: * LIST (\\HasNoChildren) "/" "Play/Projects"
        S1: g OK LIST completed
        C1: h DELETE Play
        S1: h NO [HASCHILDREN] ...
        C1: i DELETE Play/Projects
        S1: i OK DELETE completed
        C1: j DELETE Play
        S1: j OK DELETE completed
        C1: k DELETE Play
        S1: k NO [NONEXISTENT] ...
        C1: l DELETE INBOX
        S1: l NO [CANNOT] ...
        C1: m RENAME Nowhere Else
        S1: m NO [NONEXISTENT] ...
        C1: n RENAME Things Sent
        S1: n NO [ALREADYEXISTS] ...
        C1: o LIST "" Things
        S1: * LIST (\\HasNoChildren \\Drafts) "/" "Things"
        S1: o OK LIST completed
        """,
        login=(1,),
    )


def test_rename_inbox_moves_its_messages(run: Run) -> None:
    # RFC 9051 §6.3.6: renaming INBOX moves its messages and leaves INBOX, empty.
    run(
        """
        C1: a APPEND INBOX {lunch} {report}
        S1: a OK ...
        C1: b RENAME INBOX Old
        S1: b OK RENAME completed
        C1: c STATUS INBOX (MESSAGES UIDNEXT)
        S1: * STATUS "INBOX" (MESSAGES 0 UIDNEXT 3)
        S1: c OK STATUS completed
        C1: d STATUS Old (MESSAGES)
        S1: * STATUS "Old" (MESSAGES 2)
        S1: d OK STATUS completed
        C1: e SELECT INBOX
        S1: ...
        S1: * 0 EXISTS
        S1: ...
        S1: e OK [READ-WRITE] SELECT completed
        """,
        login=(1,),
    )


def test_subscribe_and_lsub(run: Run) -> None:
    run(
        """
        C1: a CREATE Work
        S1: a OK [MAILBOXID (...)] CREATE completed
        C1: b SUBSCRIBE Work
        S1: b OK SUBSCRIBE completed
        C1: c UNSUBSCRIBE Junk
        S1: c OK UNSUBSCRIBE completed
        C1: d SUBSCRIBE Nowhere
        S1: d NO [NONEXISTENT] ...
        C1: e LSUB "" *
        S1: * LSUB () "/" "INBOX"
        S1: * LSUB () "/" "Archive"
        S1: * LSUB () "/" "Drafts"
        S1: * LSUB () "/" "Sent"
        S1: * LSUB () "/" "Trash"
        S1: * LSUB () "/" "Work"
        S1: e OK LSUB completed
        C1: f LSUB "" W%
        S1: * LSUB () "/" "Work"
        S1: f OK LSUB completed
        """,
        login=(1,),
    )


def test_list_variants(run: Run) -> None:
    # RFC 9051 §6.3.9, RFC 5258 (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154.
    run(
        """
        C1: a LIST "" ""
        S1: * LIST (\\Noselect) "/" ""
        S1: a OK LIST completed
        C1: b CREATE Work/Projects
        S1: b OK [MAILBOXID (...)] CREATE completed
        C1: c LIST "" %
        S1: * LIST (\\HasNoChildren) "/" "INBOX"
        S1: * LIST (\\HasNoChildren \\Archive) "/" "Archive"
        S1: * LIST (\\HasNoChildren \\Drafts) "/" "Drafts"
        S1: * LIST (\\HasNoChildren \\Junk) "/" "Junk"
        S1: * LIST (\\HasNoChildren \\Sent) "/" "Sent"
        S1: * LIST (\\HasNoChildren \\Trash) "/" "Trash"
        S1: * LIST (\\HasChildren) "/" "Work"
        S1: c OK LIST completed
        C1: d LIST Work/ *
        S1: * LIST (\\HasNoChildren) "/" "Work/Projects"
        S1: d OK LIST completed
        C1: e LIST "" inbox
        S1: * LIST (\\HasNoChildren) "/" "INBOX"
        S1: e OK LIST completed
        C1: f SUBSCRIBE Work/Projects
        S1: f OK SUBSCRIBE completed
        C1: g UNSUBSCRIBE Archive
        S1: g OK UNSUBSCRIBE completed
        C1: h LIST (SUBSCRIBED) "" W*
        S1: * LIST (\\HasNoChildren \\Subscribed) "/" "Work/Projects"
        S1: h OK LIST completed
        C1: i LIST (SPECIAL-USE) "" *
        S1: * LIST (\\HasNoChildren \\Archive) "/" "Archive"
        S1: * LIST (\\HasNoChildren \\Drafts) "/" "Drafts"
        S1: * LIST (\\HasNoChildren \\Junk) "/" "Junk"
        S1: * LIST (\\HasNoChildren \\Sent) "/" "Sent"
        S1: * LIST (\\HasNoChildren \\Trash) "/" "Trash"
        S1: i OK LIST completed
        C1: j APPEND Sent {lunch}
        S1: j OK ...
        C1: k LIST "" (Sent Drafts) RETURN (SPECIAL-USE STATUS (MESSAGES))
        S1: * LIST (\\HasNoChildren \\Drafts) "/" "Drafts"
        S1: * STATUS "Drafts" (MESSAGES 0)
        S1: * LIST (\\HasNoChildren \\Sent) "/" "Sent"
        S1: * STATUS "Sent" (MESSAGES 1)
        S1: k OK LIST completed
        C1: l LIST "" Nothing*
        S1: l OK LIST completed
        """,
        login=(1,),
    )


def test_status(run: Run) -> None:
    run(
        """
        C1: a APPEND Archive (\\Seen) {lunch} (\\Deleted) {report}
        S1: a OK ...
        C1: b STATUS Archive (MESSAGES UIDNEXT UNSEEN DELETED SIZE)
        S1: * STATUS "Archive" (MESSAGES 2 UIDNEXT 3 UNSEEN 1 DELETED 1 SIZE 494)
        S1: b OK STATUS completed
        C1: c STATUS Archive (UIDVALIDITY)
        S1: re:\\* STATUS "Archive" \\(UIDVALIDITY \\d+\\)
        S1: c OK STATUS completed
        C1: d STATUS Nowhere (MESSAGES)
        S1: d NO [NONEXISTENT] ...
        C1: e STATUS Archive (BOGUS)
        S1: e BAD unknown STATUS item BOGUS
        """,
        login=(1,),
    )


def test_namespace_id_noop_and_logout(run: Run) -> None:
    run(
        """
        C1: a ID ("name" "transcript" "version" "1")
        S1: * ID ("name" "Roost" "version" "...")
        S1: a OK ID completed
        C1: b NAMESPACE
        S1: b BAD Log in first
        C1: c LOGIN alice@example.org secret
        S1: c OK ...
        C1: d NAMESPACE
        S1: * NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))
        S1: d OK NAMESPACE completed
        C1: e ID NIL
        S1: * ID ...
        S1: e OK ID completed
        C1: f LOGOUT
        S1: * BYE Roost logging out
        S1: f OK LOGOUT completed
        C1: g NOOP
        """
    )


def test_bad_commands_keep_the_session_going(run: Run) -> None:
    run(
        """
        C1: a FROBNICATE
        S1: a BAD unknown command FROBNICATE
        C1: b
        S1: b BAD missing command
        C1: (
        S1: * BAD missing or invalid tag
        C1: c UID NOOP
        S1: c BAD UID NOOP is not a command
        C1: d NOOP
        S1: d OK NOOP completed
        """,
        login=(1,),
    )


# --- IDLE ----------------------------------------------------------------------------------


def test_idle_and_done(run: Run) -> None:
    run(
        """
        C1: a IDLE
        S1: + idling
        C1: DONE
        S1: a OK IDLE terminated
        C1: b IDLE
        S1: + idling
        C1: c NOOP
        S1: b BAD expected DONE
        C1: d NOOP
        S1: d OK NOOP completed
        """,
        login=(1,),
    )


# --- several connections -------------------------------------------------------------------


def test_changes_by_another_connection_arrive_with_the_next_command(run: Run) -> None:
    run(
        FILLED
        + """
        C2: a0 ENABLE IMAP4rev2
        S2: * ENABLED IMAP4rev2
        S2: a0 OK ENABLE completed
        C2: a SELECT INBOX
        S2: ...
        S2: a OK [READ-WRITE] SELECT completed
        C2: b APPEND INBOX {lunch}
        S2: * 4 EXISTS
        S2: b OK [APPENDUID ... 4] APPEND completed
        C2: c STORE 2 +FLAGS (\\Flagged)
        S2: * 2 FETCH (UID 2 FLAGS (\\Flagged))
        S2: c OK STORE completed
        C1: d NOOP
        S1: * 4 EXISTS
        S1: * 4 RECENT
        S1: * 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))
        S1: d OK NOOP completed
        C2: e STORE 1 +FLAGS.SILENT (\\Deleted)
        S2: e OK STORE completed
        C2: f EXPUNGE
        S2: * 1 EXPUNGE
        S2: f OK EXPUNGE completed
        C1: g STATUS Trash (MESSAGES)
        S1: * STATUS "Trash" (MESSAGES 0)
        S1: * 1 EXPUNGE
        S1: * 3 RECENT
        S1: g OK STATUS completed
        C1: h FETCH 1:* UID
        S1: * 1 FETCH (UID 2)
        S1: * 2 FETCH (UID 3)
        S1: * 3 FETCH (UID 4)
        S1: h OK FETCH completed
        """,
        login=(1, 2),
    )


def test_no_expunge_during_fetch_store_search_by_sequence_number(run: Run) -> None:
    # (Connection 2 speaks IMAP4rev2, connection 1 IMAP4rev1.)
    # RFC 9051 §7.5.1: an EXPUNGE would shift the numbers the client is using, so it waits
    # for a command that may carry it (NOOP here); the UID forms may carry it at once.
    # Connection 2's .SILENT STORE still tells it the \\Answered it had not heard of.
    run(
        FILLED
        + """
        C2: a0 ENABLE IMAP4rev2
        S2: * ENABLED IMAP4rev2
        S2: a0 OK ENABLE completed
        C2: a SELECT INBOX
        S2: ...
        S2: a OK [READ-WRITE] SELECT completed
        C2: b STORE 1 +FLAGS.SILENT (\\Deleted)
        S2: b OK STORE completed
        C2: c EXPUNGE
        S2: * 1 EXPUNGE
        S2: c OK EXPUNGE completed
        C1: d FETCH 1:3 UID
        S1: * 2 FETCH (UID 2)
        S1: * 3 FETCH (UID 3)
        S1: d OK FETCH completed
        C1: e STORE 2 +FLAGS (\\Answered)
        S1: * 2 FETCH (UID 2 FLAGS (\\Answered \\Recent))
        S1: e OK STORE completed
        C1: f SEARCH ALL
        S1: * SEARCH 2 3
        S1: f OK SEARCH completed
        C1: g NOOP
        S1: * 1 EXPUNGE
        S1: * 2 RECENT
        S1: g OK NOOP completed
        C1: h FETCH 1:2 UID
        S1: * 1 FETCH (UID 2)
        S1: * 2 FETCH (UID 3)
        S1: h OK FETCH completed
        C2: i UID STORE 2 +FLAGS.SILENT (\\Deleted)
        S2: * 1 FETCH (UID 2 FLAGS (\\Answered \\Deleted))
        S2: i OK UID STORE completed
        C2: j UID EXPUNGE 2
        S2: * 1 EXPUNGE
        S2: j OK EXPUNGE completed
        C1: k UID FETCH 1:* UID
        S1: * 2 FETCH (UID 3)
        S1: * 1 EXPUNGE
        S1: * 1 RECENT
        S1: k OK UID FETCH completed
        """,
        login=(1, 2),
    )


def test_idle_receives_changes_when_the_notifier_wakes_it(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a IDLE
        S1: + idling
        C2: b APPEND INBOX {lunch}
        S2: b OK ...
        P1:
        S1: * 4 EXISTS
        S1: * 4 RECENT
        C2: a0 ENABLE IMAP4rev2
        S2: * ENABLED IMAP4rev2
        S2: a0 OK ENABLE completed
        C2: c SELECT INBOX
        S2: ...
        S2: c OK [READ-WRITE] SELECT completed
        C2: d STORE 4 +FLAGS (\\Seen)
        S2: * 4 FETCH (UID 4 FLAGS (\\Seen))
        S2: d OK STORE completed
        P1:
        S1: * 4 FETCH (UID 4 FLAGS (\\Recent \\Seen))
        C2: e MOVE 1 Trash
        S2: * OK [COPYUID ... 1 1] Moved
        S2: * 1 EXPUNGE
        S2: e OK MOVE completed
        P1:
        S1: * 1 EXPUNGE
        S1: * 3 RECENT
        C1: DONE
        S1: a OK IDLE terminated
        """,
        login=(1, 2),
    )


def test_changes_made_before_idle_are_sent_at_once(run: Run) -> None:
    run(
        FILLED
        + """
        C2: a APPEND INBOX {lunch}
        S2: a OK ...
        C1: b IDLE
        S1: + idling
        S1: * 4 EXISTS
        S1: * 4 RECENT
        C1: DONE
        S1: b OK IDLE terminated
        """,
        login=(1, 2),
    )


def test_imap4rev2_connection_hears_no_recent(run: Run) -> None:
    run(
        """
        C1: a ENABLE IMAP4rev2
        S1: ...
        S1: a OK ENABLE completed
        C1: b SELECT INBOX
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C2: c APPEND INBOX {lunch}
        S2: c OK ...
        C1: d NOOP
        S1: * 1 EXISTS
        S1: d OK NOOP completed
        C1: e FETCH 1 FLAGS
        S1: * 1 FETCH (FLAGS ())
        S1: e OK FETCH completed
        """,
        login=(1, 2),
    )


def test_logout_sends_nothing_after_bye(run: Run) -> None:
    # RFC 9051 §6.1.3: BYE, then the tagged OK; pending mailbox news is moot by then.
    run(
        FILLED
        + """
        C2: a APPEND INBOX {lunch}
        S2: a OK ...
        C1: b LOGOUT
        S1: * BYE Roost logging out
        S1: b OK LOGOUT completed
        """,
        login=(1, 2),
    )


def test_mailbox_names_in_modified_utf7_and_in_utf8(run: Run) -> None:
    # RFC 3501 §5.1.3 (modified UTF-7) until ENABLE IMAP4rev2; then UTF-8 (RFC 9051 §5.1).
    run(
        """
        C1: a CREATE &AOk-t&AOk-
        S1: a OK [MAILBOXID (...)] CREATE completed
        C1: b CREATE &Jjo
        S1: b NO [CANNOT] No such mailbox name: unterminated modified BASE64 in mailbox name
        C1: c LIST "" &AOk-*
        S1: * LIST (\\HasNoChildren) "/" "&AOk-t&AOk-"
        S1: c OK LIST completed
        C1: d APPEND &AOk-t&AOk- ~{5+}
        C1: hello
        S1: d OK [APPENDUID ... 1] APPEND completed
        C1: e ENABLE IMAP4rev2
        S1: * ENABLED IMAP4rev2
        S1: e OK ENABLE completed
        C1: f STATUS "été" (MESSAGES)
        S1: * STATUS "été" (MESSAGES 1)
        S1: f OK STATUS completed
        """,
        login=(1,),
    )
