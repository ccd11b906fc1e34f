"""QRESYNC after retention folded the tombstones a device needs (roost.store.mail.retention):
RFC 7162 §3.2.5.2 lets the server name every UID the device may know that is gone, so the
answer is still right, only wider than the exact list. From the floor on (the expunge's
MODSEQ, 4 here) the answer is exact again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from tests.imap.test_transcripts import MESSAGES
from tests.imap.transcript import Scene

EVERYTHING = timedelta(seconds=-5)  # a horizon in the future: every tombstone counts as old


def test_resync_from_before_the_floor(tmp_path: Path) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as s:
            await s.login(1, 2, 3)
            await s.run(
                """
                C1: a APPEND INBOX {lunch} {lunch} {lunch} {lunch} {lunch}
                S1: a OK [APPENDUID ... 1:5] APPEND completed
                C2: b SELECT INBOX
                S2: ...
                S2: b OK [READ-WRITE] SELECT completed
                C1: c SELECT INBOX
                S1: ...
                S1: c OK [READ-WRITE] SELECT completed
                C1: d UID STORE 3,5 +FLAGS.SILENT (\\Deleted)
                S1: d OK UID STORE completed
                C1: e EXPUNGE
                S1: * 5 EXPUNGE
                S1: * 3 EXPUNGE
                S1: e OK EXPUNGE completed
                C1: f APPEND INBOX {lunch}
                S1: * 4 EXISTS
                S1: * 1 RECENT
                S1: f OK [APPENDUID ... 6] APPEND completed
                """,
                messages=MESSAGES,
            )
            # Connection 2 has not heard of the expunges when their tombstones go.
            done = await s.store.maintain(retention=EVERYTHING)
            assert done.tombstones == 2
            v = (await s.store.find_mailbox(s.account.id, "INBOX")).uidvalidity
            await s.run(
                f"""
                C3: g ENABLE QRESYNC
                S3: * ENABLED QRESYNC
                S3: g OK ENABLE completed
                C3: h SELECT INBOX (QRESYNC ({v} 2))
                S3: ...
                S3: * OK [HIGHESTMODSEQ 5] Highest
                S3: * OK [MAILBOXID (...)] Ok
                S3: * VANISHED (EARLIER) 3,5
                S3: * 4 FETCH (UID 6 FLAGS () MODSEQ (5))
                S3: h OK [READ-WRITE] SELECT completed
                C3: i UID FETCH 1:4 (FLAGS) (CHANGEDSINCE 2 VANISHED)
                S3: * VANISHED (EARLIER) 3
                S3: i OK UID FETCH completed
                C3: j UID FETCH 1:* (FLAGS) (CHANGEDSINCE 3 VANISHED)
                S3: * VANISHED (EARLIER) 3,5
                S3: * 4 FETCH (UID 6 FLAGS () MODSEQ (5))
                S3: j OK UID FETCH completed
                C3: l UID FETCH 1:* (FLAGS) (CHANGEDSINCE 4 VANISHED)
                S3: * 4 FETCH (UID 6 FLAGS () MODSEQ (5))
                S3: l OK UID FETCH completed
                C2: k NOOP
                S2: * 5 EXPUNGE
                S2: * 3 EXPUNGE
                S2: * 4 EXISTS
                S2: ...
                S2: k OK NOOP completed
                """,
                messages=MESSAGES,
            )

    asyncio.run(main())
