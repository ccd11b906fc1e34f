"""SORT, THREAD, ESORT, PARTIAL and WITHIN as transcripts (see transcript.py), over
messages whose sort keys were computed at delivery."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.imap.transcript import transcript

LUNCH = (
    """\
From: Aaron Zed <zed@example.org>
To: bob@example.org
Cc: xavier@example.org
Subject: Lunch plans
Date: Mon, 1 Jan 2024 10:00:00 +0000
Message-ID: <a@example.org>

"""
    + "x" * 600
)

REPLY = (
    """\
From: "Anna" <anna@example.org>
To: carol@example.org
Subject: Re: Lunch  plans
Date: Tue, 2 Jan 2024 10:00:00 +0000
Message-ID: <b@example.org>
In-Reply-To: <a@example.org>
References: <a@example.org>

"""
    + "x" * 10
)

REPORT = (
    """\
From: mike@example.org
To: Aaron <zz@example.org>
Subject: [team] Report
Date: Sun, 31 Dec 2023 10:00:00 +0000
Message-ID: <c@example.org>

"""
    + "x" * 300
)

# No Date: its sent date is its INTERNALDATE (RFC 5256 §2.2).
FORWARD = (
    """\
From: bob@example.org
Subject: Fwd: Report
Message-ID: <d@example.org>
References: <a@example.org>
 <b@example.org>

"""
    + "x" * 1000
)

MESSAGES = {"lunch": LUNCH, "reply": REPLY, "report": REPORT, "forward": FORWARD, "junk": "x"}
Run = Callable[..., None]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages=MESSAGES, login=(1,))


# Four messages at sequence numbers 1-4 with UIDs 2-5 (UID 1 was expunged), arriving
# (INTERNALDATE) in the order 4 2 3 1.
FILLED = """
C1: f1 APPEND INBOX {junk}
S1: f1 OK [APPENDUID ... 1] APPEND completed
C1: f2 SELECT INBOX
S1: ...
S1: f2 OK [READ-WRITE] SELECT completed
C1: f3 STORE 1 +FLAGS.SILENT (\\Deleted)
S1: f3 OK STORE completed
C1: f4 EXPUNGE
S1: * 1 EXPUNGE
S1: * 0 RECENT
S1: f4 OK EXPUNGE completed
C1: f5 APPEND INBOX "05-Jan-2024 00:00:00 +0000" {lunch} "03-Jan-2024 00:00:00 +0000" {reply} "04-Jan-2024 00:00:00 +0000" {report} "02-Jan-2024 00:00:00 +0000" {forward}
S1: * 4 EXISTS
S1: ...
S1: f5 OK [APPENDUID ... 2:5] APPEND completed
"""


def test_capabilities_are_advertised(run: Run) -> None:
    run(
        """
        C1: a CAPABILITY
        S1: * CAPABILITY ... SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT WITHIN PARTIAL...
        S1: a OK CAPABILITY completed
        """
    )


def test_sort_by_each_key(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a SORT (ARRIVAL) UTF-8 ALL
        S1: * SORT 4 2 3 1
        S1: a OK SORT completed
        C1: b SORT (DATE) UTF-8 ALL
        S1: * SORT 3 1 4 2
        S1: b OK SORT completed
        C1: c SORT (FROM) UTF-8 ALL
        S1: * SORT 2 4 3 1
        S1: c OK SORT completed
        C1: d SORT (DISPLAYFROM) UTF-8 ALL
        S1: * SORT 1 2 4 3
        S1: d OK SORT completed
        C1: e SORT (TO) UTF-8 ALL
        S1: * SORT 4 1 2 3
        S1: e OK SORT completed
        C1: f SORT (DISPLAYTO) UTF-8 ALL
        S1: * SORT 4 3 1 2
        S1: f OK SORT completed
        C1: g SORT (CC) UTF-8 ALL
        S1: * SORT 2 3 4 1
        S1: g OK SORT completed
        C1: h SORT (SIZE) UTF-8 ALL
        S1: * SORT 2 3 1 4
        S1: h OK SORT completed
        C1: i SORT (REVERSE SIZE) UTF-8 ALL
        S1: * SORT 4 1 3 2
        S1: i OK SORT completed
        C1: j SORT (SUBJECT REVERSE DATE) UTF-8 ALL
        S1: * SORT 2 1 4 3
        S1: j OK SORT completed
        C1: k SORT (SUBJECT) US-ASCII ALL
        S1: * SORT 1 2 3 4
        S1: k OK SORT completed
        """
    )


def test_uid_sort_search_criteria_and_errors(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a UID SORT (DATE) UTF-8 ALL
        S1: * SORT 4 2 5 3
        S1: a OK UID SORT completed
        C1: b SORT (DATE) UTF-8 SUBJECT report
        S1: * SORT 3 4
        S1: b OK SORT completed
        C1: c SORT (DATE) UTF-8 DELETED
        S1: * SORT
        S1: c OK SORT completed
        C1: d SORT (DATE) KOI8-R ALL
        S1: d NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset
        C1: e SORT (COLOUR) UTF-8 ALL
        S1: e BAD unknown sort key COLOUR
        C1: f UNSELECT
        S1: f OK UNSELECT completed
        C1: g SORT (DATE) UTF-8 ALL
        S1: g BAD ...
        """
    )


def test_esort_return_options_and_partial(run: Run) -> None:
    # RFC 5267 §3.2: MIN/MAX are the first and last in sort order, ALL keeps that order
    run(
        FILLED
        + """
        C1: a SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL
        S1: * ESEARCH (TAG "a") MIN 3 MAX 2 ALL 3,1,4,2 COUNT 4
        S1: a OK SORT completed
        C1: b UID SORT RETURN () (DATE) UTF-8 ALL
        S1: * ESEARCH (TAG "b") UID ALL 4,2,5,3
        S1: b OK UID SORT completed
        C1: c UID SORT RETURN (PARTIAL 1:2) (DATE) UTF-8 ALL
        S1: * ESEARCH (TAG "c") UID PARTIAL (1:2 4,2)
        S1: c OK UID SORT completed
        C1: d SORT RETURN (PARTIAL -1:-2 COUNT) (REVERSE ARRIVAL) UTF-8 ALL
        S1: * ESEARCH (TAG "d") PARTIAL (-1:-2 2,4) COUNT 4
        S1: d OK SORT completed
        C1: e SORT RETURN (PARTIAL 10:20 MIN) (DATE) UTF-8 ALL
        S1: * ESEARCH (TAG "e") MIN 3 PARTIAL (10:20 NIL)
        S1: e OK SORT completed
        C1: f SORT RETURN (MIN COUNT) (DATE) UTF-8 DELETED
        S1: * ESEARCH (TAG "f") COUNT 0
        S1: f OK SORT completed
        C1: g SORT RETURN (SAVE) (DATE) UTF-8 ALL
        S1: g BAD unknown SORT return option SAVE
        """
    )


def test_search_partial_and_its_saved_result(run: Run) -> None:
    # RFC 9394 §3.1 (pages in mailbox order) and §3.2 (what SAVE keeps beside PARTIAL)
    run(
        FILLED
        + """
        C1: a SEARCH RETURN (PARTIAL 2:3) ALL
        S1: * ESEARCH (TAG "a") PARTIAL (2:3 2:3)
        S1: a OK SEARCH completed
        C1: b UID SEARCH RETURN (PARTIAL -1:-2) ALL
        S1: * ESEARCH (TAG "b") UID PARTIAL (-1:-2 4:5)
        S1: b OK UID SEARCH completed
        C1: c UID SEARCH RETURN (PARTIAL 3:1 MIN MAX COUNT) NOT SUBJECT lunch
        S1: * ESEARCH (TAG "c") UID MIN 4 MAX 5 PARTIAL (1:3 4:5) COUNT 2
        S1: c OK UID SEARCH completed
        C1: d SEARCH RETURN (PARTIAL 5:9) ALL
        S1: * ESEARCH (TAG "d") PARTIAL (5:9 NIL)
        S1: d OK SEARCH completed
        C1: e SEARCH RETURN (SAVE PARTIAL 1:2) ALL
        S1: * ESEARCH (TAG "e") PARTIAL (1:2 1:2)
        S1: e OK SEARCH completed
        C1: f SEARCH $
        S1: * SEARCH 1 2
        S1: f OK SEARCH completed
        C1: g SEARCH RETURN (SAVE PARTIAL 1:1 MAX) ALL
        S1: * ESEARCH (TAG "g") MAX 4 PARTIAL (1:1 1)
        S1: g OK SEARCH completed
        C1: h SEARCH $
        S1: * SEARCH 1 4
        S1: h OK SEARCH completed
        C1: i SEARCH RETURN (SAVE PARTIAL 1:1 COUNT) ALL
        S1: * ESEARCH (TAG "i") PARTIAL (1:1 1) COUNT 4
        S1: i OK SEARCH completed
        C1: j SEARCH $
        S1: * SEARCH 1 2 3 4
        S1: j OK SEARCH completed
        C1: k SEARCH RETURN (PARTIAL 1:2 ALL) ALL
        S1: k BAD at most one of PARTIAL and ALL
        """
    )


def test_uid_fetch_partial(run: Run) -> None:
    # RFC 9394 §3.3: only the messages at those positions of the UID set; UID FETCH only
    run(
        FILLED
        + """
        C1: a UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)
        S1: * 3 FETCH (UID 4 FLAGS (\\Recent))
        S1: * 4 FETCH (UID 5 FLAGS (\\Recent))
        S1: a OK UID FETCH completed
        C1: b UID FETCH 3:5 (FLAGS) (PARTIAL 1:1)
        S1: * 2 FETCH (UID 3 FLAGS (\\Recent))
        S1: b OK UID FETCH completed
        C1: c UID FETCH 1:* (FLAGS) (PARTIAL 7:9)
        S1: c OK UID FETCH completed
        C1: d STORE 2 +FLAGS.SILENT (\\Seen)
        S1: d OK STORE completed
        C1: e UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 PARTIAL -1:-1)
        S1: * OK [HIGHESTMODSEQ ...] Highest
        S1: * 4 FETCH (UID 5 FLAGS (\\Recent) MODSEQ (...))
        S1: e OK UID FETCH completed
        C1: f FETCH 1:* (FLAGS) (PARTIAL 1:2)
        S1: f BAD PARTIAL is a UID FETCH modifier (RFC 9394 §3.3)
        """
    )


def test_thread_references_and_orderedsubject(run: Run) -> None:
    # 1 <- 2 <- 4 by References (4's chain is a, b); 3 stands alone and is the oldest
    run(
        FILLED
        + """
        C1: a THREAD REFERENCES UTF-8 ALL
        S1: * THREAD (3)(1 2 4)
        S1: a OK THREAD completed
        C1: b UID THREAD REFERENCES UTF-8 ALL
        S1: * THREAD (4)(2 3 5)
        S1: b OK UID THREAD completed
        C1: c THREAD REFERENCES UTF-8 NOT FROM anna
        S1: * THREAD (3)(1 4)
        S1: c OK THREAD completed
        C1: d THREAD ORDEREDSUBJECT UTF-8 ALL
        S1: * THREAD (3 4)(1 2)
        S1: d OK THREAD completed
        C1: e THREAD REFERENCES UTF-8 DELETED
        S1: * THREAD
        S1: e OK THREAD completed
        C1: f THREAD REFERENCES KOI8-R ALL
        S1: f NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset
        C1: g THREAD X-FANCY UTF-8 ALL
        S1: g BAD unsupported threading algorithm X-FANCY
        """
    )


def test_within_younger_and_older(run: Run) -> None:
    # RFC 5032: seconds before now, on INTERNALDATE; the messages of FILLED arrived in 2024
    # by their INTERNALDATE, the last one just now
    run(
        FILLED
        + """
        C1: a APPEND INBOX {junk}
        S1: * 5 EXISTS
        S1: ...
        S1: a OK [APPENDUID ... 6] APPEND completed
        C1: b SEARCH YOUNGER 3600
        S1: * SEARCH 5
        S1: b OK SEARCH completed
        C1: c SEARCH OLDER 3600
        S1: * SEARCH 1 2 3 4
        S1: c OK SEARCH completed
        C1: d UID SORT (ARRIVAL) UTF-8 OLDER 3600
        S1: * SORT 5 3 4 2
        S1: d OK UID SORT completed
        C1: e SEARCH YOUNGER 0
        S1: e BAD number out of range
        """
    )


def test_copies_keep_their_sort_and_thread_keys(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a COPY 1:4 Archive
        S1: a OK [COPYUID ...] COPY completed
        C1: b SELECT Archive
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: c SORT (DATE) UTF-8 ALL
        S1: * SORT 3 1 4 2
        S1: c OK SORT completed
        C1: d SORT (DISPLAYFROM) UTF-8 ALL
        S1: * SORT 1 2 4 3
        S1: d OK SORT completed
        C1: e THREAD REFERENCES UTF-8 ALL
        S1: * THREAD (3)(1 2 4)
        S1: e OK THREAD completed
        """
    )


def test_sort_with_modseq_and_in_imap4rev2(run: Run) -> None:
    # RFC 7162 §3.1.5: a MODSEQ criterion adds the highest modseq found; IMAP4rev2 changes
    # SEARCH's answer to ESEARCH but not SORT's (RFC 5256 §4)
    run(
        FILLED
        + """
        C1: a SORT (DATE) UTF-8 MODSEQ 1
        S1: * OK [HIGHESTMODSEQ ...] Highest
        S1: re:\\* SORT 3 1 4 2 \\(MODSEQ \\d+\\)
        S1: a OK SORT completed
        C1: b SORT RETURN (COUNT) (DATE) UTF-8 MODSEQ 1
        S1: re:\\* ESEARCH \\(TAG "b"\\) COUNT 4 MODSEQ \\d+
        S1: b OK SORT completed
        C1: c ENABLE IMAP4rev2
        S1: * ENABLED IMAP4rev2
        S1: c OK ENABLE completed
        C1: d SORT (SIZE) UTF-8 ALL
        S1: * SORT 2 3 1 4
        S1: d OK SORT completed
        """
    )
