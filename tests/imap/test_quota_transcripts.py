"""QUOTA (RFC 9208) and APPENDLIMIT (RFC 7889) as transcripts: limits set through the
store (as `roost user quota` does), then GETQUOTAROOT, GETQUOTA, [OVERQUOTA] on APPEND
and COPY, MOVE at the limit, SETQUOTA refused, STATUS/LIST-STATUS APPENDLIMIT."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.imap.transcript import Scene

# 1024 octets once LF becomes CRLF: one STORAGE unit each.
NOTE = "Subject: Note\n\n" + "x" * 1005 + "\n"
LIMIT = 50 * 1024 * 1024  # the default max_message_size


def quota_transcript(
    tmp_path: Path, script: str, *, storage: int | None, messages: int | None
) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as scene:
            await scene.store.set_quota(scene.account.id, storage, messages)
            await scene.login(1, 2)
            await scene.run(script, messages={"note": NOTE, "small": "Subject: s\n\n"})

    asyncio.run(main())


def test_storage_quota_getquotaroot_getquota_and_overquota(tmp_path: Path) -> None:
    quota_transcript(
        tmp_path,
        """
        C1: a GETQUOTAROOT INBOX
        S1: * QUOTAROOT "INBOX" ""
        S1: * QUOTA "" (STORAGE 0 3 MESSAGE 0 10)
        S1: a OK GETQUOTAROOT completed
        C1: b APPEND INBOX {note} {note}
        S1: b OK [APPENDUID ... 1:2] APPEND completed
        C1: c APPEND INBOX {note} {note}
        S1: c NO [OVERQUOTA] storage quota exceeded
        C1: d GETQUOTA ""
        S1: * QUOTA "" (STORAGE 2 3 MESSAGE 2 10)
        S1: d OK GETQUOTA completed
        C2: e SELECT INBOX
        S2: ...
        S2: e OK [READ-WRITE] SELECT completed
        C2: f COPY 1:2 Archive
        S2: f NO [OVERQUOTA] storage quota exceeded
        C2: g MOVE 1:2 Archive
        S2: * OK [COPYUID ... 1:2 1:2] Moved
        S2: * 2 EXPUNGE
        S2: * 1 EXPUNGE
        S2: * 0 RECENT
        S2: g OK MOVE completed
        C2: h STATUS Archive (MESSAGES)
        S2: * STATUS "Archive" (MESSAGES 2)
        S2: h OK STATUS completed
        C1: i GETQUOTAROOT Archive
        S1: * QUOTAROOT "Archive" ""
        S1: * QUOTA "" (STORAGE 2 3 MESSAGE 2 10)
        S1: i OK GETQUOTAROOT completed
        C1: j APPEND INBOX {note}
        S1: j OK [APPENDUID ... 3] APPEND completed
        C1: k APPEND INBOX {note}
        S1: k NO [OVERQUOTA] storage quota exceeded
        """,
        storage=3 * 1024,
        messages=10,
    )


def test_message_quota_and_the_quota_commands_refusals(tmp_path: Path) -> None:
    quota_transcript(
        tmp_path,
        """
        C1: a APPEND Drafts {note}
        S1: a OK [APPENDUID ... 1] APPEND completed
        C1: b APPEND INBOX {note}
        S1: b NO [OVERQUOTA] message quota exceeded
        C1: c GETQUOTAROOT Drafts
        S1: * QUOTAROOT "Drafts" ""
        S1: * QUOTA "" (MESSAGE 1 1)
        S1: c OK GETQUOTAROOT completed
        C1: d GETQUOTA "user.alice"
        S1: d NO [NONEXISTENT] No such quota root
        C1: e GETQUOTAROOT Nowhere
        S1: e NO [NONEXISTENT] no such mailbox
        C1: f SETQUOTA "" (STORAGE 512 MESSAGE 100)
        S1: f NO [NOPERM] Quotas are set by the administrator
        C1: g SETQUOTA "" (STORAGE)
        S1: g BAD ...
        C1: h GETQUOTA
        S1: h BAD ...
        C1: i GETQUOTA ""
        S1: * QUOTA "" (MESSAGE 1 1)
        S1: i OK GETQUOTA completed
        """,
        storage=None,
        messages=1,
    )


def test_no_limit_means_no_quota_root(tmp_path: Path) -> None:
    # RFC 9208 §7: a QUOTA response lists at least one resource, so an account without
    # limits has no quota root at all.
    quota_transcript(
        tmp_path,
        """
        C1: a GETQUOTAROOT INBOX
        S1: * QUOTAROOT "INBOX"
        S1: a OK GETQUOTAROOT completed
        C1: b GETQUOTA ""
        S1: b NO [NONEXISTENT] No such quota root
        C1: c APPEND INBOX {note} {note} {note}
        S1: c OK [APPENDUID ... 1:3] APPEND completed
        """,
        storage=None,
        messages=None,
    )


def test_appendlimit_and_deleted_storage_in_status_and_list_status(tmp_path: Path) -> None:
    # RFC 7889 §3: one limit for every mailbox, also in STATUS and LIST-STATUS; RFC 9208
    # §4.2 DELETED-STORAGE in units of 1024 octets, rounded up.
    quota_transcript(
        tmp_path,
        f"""
        C1: a CAPABILITY
        S1: * CAPABILITY ... APPENDLIMIT={LIMIT}
        S1: a OK CAPABILITY completed
        C1: b STATUS INBOX (MESSAGES APPENDLIMIT)
        S1: * STATUS "INBOX" (MESSAGES 0 APPENDLIMIT {LIMIT})
        S1: b OK STATUS completed
        C1: c LIST "" Sent RETURN (STATUS (APPENDLIMIT))
        S1: * LIST (\\HasNoChildren \\Sent) "/" "Sent"
        S1: * STATUS "Sent" (APPENDLIMIT {LIMIT})
        S1: c OK LIST completed
        C1: d APPEND INBOX (\\Deleted) {{note}} {{note}} (\\Deleted) {{note}} (\\Deleted) {{small}}
        S1: d OK [APPENDUID ... 1:4] APPEND completed
        C1: e STATUS INBOX (DELETED DELETED-STORAGE SIZE)
        S1: * STATUS "INBOX" (DELETED 3 DELETED-STORAGE 3 SIZE 3086)
        S1: e OK STATUS completed
        """,
        storage=None,
        messages=None,
    )
