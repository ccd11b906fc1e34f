"""UIDONLY (RFC 9586) as transcripts: after ENABLE UIDONLY no sequence number travels in
either direction — commands that use them are BAD [UIDREQUIRED], FETCH responses are
UIDFETCH, expunges are VANISHED; EXISTS still counts the messages."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.imap.test_transcripts import MESSAGES, Run
from tests.imap.transcript import transcript


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages=MESSAGES)


SETUP = """
C1: u1 APPEND INBOX (\\Seen) {lunch} {report} {lunch}
S1: u1 OK [APPENDUID ... 1:3] APPEND completed
C1: u2 ENABLE UIDONLY IMAP4rev2
S1: * ENABLED UIDONLY IMAP4rev2
S1: u2 OK ENABLE completed
"""


def test_sequence_numbers_are_refused(run: Run) -> None:
    run(
        SETUP
        + """
        C1: a SELECT INBOX
        S1: * FLAGS (...)
        S1: * OK [PERMANENTFLAGS ...] Flags permitted
        S1: * 3 EXISTS
        S1: * OK [UIDVALIDITY ...] UIDs valid
        S1: * OK [UIDNEXT 4] Predicted next UID
        S1: * OK [HIGHESTMODSEQ ...] Highest
        S1: * OK [MAILBOXID ...] Ok
        S1: * LIST () "/" "INBOX"
        S1: a OK [READ-WRITE] SELECT completed
        C1: b FETCH 1 FLAGS
        S1: b BAD [UIDREQUIRED] Use UIDs: UIDONLY is enabled
        C1: c STORE 1 +FLAGS (\\Flagged)
        S1: c BAD [UIDREQUIRED] Use UIDs: UIDONLY is enabled
        C1: d SEARCH ALL
        S1: d BAD [UIDREQUIRED] Use UIDs: UIDONLY is enabled
        C1: e UID SEARCH 1:2
        S1: e BAD [UIDREQUIRED] Use UIDs: UIDONLY is enabled
        C1: f COPY 1 Archive
        S1: f BAD [UIDREQUIRED] Use UIDs: UIDONLY is enabled
        C1: g MOVE 1 Archive
        S1: g BAD [UIDREQUIRED] Use UIDs: UIDONLY is enabled
        C1: h REPLACE 1 INBOX {lunch}
        S1: h BAD [UIDREQUIRED] Use UIDs: UIDONLY is enabled
        C1: i UID SEARCH RETURN (SAVE) UID 2:3 UNSEEN
        S1: i OK UID SEARCH completed
        C1: j UID SEARCH $
        S1: * ESEARCH (TAG "j") UID ALL 2:3
        S1: j OK UID SEARCH completed
        C1: k UID FETCH 1:2 (FLAGS)
        S1: * 1 UIDFETCH (UID 1 FLAGS (\\Seen))
        S1: * 2 UIDFETCH (UID 2 FLAGS ())
        S1: k OK UID FETCH completed
        """,
        login=(1,),
    )


def test_changes_arrive_as_uidfetch_vanished_and_exists(run: Run) -> None:
    run(
        SETUP
        + """
        C1: a SELECT INBOX
        S1: ...
        S1: a OK [READ-WRITE] SELECT completed
        C1: b UID STORE 2 +FLAGS (\\Flagged)
        S1: * 2 UIDFETCH (FLAGS (\\Flagged))
        S1: b OK UID STORE completed
        C2: c SELECT INBOX
        S2: ...
        S2: c OK [READ-WRITE] SELECT completed
        C1: d IDLE
        S1: + idling
        C2: e STORE 1 +FLAGS (\\Deleted)
        S2: * 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent \\Seen))
        S2: e OK STORE completed
        P1:
        S1: * 1 UIDFETCH (FLAGS (\\Deleted \\Seen))
        C2: f EXPUNGE
        S2: * 1 EXPUNGE
        S2: * 2 RECENT
        S2: f OK EXPUNGE completed
        P1:
        S1: * VANISHED 1
        C2: g APPEND INBOX {lunch}
        S2: * 3 EXISTS
        S2: re:\\* \\d RECENT
        S2: g OK [APPENDUID ... 4] APPEND completed
        P1:
        S1: * 3 EXISTS
        C1: DONE
        S1: d OK IDLE terminated
        C1: h UID MOVE 4 Archive
        S1: * OK [COPYUID ... 4 1] Moved
        S1: * VANISHED 4
        S1: h OK UID MOVE completed
        C1: i UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)
        S1: * OK [HIGHESTMODSEQ ...] Highest
        S1: * 2 UIDFETCH (UID 2 FLAGS (\\Flagged) MODSEQ (...))
        S1: * 3 UIDFETCH (UID 3 FLAGS () MODSEQ (...))
        S1: i OK UID FETCH completed
        """,
        login=(1, 2),
    )


def test_qresync_seq_match_data_is_refused(run: Run) -> None:
    # RFC 7162 §3.2.5 seq-match-data pairs sequence numbers with UIDs: not after UIDONLY.
    run(
        SETUP
        + """
        C1: a ENABLE QRESYNC
        S1: * ENABLED QRESYNC
        S1: a OK ENABLE completed
        C1: b SELECT INBOX (QRESYNC (1 1 1:3 (1:2 1:2)))
        S1: b BAD [UIDREQUIRED] Use UIDs: UIDONLY is enabled
        C1: c SELECT INBOX (QRESYNC (1 1 1:3))
        S1: ...
        S1: c OK [READ-WRITE] SELECT completed
        """,
        login=(1,),
    )


def test_uidonly_is_advertised_and_plain_sessions_keep_numbers(run: Run) -> None:
    run(
        """
        C1: a CAPABILITY
        S1: * CAPABILITY ... UIDONLY...
        S1: a OK CAPABILITY completed
        C1: b APPEND INBOX {lunch}
        S1: b OK ...
        C1: c SELECT INBOX
        S1: ...
        S1: c OK [READ-WRITE] SELECT completed
        C1: d FETCH 1 (UID)
        S1: * 1 FETCH (UID 1)
        S1: d OK FETCH completed
        """,
        login=(1,),
    )
