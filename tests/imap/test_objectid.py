"""OBJECTID (RFC 8474) as transcripts: MAILBOXID on CREATE, SELECT, STATUS and LIST-STATUS,
kept across RENAME; EMAILID/THREADID in FETCH and SEARCH, kept across MOVE."""

from __future__ import annotations

import asyncio
from pathlib import Path

from roost.imap.commands.mailboxes import mailbox_id
from roost.model import Uid
from tests.imap.test_transcripts import MESSAGES
from tests.imap.transcript import Scene, transcript


async def _ids(s: Scene, name: str, uid: int) -> tuple[str, str]:
    mailbox = await s.store.find_mailbox(s.account.id, name)
    [meta] = await s.store.fetch_meta(mailbox.id, [Uid(uid)])
    return meta.email_id, meta.thread_id


def test_mailboxid_everywhere_and_across_rename(tmp_path: Path) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as s:
            await s.login(1)
            await s.run(
                """
                C1: a CREATE Work
                S1: re:a OK \\[MAILBOXID \\(F\\d+\\)\\] CREATE completed
                """
            )
            work = mailbox_id(await s.store.find_mailbox(s.account.id, "Work"))
            inbox = mailbox_id(await s.store.find_mailbox(s.account.id, "INBOX"))
            assert work != inbox
            await s.run(
                f"""
                C1: b STATUS Work (MAILBOXID MESSAGES)
                S1: * STATUS "Work" (MAILBOXID ({work}) MESSAGES 0)
                S1: b OK STATUS completed
                C1: c LIST "" "*" RETURN (STATUS (MAILBOXID))
                S1: ...
                S1: * LIST (\\HasNoChildren) "/" "Work"
                S1: * STATUS "Work" (MAILBOXID ({work}))
                S1: c OK LIST completed
                C1: d RENAME Work Projects
                S1: d OK RENAME completed
                C1: e SELECT Projects
                S1: ...
                S1: * OK [MAILBOXID ({work})] Ok
                S1: e OK [READ-WRITE] SELECT completed
                C1: f EXAMINE INBOX
                S1: ...
                S1: * OK [MAILBOXID ({inbox})] Ok
                S1: f OK [READ-ONLY] EXAMINE completed
                C1: g STATUS Projects (MAILBOXID)
                S1: * STATUS "Projects" (MAILBOXID ({work}))
                S1: g OK STATUS completed
                """
            )

    asyncio.run(main())


def test_emailid_threadid_fetch_search_and_move(tmp_path: Path) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as s:
            await s.login(1, 2)
            await s.run(
                """
                C1: a APPEND INBOX {lunch} {report}
                S1: a OK [APPENDUID ... 1:2] APPEND completed
                C1: b CREATE Old
                S1: b OK ...
                """,
                messages=MESSAGES,
            )
            lunch, lunch_thread = await _ids(s, "INBOX", 1)
            report, _ = await _ids(s, "INBOX", 2)
            assert lunch != report
            await s.run(
                f"""
                C1: c SELECT INBOX
                S1: ...
                S1: c OK [READ-WRITE] SELECT completed
                C1: d FETCH 1:2 (EMAILID THREADID)
                S1: * 1 FETCH (EMAILID ({lunch}) THREADID ({lunch_thread}))
                S1: * 2 FETCH (EMAILID ({report}) THREADID (...))
                S1: d OK FETCH completed
                C1: e UID SEARCH EMAILID {report}
                S1: * SEARCH 2
                S1: e OK UID SEARCH completed
                C1: f SEARCH THREADID {lunch_thread} UNSEEN
                S1: * SEARCH 1
                S1: f OK SEARCH completed
                C1: g SEARCH OR EMAILID {lunch} EMAILID Mnothing
                S1: * SEARCH 1
                S1: g OK SEARCH completed
                C1: h MOVE 1 Old
                S1: * OK [COPYUID ... 1 1] Moved
                S1: * 1 EXPUNGE
                S1: * 1 RECENT
                S1: h OK MOVE completed
                C1: i SEARCH EMAILID {lunch}
                S1: * SEARCH
                S1: i OK SEARCH completed
                C2: j SELECT Old
                S2: ...
                S2: j OK [READ-WRITE] SELECT completed
                C2: k UID FETCH 1 (EMAILID THREADID)
                S2: * 1 FETCH (UID 1 EMAILID ({lunch}) THREADID ({lunch_thread}))
                S2: k OK UID FETCH completed
                C2: l UID SEARCH EMAILID {lunch}
                S2: * SEARCH 1
                S2: l OK UID SEARCH completed
                C2: m SEARCH EMAILID bad!id
                S2: m BAD expected object id
                C2: n SEARCH EMAILID
                S2: n BAD ...
                """
            )

    asyncio.run(main())


def test_objectid_is_advertised(tmp_path: Path) -> None:
    transcript(
        tmp_path,
        """
        C1: a CAPABILITY
        S1: * CAPABILITY ... OBJECTID...
        S1: a OK CAPABILITY completed
        """,
        login=(1,),
    )
