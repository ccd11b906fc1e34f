"""REPLACE and UID REPLACE (RFC 8508) as transcripts: the new message is appended, the old one
expunged in the same transaction, and every device hears both; a failed append touches
nothing."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.imap.test_transcripts import DATE, MESSAGES, Run
from tests.imap.transcript import transcript


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages=MESSAGES)


# Drafts holds 1 lunch (\Draft), 2 report; connection 1 has it selected (IMAP4rev2).
DRAFTS = f"""
C1: r1 ENABLE IMAP4rev2
S1: * ENABLED IMAP4rev2
S1: r1 OK ENABLE completed
C1: r2 APPEND Drafts (\\Draft) {DATE} {{lunch}} {{report}}
S1: r2 OK [APPENDUID ... 1:2] APPEND completed
C1: r3 SELECT Drafts
S1: ...
S1: r3 OK [READ-WRITE] SELECT completed
"""


def test_replace_in_the_selected_mailbox(run: Run) -> None:
    # RFC 8508 §3.4 example: APPENDUID in an untagged OK, the EXISTS of the new message and
    # the EXPUNGE of the old one, then the tagged OK.
    run(
        DRAFTS
        + f"""
        C1: a REPLACE 1 Drafts (\\Seen \\Draft) {DATE} {{report}}
        S1: * OK [APPENDUID ... 3] Replacement message ready
        S1: * 1 EXPUNGE
        S1: * 2 EXISTS
        S1: a OK REPLACE completed
        C1: b UID FETCH 1:* (UID FLAGS RFC822.SIZE)
        S1: * 1 FETCH (UID 2 FLAGS () RFC822.SIZE ...)
        S1: * 2 FETCH (UID 3 FLAGS (\\Draft \\Seen) RFC822.SIZE ...)
        S1: b OK UID FETCH completed
        C1: c UID REPLACE 3 Drafts {{lunch}}
        S1: * OK [APPENDUID ... 4] Replacement message ready
        S1: * 2 EXPUNGE
        S1: * 2 EXISTS
        S1: c OK UID REPLACE completed
        C1: d REPLACE * Drafts {{5}}
        S1: + Ready
        C1: hello
        S1: * OK [APPENDUID ... 5] Replacement message ready
        S1: * 2 EXPUNGE
        S1: * 2 EXISTS
        S1: d OK REPLACE completed
        C1: e UID SEARCH ALL
        S1: * ESEARCH (TAG "e") UID ALL 2,5
        S1: e OK UID SEARCH completed
        """,
        login=(1,),
    )


def test_replace_into_another_mailbox_is_heard_by_both(run: Run) -> None:
    # Device 2 idles on Drafts, device 3 on Archive: one hears the expunge, the other the
    # new message; with QRESYNC the expunge is a VANISHED (RFC 7162 §3.2.10).
    run(
        DRAFTS
        + """
        C2: a ENABLE QRESYNC
        S2: ...
        S2: a OK ENABLE completed
        C2: b SELECT Drafts
        S2: ...
        S2: b OK [READ-WRITE] SELECT completed
        C2: c IDLE
        S2: + idling
        C3: d SELECT Archive
        S3: ...
        S3: d OK [READ-WRITE] SELECT completed
        C3: e IDLE
        S3: + idling
        C1: f REPLACE 2 Archive (\\Seen) {lunch}
        S1: * OK [APPENDUID ... 1] Replacement message ready
        S1: * 2 EXPUNGE
        S1: f OK REPLACE completed
        P2:
        S2: * VANISHED 2
        P3:
        S3: * 1 EXISTS
        S3: * 1 RECENT
        S2: * 1 RECENT
        C2: DONE
        S2: c OK IDLE terminated
        C3: DONE
        S3: e OK IDLE terminated
        C3: g FETCH 1 (UID FLAGS)
        S3: * 1 FETCH (UID 1 FLAGS (\\Recent \\Seen))
        S3: g OK FETCH completed
        """,
        login=(1, 2, 3),
    )


def test_failed_replace_leaves_the_old_message(run: Run) -> None:
    run(
        DRAFTS
        + """
        C1: a REPLACE 1 Nowhere {lunch}
        S1: a NO [TRYCREATE] No such mailbox
        C1: b REPLACE 3 Drafts {lunch}
        S1: b BAD Message sequence number out of range
        C1: c UID REPLACE 9 Drafts {lunch}
        S1: c NO [NONEXISTENT] No message with that UID
        C1: d REPLACE 1 Drafts (\\Bogus) {lunch}
        S1: d BAD unknown system flag \\Bogus
        C1: e UID FETCH 1:* (UID FLAGS)
        S1: * 1 FETCH (UID 1 FLAGS (\\Draft))
        S1: * 2 FETCH (UID 2 FLAGS ())
        S1: e OK UID FETCH completed
        C1: f STATUS Drafts (MESSAGES UIDNEXT)
        S1: * STATUS "Drafts" (MESSAGES 2 UIDNEXT 3)
        S1: f OK STATUS completed
        C1: g EXAMINE Drafts
        S1: ...
        S1: g OK [READ-ONLY] EXAMINE completed
        C1: h REPLACE 1 Drafts {lunch}
        S1: h NO [READ-ONLY] Mailbox is read-only
        C1: i UNSELECT
        S1: i OK UNSELECT completed
        C1: j REPLACE 1 Drafts {lunch}
        S1: j BAD No mailbox selected
        """,
        login=(1,),
    )


def test_replace_of_a_message_another_device_expunged(run: Run) -> None:
    # Device 2 expunged message 1; device 1 has not heard yet, so the number is still valid
    # in its view, but the store no longer has it: NO, and the new message is not added.
    run(
        DRAFTS
        + """
        C2: a SELECT Drafts
        S2: ...
        S2: a OK [READ-WRITE] SELECT completed
        C2: b STORE 1 +FLAGS.SILENT (\\Deleted)
        S2: b OK STORE completed
        C2: c EXPUNGE
        S2: * 1 EXPUNGE
        S2: * 1 RECENT
        S2: c OK EXPUNGE completed
        C1: d FETCH 1 (FLAGS)
        S1: d OK FETCH completed
        C1: e REPLACE 1 Drafts {lunch}
        S1: * 1 EXPUNGE
        S1: e NO [NONEXISTENT] the message to replace is gone
        C1: f STATUS Drafts (MESSAGES UIDNEXT)
        S1: * STATUS "Drafts" (MESSAGES 1 UIDNEXT 3)
        S1: f OK STATUS completed
        """,
        login=(1, 2),
    )


def test_replace_is_advertised(run: Run) -> None:
    run(
        """
        C1: a CAPABILITY
        S1: * CAPABILITY ... REPLACE...
        S1: a OK CAPABILITY completed
        """,
        login=(1,),
    )
