"""NOTIFY (RFC 5465) as transcripts: connection 1 follows the account, connection 2 changes
it, and connection 1 hears exactly the STATUS and LIST responses its event groups asked for,
at once during IDLE (P1: the notifier woke it) or before its next tagged reply."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest

from roost.smtp.sent import save_sent_copy
from tests.imap.test_transcripts import LUNCH, MESSAGES, Run
from tests.imap.transcript import Scene, crlf, transcript

ALL_EVENTS = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages=MESSAGES, login=(1, 2))


def test_idle_connection_hears_other_mailboxes_and_mailbox_events(run: Run) -> None:
    run(
        f"""
        C1: a NOTIFY SET (PERSONAL ({ALL_EVENTS}))
        S1: a OK NOTIFY completed
        C1: b IDLE
        S1: + idling
        C2: c APPEND Archive {{lunch}}
        S2: c OK ...
        P1:
        S1: * STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ... UNSEEN 1)
        C2: d CREATE Work
        S2: d OK ...
        P1:
        S1: * LIST () "/" "Work"
        C2: e RENAME Work Play
        S2: e OK RENAME completed
        P1:
        S1: * LIST () "/" "Play" ("OLDNAME" ("Work"))
        C2: f SUBSCRIBE Play
        S2: f OK SUBSCRIBE completed
        P1:
        S1: * LIST (\\Subscribed) "/" "Play"
        C2: g UNSUBSCRIBE Play
        S2: g OK UNSUBSCRIBE completed
        P1:
        S1: * LIST () "/" "Play"
        C2: h DELETE Play
        S2: h OK DELETE completed
        P1:
        S1: * LIST (\\NonExistent) "/" "Play"
        C2: i SELECT Archive
        S2: ...
        S2: i OK [READ-WRITE] SELECT completed
        C2: j STORE 1 +FLAGS (\\Seen \\Deleted)
        S2: * 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent \\Seen))
        S2: j OK STORE completed
        P1:
        S1: * STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ... UNSEEN 0)
        C2: k EXPUNGE
        S2: * 1 EXPUNGE
        S2: * 0 RECENT
        S2: k OK EXPUNGE completed
        P1:
        S1: * STATUS "Archive" (MESSAGES 0 UIDNEXT 2 UIDVALIDITY ... UNSEEN 0)
        C1: DONE
        S1: b OK IDLE terminated
        """
    )


def test_without_idle_events_come_before_the_next_tagged_reply(run: Run) -> None:
    run(
        """
        C1: a NOTIFY SET (INBOXES (MessageNew MessageExpunge)) (PERSONAL (MailboxName))
        S1: a OK NOTIFY completed
        C2: b APPEND Archive {lunch}
        S2: b OK ...
        C1: c NOOP
        S1: c OK NOOP completed
        C2: d APPEND INBOX {lunch} {report}
        S2: d OK ...
        C2: e CREATE Lists/Rust
        S2: e OK ...
        C1: f NOOP
        S1: * LIST () "/" "Lists"
        S1: * LIST () "/" "Lists/Rust"
        S1: * STATUS "INBOX" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ... UNSEEN 2)
        S1: f OK NOOP completed
        C2: g SELECT INBOX
        S2: ...
        S2: g OK [READ-WRITE] SELECT completed
        C2: h STORE 1 +FLAGS (\\Seen)
        S2: * 1 FETCH (UID 1 FLAGS (\\Recent \\Seen))
        S2: h OK STORE completed
        C2: i SUBSCRIBE Lists
        S2: i OK SUBSCRIBE completed
        C1: j LIST "" INBOX
        S1: * LIST (\\HasNoChildren) "/" "INBOX"
        S1: j OK LIST completed
        """
    )


def test_first_matching_group_decides_and_none_silences(run: Run) -> None:
    run(
        f"""
        C1: a NOTIFY SET (MAILBOXES Archive NONE) (SUBTREE Lists ({ALL_EVENTS}))
        S1: a OK NOTIFY completed
        C2: b APPEND Archive {{lunch}}
        S2: b OK ...
        C2: c CREATE Lists/Go
        S2: c OK ...
        C2: d APPEND Lists/Go {{lunch}}
        S2: d OK ...
        C2: e CREATE Other
        S2: e OK ...
        C1: f NOOP
        S1: * LIST () "/" "Lists"
        S1: * LIST () "/" "Lists/Go"
        S1: * STATUS "Lists/Go" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ... UNSEEN 1)
        S1: f OK NOOP completed
        C1: g NOTIFY NONE
        S1: g OK NOTIFY completed
        C2: h APPEND Lists/Go {{lunch}}
        S2: h OK ...
        C1: i NOOP
        S1: i OK NOOP completed
        """
    )


def test_notify_set_status_reports_every_watched_mailbox_at_once(run: Run) -> None:
    run(
        """
        C1: a ENABLE CONDSTORE
        S1: * ENABLED CONDSTORE
        S1: a OK ENABLE completed
        C1: b APPEND Archive {lunch}
        S1: b OK ...
        C1: c NOTIFY SET STATUS (SUBSCRIBED (MessageNew MessageExpunge FlagChange))
        S1: * STATUS "INBOX" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ... UNSEEN 0 HIGHESTMODSEQ 1)
        S1: * STATUS "Archive" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ... UNSEEN 1 HIGHESTMODSEQ 2)
        S1: * STATUS "Drafts" ...
        S1: * STATUS "Junk" ...
        S1: * STATUS "Sent" ...
        S1: * STATUS "Trash" ...
        S1: c OK NOTIFY completed
        C2: d UNSUBSCRIBE Junk
        S2: d OK UNSUBSCRIBE completed
        C2: e APPEND Junk {lunch}
        S2: e OK ...
        C2: f APPEND Trash {lunch}
        S2: f OK ...
        C1: g NOOP
        S1: * STATUS "Trash" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ... UNSEEN 1 HIGHESTMODSEQ 2)
        S1: g OK NOOP completed
        """
    )


def test_selected_mailbox_gets_exists_and_fetch_attributes_not_status(run: Run) -> None:
    run(
        """
        C1: a ENABLE IMAP4rev2
        S1: * ENABLED IMAP4rev2
        S1: a OK ENABLE completed
        C1: b SELECT INBOX
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C1: c NOTIFY SET (SELECTED (MessageNew (UID BODY[HEADER.FIELDS (Subject)]) MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))
        S1: c OK NOTIFY completed
        C1: d IDLE
        S1: + idling
        C2: e APPEND INBOX {lunch}
        S2: e OK ...
        P1:
        S1: * 1 EXISTS
        S1: * 1 FETCH (UID 1 BODY[HEADER.FIELDS (Subject)] {18}
        S1: Subject: Lunch
        S1:
        S1: )
        C1: DONE
        S1: d OK IDLE terminated
        C1: f FETCH 1 FLAGS
        S1: * 1 FETCH (FLAGS ())
        S1: f OK FETCH completed
        """
    )


def test_unsupported_events_are_badevent_and_bad_syntax_is_bad(run: Run) -> None:
    supported = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"
    run(
        f"""
        C1: a NOTIFY SET (PERSONAL (MailboxMetadataChange))
        S1: a NO [BADEVENT ({supported})] Unsupported event
        C1: b NOTIFY SET (INBOXES (MessageNew MessageExpunge AnnotationChange))
        S1: b NO [BADEVENT ({supported})] Unsupported event
        C1: c NOTIFY SET (PERSONAL (ServerMetadataChange))
        S1: c NO [BADEVENT ...] Unsupported event
        C1: d NOTIFY SET (PERSONAL (MessageNew))
        S1: d BAD MessageNew and MessageExpunge must be requested together
        C1: e NOTIFY SET (SELECTED (MessageNew (RFC822) MessageExpunge))
        S1: e BAD NOTIFY fetch attributes may not set \\Seen: use BODY.PEEK
        C3: f NOTIFY NONE
        S3: f BAD Log in first
        """
    )


def test_mail_delivered_outside_imap_creates_sent_and_is_reported(tmp_path: Path) -> None:
    # A submitted message re-creates a deleted Sent (roost.smtp.sent); the new mailbox and
    # its message reach a NOTIFY session through the notifier like any IMAP change.
    async def main() -> None:
        async with Scene(tmp_path) as scene:
            await scene.login(1)
            await scene.run(
                f"""
                C1: a NOTIFY SET (PERSONAL ({ALL_EVENTS}))
                S1: a OK NOTIFY completed
                C1: b DELETE Sent
                S1: * LIST (\\NonExistent) "/" "Sent"
                S1: b OK DELETE completed
                """
            )
            data = crlf(LUNCH)
            assert await save_sent_copy(scene.store, scene.account, data, 0)
            await scene.run(
                """
                C1: c NOOP
                S1: * LIST () "/" "Sent"
                S1: * STATUS "Sent" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ... UNSEEN 0)
                S1: c OK NOOP completed
                """
            )

    asyncio.run(main())


def test_subscribed_filter_follows_subscriptions_made_after_notify_set(run: Run) -> None:
    run(
        """
        C1: a NOTIFY SET (SUBSCRIBED (MessageNew MessageExpunge SubscriptionChange))
        S1: a OK NOTIFY completed
        C2: b CREATE Later
        S2: b OK ...
        C2: c APPEND Later {lunch}
        S2: c OK ...
        C1: d NOOP
        S1: d OK NOOP completed
        C2: e SUBSCRIBE Later
        S2: e OK SUBSCRIBE completed
        C1: f NOOP
        S1: * LIST (\\Subscribed) "/" "Later"
        S1: f OK NOOP completed
        C2: g APPEND Later {report}
        S2: g OK ...
        C1: h NOOP
        S1: * STATUS "Later" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ... UNSEEN 2)
        S1: h OK NOOP completed
        C2: i APPEND Later {report}
        S2: i OK ...
        C1: j NOOP
        S1: * STATUS "Later" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY ... UNSEEN 3)
        S1: j OK NOOP completed
        C2: k UNSUBSCRIBE Later
        S2: k OK UNSUBSCRIBE completed
        C2: l APPEND Later {report}
        S2: l OK ...
        C1: m NOOP
        S1: * LIST () "/" "Later"
        S1: m OK NOOP completed
        """
    )


def test_renaming_inbox_reports_both_mailboxes(run: Run) -> None:
    run(
        """
        C1: a NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName))
        S1: a OK NOTIFY completed
        C2: b APPEND INBOX {lunch} {report}
        S2: b OK ...
        C1: c NOOP
        S1: * STATUS "INBOX" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ... UNSEEN 2)
        S1: c OK NOOP completed
        C2: d RENAME INBOX Old
        S2: d OK RENAME completed
        C1: e NOOP
        S1: * LIST () "/" "Old"
        S1: * STATUS "INBOX" (MESSAGES 0 UIDNEXT 3 UIDVALIDITY ... UNSEEN 0)
        S1: * STATUS "Old" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ... UNSEEN 2)
        S1: e OK NOOP completed
        """
    )
