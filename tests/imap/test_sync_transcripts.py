"""CONDSTORE and QRESYNC (RFC 7162) as transcripts: modseqs, conditional STORE, and a device
that comes back and hears exactly what changed while it was away."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.imap.test_transcripts import MESSAGES, Run
from tests.imap.transcript import Scene, transcript


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages=MESSAGES)


def scene(tmp_path: Path, body: Callable[[Scene], Awaitable[None]]) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as s:
            await s.login(1, 2, 3)
            await body(s)

    asyncio.run(main())


async def uidvalidity(s: Scene) -> int:
    return (await s.store.find_mailbox(s.account.id, "INBOX")).uidvalidity


def test_condstore_fetch_store_search_status(run: Run) -> None:
    run(
        """
        C1: a APPEND INBOX {lunch} {lunch} {lunch}
        S1: a OK [APPENDUID ... 1:3] APPEND completed
        C1: b STATUS INBOX (HIGHESTMODSEQ)
        S1: * STATUS "INBOX" (HIGHESTMODSEQ 2)
        S1: b OK STATUS completed
        C1: c SELECT INBOX (CONDSTORE)
        S1: ...
        S1: * OK [HIGHESTMODSEQ 2] Highest
        S1: * OK [MAILBOXID (...)] Ok
        S1: c OK [READ-WRITE] SELECT completed
        C1: d FETCH 1:* (UID MODSEQ)
        S1: * 1 FETCH (UID 1 MODSEQ (2))
        S1: * 2 FETCH (UID 2 MODSEQ (2))
        S1: * 3 FETCH (UID 3 MODSEQ (2))
        S1: d OK FETCH completed
        C1: e STORE 2 +FLAGS (\\Flagged)
        S1: * 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ (3))
        S1: e OK STORE completed
        C1: f STORE 1:3 (UNCHANGEDSINCE 2) +FLAGS.SILENT (\\Seen)
        S1: f OK [MODIFIED 2] Conditional STORE failed
        C1: g UID FETCH 1:* (FLAGS) (CHANGEDSINCE 3)
        S1: * 1 FETCH (UID 1 FLAGS (\\Recent \\Seen) MODSEQ (4))
        S1: * 3 FETCH (UID 3 FLAGS (\\Recent \\Seen) MODSEQ (4))
        S1: g OK UID FETCH completed
        C1: h SEARCH MODSEQ 4
        S1: * SEARCH 1 3 (MODSEQ 4)
        S1: h OK SEARCH completed
        C1: i UID SEARCH RETURN (COUNT) MODSEQ 3
        S1: * ESEARCH (TAG "i") UID COUNT 3 MODSEQ 4
        S1: i OK UID SEARCH completed
        """,
        login=(1,),
    )


def test_condstore_client_hears_modseq_of_other_devices_changes(run: Run) -> None:
    run(
        """
        C1: a ENABLE IMAP4rev2 CONDSTORE
        S1: * ENABLED IMAP4rev2 CONDSTORE
        S1: a OK ENABLE completed
        C2: b APPEND INBOX {lunch}
        S2: b OK [APPENDUID ... 1] APPEND completed
        C1: c SELECT INBOX
        S1: ...
        S1: c OK [READ-WRITE] SELECT completed
        C2: d SELECT INBOX
        S2: ...
        S2: d OK [READ-WRITE] SELECT completed
        C2: e STORE 1 FLAGS.SILENT (\\Answered)
        S2: e OK STORE completed
        C1: f NOOP
        S1: * 1 FETCH (UID 1 FLAGS (\\Answered) MODSEQ (3))
        S1: f OK NOOP completed
        """,
        login=(1, 2),
    )


def test_qresync_live_expunges_are_vanished(run: Run) -> None:
    run(
        """
        C1: a ENABLE QRESYNC
        S1: * ENABLED QRESYNC
        S1: a OK ENABLE completed
        C1: b APPEND INBOX {lunch} {lunch} {lunch} {lunch}
        S1: b OK [APPENDUID ... 1:4] APPEND completed
        C1: c SELECT INBOX
        S1: ...
        S1: c OK [READ-WRITE] SELECT completed
        C2: d SELECT INBOX
        S2: ...
        S2: d OK [READ-WRITE] SELECT completed
        C2: e UID STORE 2:3 +FLAGS.SILENT (\\Deleted)
        S2: e OK UID STORE completed
        C2: f EXPUNGE
        S2: * 3 EXPUNGE
        S2: * 2 EXPUNGE
        S2: f OK EXPUNGE completed
        C1: g NOOP
        S1: * VANISHED 2:3
        S1: * 2 RECENT
        S1: g OK NOOP completed
        C1: h UID MOVE 4 Trash
        S1: * OK [COPYUID ... 4 1] Moved
        S1: * VANISHED 4
        S1: * 1 RECENT
        S1: h OK UID MOVE completed
        """,
        login=(1, 2),
    )


def test_select_qresync_needs_enable(run: Run) -> None:
    run(
        """
        C1: a SELECT INBOX (QRESYNC (1 1))
        S1: a BAD ENABLE QRESYNC first (RFC 7162 §3.2.5)
        C1: b UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)
        S1: b BAD No mailbox selected
        """,
        login=(1,),
    )


def test_device_that_was_away_gets_exactly_what_changed(tmp_path: Path) -> None:
    async def body(s: Scene) -> None:
        await s.run(
            """
            C1: a APPEND INBOX {lunch} {lunch} {lunch} {lunch} {lunch}
            S1: a OK [APPENDUID ... 1:5] APPEND completed
            """,
            messages=MESSAGES,
        )
        v = await uidvalidity(s)
        # Device 3 last saw modseq 2 (the five messages). Then device 1 changes things:
        # a flag, an expunge in the middle, an expunge of the highest UID, a new message.
        await s.run(
            """
            C1: b SELECT INBOX
            S1: ...
            S1: b OK [READ-WRITE] SELECT completed
            C1: c STORE 2 +FLAGS.SILENT (\\Flagged)
            S1: c OK STORE completed
            C1: d UID STORE 3,5 +FLAGS.SILENT (\\Deleted)
            S1: d OK UID STORE completed
            C1: e EXPUNGE
            S1: * 5 EXPUNGE
            S1: * 3 EXPUNGE
            S1: * 3 RECENT
            S1: e OK EXPUNGE completed
            C1: f APPEND INBOX {lunch}
            S1: * 4 EXISTS
            S1: * 4 RECENT
            S1: f OK [APPENDUID ... 6] APPEND completed
            """,
            messages=MESSAGES,
        )
        await s.run(
            f"""
            C3: g ENABLE QRESYNC
            S3: * ENABLED QRESYNC
            S3: g OK ENABLE completed
            C3: h SELECT INBOX (QRESYNC ({v} 2 1:5))
            S3: * FLAGS ...
            S3: * OK [PERMANENTFLAGS ...] Flags permitted
            S3: * 4 EXISTS
            S3: * 0 RECENT
            S3: * OK [UNSEEN 1] First unseen
            S3: * OK [UIDVALIDITY {v}] UIDs valid
            S3: * OK [UIDNEXT 7] Predicted next UID
            S3: * OK [HIGHESTMODSEQ 6] Highest
            S3: * OK [MAILBOXID (...)] Ok
            S3: * VANISHED (EARLIER) 3,5
            S3: * 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (3))
            S3: * 4 FETCH (UID 6 FLAGS () MODSEQ (6))
            S3: h OK [READ-WRITE] SELECT completed
            C3: i UID FETCH 1:* (FLAGS) (CHANGEDSINCE 3 VANISHED)
            S3: * VANISHED (EARLIER) 3,5
            S3: * 4 FETCH (UID 6 FLAGS () MODSEQ (6))
            S3: i OK UID FETCH completed
            C3: j UID FETCH 1:4 (FLAGS) (CHANGEDSINCE 3 VANISHED)
            S3: * VANISHED (EARLIER) 3
            S3: j OK UID FETCH completed
            """
        )
        # A stale UIDVALIDITY gets no resync data: the client must start over.
        await s.run(
            f"""
            C2: k ENABLE QRESYNC
            S2: * ENABLED QRESYNC
            S2: k OK ENABLE completed
            C2: l EXAMINE INBOX (QRESYNC ({v + 1} 1))
            S2: * FLAGS ...
            S2: * OK [PERMANENTFLAGS ()] Read-only mailbox
            S2: * 4 EXISTS
            S2: * 0 RECENT
            S2: * OK [UNSEEN 1] First unseen
            S2: * OK [UIDVALIDITY {v}] UIDs valid
            S2: * OK [UIDNEXT 7] Predicted next UID
            S2: * OK [HIGHESTMODSEQ 6] Highest
            S2: * OK [MAILBOXID (...)] Ok
            S2: l OK [READ-ONLY] EXAMINE completed
            """
        )

    scene(tmp_path, body)


def test_preview_savedate_and_object_ids(run: Run) -> None:
    run(
        """
        C1: a APPEND INBOX {lunch}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b SELECT INBOX
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: c FETCH 1 (PREVIEW SAVEDATE EMAILID THREADID)
        S1: re:\\* 1 FETCH \\(PREVIEW "See you at noon\\." SAVEDATE "[ \\d]\\d-\\w{3}-\\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000" EMAILID \\(M[0-9a-f]+\\) THREADID \\(T[0-9a-f]+\\)\\)
        S1: c OK FETCH completed
        C1: d FETCH 1 (PREVIEW (LAZY))
        S1: * 1 FETCH (PREVIEW "See you at noon.")
        S1: d OK FETCH completed
        C1: e UID COPY 1 Archive
        S1: e OK [COPYUID ... 1 1] UID COPY completed
        C1: f SEARCH SAVEDATESUPPORTED SAVEDSINCE 1-Jan-2020 NOT SAVEDBEFORE 1-Jan-2020
        S1: * SEARCH 1
        S1: f OK SEARCH completed
        C1: g STATUS INBOX (MAILBOXID)
        S1: re:\\* STATUS "INBOX" \\(MAILBOXID \\(F\\d+\\)\\)
        S1: g OK STATUS completed
        """,
        login=(1,),
    )


def test_recent_goes_to_one_session_only(run: Run) -> None:
    # RFC 3501 §2.3.2: \Recent means "this session is the first to be told about it".
    run(
        """
        C1: a SELECT INBOX
        S1: ...
        S1: a OK [READ-WRITE] SELECT completed
        C2: b SELECT INBOX
        S2: ...
        S2: b OK [READ-WRITE] SELECT completed
        C3: c APPEND INBOX {lunch}
        S3: c OK [APPENDUID ... 1] APPEND completed
        C1: d NOOP
        S1: * 1 EXISTS
        S1: * 1 RECENT
        S1: d OK NOOP completed
        C2: e NOOP
        S2: * 1 EXISTS
        S2: * 0 RECENT
        S2: e OK NOOP completed
        C1: f FETCH 1 FLAGS
        S1: * 1 FETCH (FLAGS (\\Recent))
        S1: f OK FETCH completed
        C2: g SEARCH RECENT
        S2: * SEARCH
        S2: g OK SEARCH completed
        C1: h SEARCH NEW
        S1: * SEARCH 1
        S1: h OK SEARCH completed
        """,
        login=(1, 2, 3),
    )
