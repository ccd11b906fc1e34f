"""ACL (RFC 4314) and the shared namespaces (RFC 2342) as transcripts: alice (the scene's
account) shares with bob, a team's mailboxes appear under Shared/, rights are enforced per
command and a right taken away takes effect on the next command (issue 15)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.imap.transcript import ADDRESS, Scene

BOB = "bob@example.org"
NOTE = "Subject: Note\n\nhello\n"


def acl_transcript(tmp_path: Path, script: str, *, team: bool = False) -> None:
    """Connection 1 is alice, 2 and 3 are bob; with team, support@ has both as members."""

    async def main() -> None:
        async with Scene(tmp_path) as scene:
            await scene.add_user(BOB)
            if team:
                await scene.store.create_team("support@example.org", [ADDRESS, BOB])
            await scene.login(1)
            await scene.login(2, 3, address=BOB)
            await scene.run(script, messages={"note": NOTE})

    asyncio.run(main())


def test_capability_and_namespace(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C1: a CAPABILITY
        S1: re:\\* CAPABILITY .* ACL RIGHTS=texk .*
        S1: a OK ...
        C1: b NAMESPACE
        S1: * NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))
        S1: b OK NAMESPACE completed
        """,
    )


def test_sharing_a_mailbox_with_bob(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C1: a CREATE Projects
        S1: a OK ...
        C1: b APPEND Projects {note}
        S1: b OK ...
        C2: c LIST "" "Other Users/*"
        S2: c OK LIST completed
        C2: d SELECT "Other Users/alice/Projects"
        S2: d NO [NONEXISTENT] No such mailbox
        C1: e SETACL Projects bob@example.org lr
        S1: e OK SETACL completed
        C1: f GETACL Projects
        S1: * ACL "Projects" "alice@example.org" "lrswipkxtea" "bob@example.org" "lr"
        S1: f OK GETACL completed
        C2: g LIST "" "*"
        S2: * LIST (\\HasNoChildren) "/" "INBOX"
        S2: ...
        S2: * LIST (\\HasNoChildren \\Junk) "/" "Junk"
        S2: * LIST (\\Noselect \\HasChildren) "/" "Other Users"
        S2: * LIST (\\Noselect \\HasChildren) "/" "Other Users/alice"
        S2: * LIST (\\HasNoChildren) "/" "Other Users/alice/Projects"
        S2: * LIST (\\HasNoChildren \\Sent) "/" "Sent"
        S2: ...
        S2: g OK LIST completed
        C2: h MYRIGHTS "Other Users/alice/Projects"
        S2: * MYRIGHTS "Other Users/alice/Projects" "lr"
        S2: h OK MYRIGHTS completed
        C2: i SELECT "Other Users/alice/Projects"
        S2: * FLAGS (...)
        S2: ...
        S2: i OK [READ-ONLY] SELECT completed
        C2: j FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])
        S2: * 1 FETCH (FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {17}
        S2: Subject: Note
        S2:
        S2: )
        S2: j OK FETCH completed
        C2: k STORE 1 +FLAGS (\\Flagged)
        S2: k NO [READ-ONLY] Mailbox is read-only
        C2: l APPEND "Other Users/alice/Projects" {note}
        S2: l NO [NOPERM] Permission denied
        C2: m GETACL "Other Users/alice/Projects"
        S2: m NO [NOPERM] Permission denied
        C2: n SETACL "Other Users/alice/Projects" bob@example.org lrswi
        S2: n NO [NOPERM] Permission denied
        C2: o CREATE "Other Users/alice/Projects/Mine"
        S2: o NO [NOPERM] Permission denied
        C2: p DELETE "Other Users/alice/Projects"
        S2: p NO [NOPERM] Permission denied
        C2: q STATUS "Other Users/alice/Projects" (MESSAGES UNSEEN)
        S2: * STATUS "Other Users/alice/Projects" (MESSAGES 1 UNSEEN 1)
        S2: q OK STATUS completed
        """,
    )


def test_granted_rights_are_enforced_per_flag_kind(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C1: a APPEND INBOX {note}
        S1: a OK ...
        C1: b SETACL INBOX bob@example.org lrs
        S1: b OK SETACL completed
        C2: c SELECT "Other Users/alice/INBOX"
        S2: * FLAGS (...)
        S2: * OK [PERMANENTFLAGS (\\Seen)] Flags permitted
        S2: ...
        S2: c OK [READ-WRITE] SELECT completed
        C2: d STORE 1 +FLAGS.SILENT (\\Seen)
        S2: d OK STORE completed
        C2: e STORE 1 +FLAGS (\\Deleted)
        S2: e NO [NOPERM] Permission denied
        C2: f STORE 1 +FLAGS ($Label1)
        S2: f NO [NOPERM] Permission denied
        C2: g EXPUNGE
        S2: g NO [NOPERM] Permission denied
        C2: h MOVE 1 INBOX
        S2: h NO [NOPERM] Permission denied
        C2: i COPY 1 INBOX
        S2: i OK [COPYUID ...] COPY completed
        C1: j SETACL INBOX bob@example.org +twe
        S1: j OK SETACL completed
        C2: k STORE 1 +FLAGS (\\Deleted $Label1)
        S2: ...
        S2: * 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent \\Seen $Label1))
        S2: k OK STORE completed
        C2: l EXPUNGE
        S2: * 1 EXPUNGE
        S2: * 0 RECENT
        S2: l OK EXPUNGE completed
        """,
    )


def test_a_mailbox_without_lookup_does_not_exist(tmp_path: Path) -> None:
    # "i" alone (a drop box): bob may add mail, and learns nothing else of it.
    acl_transcript(
        tmp_path,
        """
        C1: a CREATE Drop
        S1: a OK ...
        C1: b SETACL Drop bob@example.org i
        S1: b OK SETACL completed
        C2: c LIST "" "Other Users/*"
        S2: c OK LIST completed
        C2: d APPEND "Other Users/alice/Drop" {note}
        S2: d OK [APPENDUID ...] APPEND completed
        C2: e SELECT "Other Users/alice/Drop"
        S2: e NO [NONEXISTENT] No such mailbox
        C2: f STATUS "Other Users/alice/Drop" (MESSAGES)
        S2: f NO [NONEXISTENT] No such mailbox
        C2: g MYRIGHTS "Other Users/alice/Drop"
        S2: * MYRIGHTS "Other Users/alice/Drop" "i"
        S2: g OK MYRIGHTS completed
        C2: h GETACL "Other Users/alice/Drop"
        S2: h NO [NONEXISTENT] No such mailbox
        C2: i DELETE "Other Users/alice/Drop"
        S2: i NO [NONEXISTENT] No such mailbox
        C2: j SUBSCRIBE "Other Users/alice/Drop"
        S2: j NO [NONEXISTENT] No such mailbox
        C1: k STATUS Drop (MESSAGES)
        S1: * STATUS "Drop" (MESSAGES 1)
        S1: k OK STATUS completed
        """,
    )


def test_revoked_read_right_ends_the_session_at_the_next_command(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C1: a APPEND INBOX {note}
        S1: a OK ...
        C1: b SETACL INBOX bob@example.org lr
        S1: b OK SETACL completed
        C2: c SELECT "Other Users/alice/INBOX"
        S2: ...
        S2: c OK [READ-ONLY] SELECT completed
        C3: d LIST "" "Other Users/%/%"
        S3: * LIST (\\HasNoChildren) "/" "Other Users/alice/INBOX"
        S3: d OK LIST completed
        C1: e DELETEACL INBOX bob@example.org
        S1: e OK DELETEACL completed
        C2: f FETCH 1 (FLAGS)
        S2: * BYE Access to the selected mailbox was revoked
        C3: g LIST "" "Other Users/%/%"
        S3: g OK LIST completed
        """,
    )


def test_a_granted_mailbox_wakes_the_idling_grantee(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C1: a SETACL INBOX bob@example.org lr
        S1: a OK SETACL completed
        C2: b SELECT "Other Users/alice/INBOX"
        S2: ...
        S2: b OK [READ-ONLY] SELECT completed
        C2: c IDLE
        S2: + idling
        C1: d APPEND INBOX {note}
        S1: d OK ...
        P2:
        S2: * 1 EXISTS
        S2: * 0 RECENT
        C1: e SETACL INBOX bob@example.org l
        S1: e OK SETACL completed
        P2:
        S2: * BYE Access to the selected mailbox was revoked
        """,
    )


def test_team_mailboxes_under_shared(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C2: a LIST "" "Shared/*"
        S2: * LIST (\\Noselect \\HasChildren) "/" "Shared/support"
        S2: * LIST (\\HasNoChildren) "/" "Shared/support/Archive"
        S2: * LIST (\\HasNoChildren) "/" "Shared/support/Drafts"
        S2: * LIST (\\HasNoChildren) "/" "Shared/support/INBOX"
        S2: * LIST (\\HasNoChildren) "/" "Shared/support/Junk"
        S2: * LIST (\\HasNoChildren) "/" "Shared/support/Sent"
        S2: * LIST (\\HasNoChildren) "/" "Shared/support/Trash"
        S2: a OK LIST completed
        C2: b CREATE "Shared/support/Escalated"
        S2: b OK [MAILBOXID ...] CREATE completed
        C1: c MYRIGHTS "Shared/support/Escalated"
        S1: * MYRIGHTS "Shared/support/Escalated" "lrswipkxte"
        S1: c OK MYRIGHTS completed
        C1: d GETACL "Shared/support/INBOX"
        S1: d NO [NOPERM] Permission denied
        C2: e APPEND "Shared/support/INBOX" {note}
        S2: e OK ...
        C1: f SELECT "Shared/support/INBOX"
        S1: ...
        S1: f OK [READ-WRITE] SELECT completed
        C1: g RENAME "Shared/support/Escalated" "Shared/support/Urgent"
        S1: g OK RENAME completed
        C1: h RENAME "Shared/support/Urgent" Mine
        S1: h NO [CANNOT] A mailbox cannot move to another owner
        C2: i DELETE "Shared/support/Urgent"
        S2: i OK DELETE completed
        C2: j CREATE "Shared/nobody/X"
        S2: j NO [NOPERM] Permission denied
        C2: k CREATE "Shared/support"
        S2: k NO [NOPERM] Permission denied
        """,
        team=True,
    )


def test_team_members_each_have_their_own_seen(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C1: a ENABLE QRESYNC IMAP4rev2
        S1: ...
        S1: a OK ...
        C2: b ENABLE QRESYNC IMAP4rev2
        S2: ...
        S2: b OK ...
        C2: c APPEND "Shared/support/INBOX" {note}
        S2: c OK ...
        C2: d APPEND "Shared/support/INBOX" (\\Seen) {note}
        S2: d OK ...
        C1: e SELECT "Shared/support/INBOX"
        S1: ...
        S1: e OK [READ-WRITE] SELECT completed
        C2: f SELECT "Shared/support/INBOX"
        S2: ...
        S2: f OK [READ-WRITE] SELECT completed
        C1: g FETCH 1:2 (FLAGS)
        S1: * 1 FETCH (FLAGS ())
        S1: * 2 FETCH (FLAGS ())
        S1: g OK FETCH completed
        C2: h FETCH 1:2 (FLAGS)
        S2: * 1 FETCH (FLAGS ())
        S2: * 2 FETCH (FLAGS (\\Seen))
        S2: h OK FETCH completed
        C2: i IDLE
        S2: + idling
        C1: j STORE 1 +FLAGS (\\Seen)
        S1: re:\\* 1 FETCH \\(UID 1 FLAGS \\(\\\\Seen\\) MODSEQ \\(\\d+\\)\\)
        S1: j OK STORE completed
        P2:
        C1: k STORE 1 +FLAGS (\\Flagged)
        S1: re:\\* 1 FETCH \\(UID 1 FLAGS \\(\\\\Flagged \\\\Seen\\) MODSEQ \\(\\d+\\)\\)
        S1: k OK STORE completed
        P2:
        S2: re:\\* 1 FETCH \\(UID 1 FLAGS \\(\\\\Flagged\\) MODSEQ \\(\\d+\\)\\)
        C2: DONE
        S2: i OK IDLE terminated
        C2: l STATUS "Shared/support/INBOX" (UNSEEN)
        S2: * STATUS "Shared/support/INBOX" (UNSEEN 1)
        S2: l OK STATUS completed
        C1: m UID SEARCH UNSEEN
        S1: * ESEARCH (TAG "m") UID ALL 2
        S1: m OK UID SEARCH completed
        C2: n UID SEARCH SEEN
        S2: * ESEARCH (TAG "n") UID ALL 2
        S2: n OK UID SEARCH completed
        C1: o FETCH 2 BODY[]
        S1: * 2 FETCH (BODY[] {24}
        S1: Subject: Note
        S1:
        S1: hello
        S1: re: FLAGS \\(\\\\Seen\\) MODSEQ \\(\\d+\\)\\)
        S1: o OK FETCH completed
        C2: p FETCH 2 (FLAGS)
        S2: * 2 FETCH (FLAGS (\\Seen))
        S2: p OK FETCH completed
        """,
        team=True,
    )


def test_notify_follows_shared_mailboxes_as_rights_change(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C2: a NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName)) (SUBTREE "Other Users" (MessageNew MessageExpunge MailboxName))
        S2: a OK NOTIFY completed
        C2: b IDLE
        S2: + idling
        C1: c SETACL INBOX bob@example.org lr
        S1: c OK SETACL completed
        P2:
        S2: * LIST () "/" "Other Users/alice/INBOX"
        C1: d APPEND INBOX {note}
        S1: d OK ...
        P2:
        S2: re:\\* STATUS "Other Users/alice/INBOX" \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+ UNSEEN 1\\)
        C1: e SETACL INBOX bob@example.org l
        S1: e OK SETACL completed
        P2:
        C1: f APPEND INBOX {note}
        S1: f OK ...
        P2:
        C1: g DELETEACL INBOX bob@example.org
        S1: g OK DELETEACL completed
        P2:
        S2: * LIST (\\NonExistent) "/" "Other Users/alice/INBOX"
        C2: DONE
        S2: b OK IDLE terminated
        """,
    )


def test_notify_reports_a_members_own_unseen_in_a_team_mailbox(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C2: a NOTIFY SET (SUBTREE "Shared" (MessageNew MessageExpunge FlagChange))
        S2: a OK NOTIFY completed
        C1: b APPEND "Shared/support/INBOX" {note}
        S1: b OK ...
        C2: c NOOP
        S2: re:\\* STATUS "Shared/support/INBOX" \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+ UNSEEN 1\\)
        S2: c OK NOOP completed
        C1: d SELECT "Shared/support/INBOX"
        S1: ...
        S1: d OK [READ-WRITE] SELECT completed
        C1: e STORE 1 +FLAGS.SILENT (\\Seen)
        S1: e OK STORE completed
        C2: f NOOP
        S2: f OK NOOP completed
        C1: g STORE 1 +FLAGS.SILENT (\\Flagged)
        S1: g OK STORE completed
        C2: h NOOP
        S2: re:\\* STATUS "Shared/support/INBOX" \\(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \\d+ UNSEEN 1\\)
        S2: h OK NOOP completed
        """,
        team=True,
    )


def test_a_team_mailbox_counts_against_the_teams_quota(tmp_path: Path) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as scene:
            await scene.add_user(BOB)
            team = await scene.store.create_team("support@example.org", [ADDRESS, BOB])
            await scene.store.set_quota(team.id, None, 1)
            await scene.store.set_quota(scene.account.id, None, 10)
            await scene.login(1)
            await scene.run(
                """
                C1: a APPEND "Shared/support/INBOX" {note}
                S1: a OK ...
                C1: b APPEND "Shared/support/Archive" {note}
                S1: b NO [OVERQUOTA] ...
                C1: c APPEND INBOX {note}
                S1: c OK ...
                C1: d GETQUOTAROOT "Shared/support/Sent"
                S1: * QUOTAROOT "Shared/support/Sent" "Shared/support"
                S1: * QUOTA "Shared/support" (MESSAGE 1 1)
                S1: d OK GETQUOTAROOT completed
                C1: e GETQUOTA "Shared/support"
                S1: * QUOTA "Shared/support" (MESSAGE 1 1)
                S1: e OK GETQUOTA completed
                C1: f GETQUOTA ""
                S1: * QUOTA "" (MESSAGE 1 10)
                S1: f OK GETQUOTA completed
                C1: g GETQUOTA "Shared/sales"
                S1: g NO [NONEXISTENT] No such quota root
                """,
                messages={"note": NOTE},
            )

    asyncio.run(main())


def test_subscriptions_to_team_mailboxes_are_each_members_own(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C2: a SUBSCRIBE "Shared/support/INBOX"
        S2: a OK SUBSCRIBE completed
        C2: b LSUB "" "Shared/*"
        S2: * LSUB () "/" "Shared/support/INBOX"
        S2: b OK LSUB completed
        C1: c LSUB "" "Shared/*"
        S1: c OK LSUB completed
        C1: d LIST (SUBSCRIBED) "" "Shared/*"
        S1: d OK LIST completed
        C3: e LIST (SUBSCRIBED) "" "Shared/*"
        S3: * LIST (\\HasNoChildren \\Subscribed) "/" "Shared/support/INBOX"
        S3: e OK LIST completed
        """,
        team=True,
    )


def test_a_team_folder_a_member_may_not_see_stays_unseen_when_its_name_is_tried(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with Scene(tmp_path) as scene:
            await scene.add_user(BOB)
            team = await scene.store.create_team("support@example.org", [ADDRESS, BOB])
            hidden = await scene.store.create_mailbox(team.id, "Managers")
            await scene.store.delete_rights(hidden.id, BOB)
            await scene.login(2, address=BOB)
            await scene.run(
                """
                C2: a CREATE "Shared/support/Managers"
                S2: a NO [NOPERM] Permission denied
                C2: b CREATE "Shared/support/Nothing/Here"
                S2: b NO [NOPERM] Permission denied
                C2: c RENAME "Shared/support/Junk" "Shared/support/Managers"
                S2: c NO [NOPERM] Permission denied
                C2: d CREATE "Shared/support/Visible"
                S2: d OK [MAILBOXID ...] CREATE completed
                C2: e CREATE "Shared/support/Visible"
                S2: e NO [ALREADYEXISTS] mailbox exists
                C2: f LIST "" "Shared/support/M*"
                S2: f OK LIST completed
                """
            )

    asyncio.run(main())


def test_copies_out_of_and_into_a_team_mailbox_keep_the_users_read_state(tmp_path: Path) -> None:
    acl_transcript(
        tmp_path,
        """
        C1: a ENABLE IMAP4rev2
        S1: ...
        S1: a OK ...
        C1: b APPEND "Shared/support/INBOX" {note}
        S1: b OK ...
        C1: c APPEND "Shared/support/INBOX" {note}
        S1: c OK ...
        C1: d SELECT "Shared/support/INBOX"
        S1: ...
        S1: d OK [READ-WRITE] SELECT completed
        C1: e STORE 1 +FLAGS.SILENT (\\Seen)
        S1: e OK STORE completed
        C1: f COPY 1:2 Archive
        S1: f OK [COPYUID ...] COPY completed
        C1: g COPY 1:2 "Shared/support/Archive"
        S1: g OK [COPYUID ...] COPY completed
        C1: h SELECT Archive
        S1: ...
        S1: h OK [READ-WRITE] SELECT completed
        C1: i FETCH 1:2 (FLAGS)
        S1: * 1 FETCH (FLAGS (\\Seen))
        S1: * 2 FETCH (FLAGS ())
        S1: i OK FETCH completed
        C1: j STATUS "Shared/support/Archive" (MESSAGES UNSEEN)
        S1: * STATUS "Shared/support/Archive" (MESSAGES 2 UNSEEN 1)
        S1: j OK STATUS completed
        C2: k STATUS "Shared/support/Archive" (MESSAGES UNSEEN)
        S2: * STATUS "Shared/support/Archive" (MESSAGES 2 UNSEEN 2)
        S2: k OK STATUS completed
        """,
        team=True,
    )
