"""MULTISEARCH (RFC 7377) as transcripts: ESEARCH IN (...) runs the one SEARCH implementation
in each named mailbox of the logged-in account and answers per mailbox with UIDs."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest

from roost.delivery import analyse
from roost.store.api import NewMessage
from tests.imap.test_transcripts import LUNCH, MESSAGES, Run
from tests.imap.transcript import Scene, crlf, password_hash, transcript


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages=MESSAGES, login=(1,))


FILLED = """
C1: f1 APPEND INBOX (\\Seen) {lunch} {report} {lunch}
S1: f1 OK ...
C1: f2 APPEND Archive {report} (\\Seen) {lunch}
S1: f2 OK ...
C1: f3 CREATE Lists/Go/Old
S1: f3 OK ...
C1: f4 APPEND Lists {lunch}
S1: f4 OK ...
C1: f5 APPEND Lists/Go {lunch}
S1: f5 OK ...
C1: f6 APPEND Lists/Go/Old {lunch}
S1: f6 OK ...
"""


def test_esearch_in_personal_mailboxes_subtree_and_subtree_one(run: Run) -> None:
    # In d, RFC 9051 §6.4.8: "2:*" in a mailbox whose largest UID is 1 means "1:2".
    run(
        FILLED
        + """
        C1: a ESEARCH IN (PERSONAL) RETURN (ALL COUNT) SUBJECT Lunch
        S1: * ESEARCH (TAG "a" MAILBOX "INBOX" UIDVALIDITY ...) UID ALL 1,3 COUNT 2
        S1: * ESEARCH (TAG "a" MAILBOX "Archive" UIDVALIDITY ...) UID ALL 2 COUNT 1
        S1: * ESEARCH (TAG "a" MAILBOX "Drafts" UIDVALIDITY ...) UID COUNT 0
        S1: * ESEARCH (TAG "a" MAILBOX "Junk" UIDVALIDITY ...) UID COUNT 0
        S1: * ESEARCH (TAG "a" MAILBOX "Lists" UIDVALIDITY ...) UID ALL 1 COUNT 1
        S1: * ESEARCH (TAG "a" MAILBOX "Lists/Go" UIDVALIDITY ...) UID ALL 1 COUNT 1
        S1: * ESEARCH (TAG "a" MAILBOX "Lists/Go/Old" UIDVALIDITY ...) UID ALL 1 COUNT 1
        S1: * ESEARCH (TAG "a" MAILBOX "Sent" UIDVALIDITY ...) UID COUNT 0
        S1: * ESEARCH (TAG "a" MAILBOX "Trash" UIDVALIDITY ...) UID COUNT 0
        S1: a OK ESEARCH completed
        C1: b ESEARCH IN (MAILBOXES (Archive INBOX Nowhere)) UNSEEN
        S1: * ESEARCH (TAG "b" MAILBOX "INBOX" UIDVALIDITY ...) UID ALL 2:3
        S1: * ESEARCH (TAG "b" MAILBOX "Archive" UIDVALIDITY ...) UID ALL 1
        S1: b OK ESEARCH completed
        C1: c ESEARCH IN (SUBTREE-ONE Lists) RETURN (MIN MAX) ALL
        S1: * ESEARCH (TAG "c" MAILBOX "Lists" UIDVALIDITY ...) UID MIN 1 MAX 1
        S1: * ESEARCH (TAG "c" MAILBOX "Lists/Go" UIDVALIDITY ...) UID MIN 1 MAX 1
        S1: c OK ESEARCH completed
        C1: d ESEARCH IN (SUBTREE Lists/Go INBOXES) UID 2:* FROM bob
        S1: * ESEARCH (TAG "d" MAILBOX "INBOX" UIDVALIDITY ...) UID ALL 3
        S1: * ESEARCH (TAG "d" MAILBOX "Lists/Go" UIDVALIDITY ...) UID ALL 1
        S1: * ESEARCH (TAG "d" MAILBOX "Lists/Go/Old" UIDVALIDITY ...) UID ALL 1
        S1: d OK ESEARCH completed
        C1: e UNSUBSCRIBE Archive
        S1: e OK UNSUBSCRIBE completed
        C1: g ESEARCH IN (SUBSCRIBED) RETURN (COUNT) SEEN
        S1: * ESEARCH (TAG "g" MAILBOX "INBOX" UIDVALIDITY ...) UID COUNT 1
        S1: * ESEARCH (TAG "g" MAILBOX "Drafts" UIDVALIDITY ...) UID COUNT 0
        S1: * ESEARCH (TAG "g" MAILBOX "Junk" UIDVALIDITY ...) UID COUNT 0
        S1: * ESEARCH (TAG "g" MAILBOX "Sent" UIDVALIDITY ...) UID COUNT 0
        S1: * ESEARCH (TAG "g" MAILBOX "Trash" UIDVALIDITY ...) UID COUNT 0
        S1: g OK ESEARCH completed
        """
    )


def test_esearch_selected_save_and_sequence_numbers(run: Run) -> None:
    run(
        FILLED
        + """
        C1: a ESEARCH IN (SELECTED) ALL
        S1: a BAD No mailbox selected
        C1: b ESEARCH ALL
        S1: b BAD No mailbox selected
        C1: c ESEARCH IN (PERSONAL) RETURN (SAVE) ALL
        S1: c BAD SAVE needs the selected mailbox as the only source (RFC 7377 §2)
        C1: d SELECT INBOX
        S1: ...
        S1: d OK [READ-WRITE] SELECT completed
        C1: e ESEARCH IN (SELECTED) RETURN (SAVE) SUBJECT Lunch
        S1: e OK ESEARCH completed
        C1: f ESEARCH IN (MAILBOXES INBOX) $
        S1: * ESEARCH (TAG "f" MAILBOX "INBOX" UIDVALIDITY ...) UID ALL 1,3
        S1: f OK ESEARCH completed
        C1: g ESEARCH IN (MAILBOXES Archive) $
        S1: g NO Sequence numbers and $ name messages of the selected mailbox only
        C1: h ESEARCH IN (INBOXES Lists) 2
        S1: h BAD unknown mailbox filter LISTS
        C1: i ESEARCH IN (SELECTED) RETURN (MIN) 2:3
        S1: * ESEARCH (TAG "i" MAILBOX "INBOX" UIDVALIDITY ...) UID MIN 2
        S1: i OK ESEARCH completed
        C1: j ESEARCH IN (SELECTED) CHARSET KOI8-R ALL
        S1: j NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset
        C1: k ESEARCH IN (SELECTED MAILBOXES Archive) RETURN (COUNT) MODSEQ 1
        S1: * OK [HIGHESTMODSEQ ...] Highest
        S1: * ESEARCH (TAG "k" MAILBOX "INBOX" UIDVALIDITY ...) UID COUNT 3 MODSEQ ...
        S1: * ESEARCH (TAG "k" MAILBOX "Archive" UIDVALIDITY ...) UID COUNT 2 MODSEQ ...
        S1: k OK ESEARCH completed
        """
    )


def test_esearch_only_searches_the_logged_in_account(tmp_path: Path) -> None:
    # Bob has two Lunch messages in his INBOX and a mailbox "Secret"; Alice sees neither.
    async def main() -> None:
        async with Scene(tmp_path) as scene:
            bob = await scene.store.create_account("bob@example.org", password_hash())
            await scene.store.create_mailbox(bob.id, "Secret")
            data = crlf(LUNCH)
            for name in ("INBOX", "Secret"):
                mailbox = await scene.store.find_mailbox(bob.id, name)
                message = NewMessage(data=data, parsed=analyse(data))
                await scene.store.append(mailbox.id, [message, message])
            await scene.login(1)
            await scene.run(
                """
                C1: a APPEND INBOX {lunch}
                S1: a OK ...
                C1: b ESEARCH IN (PERSONAL) RETURN (COUNT) SUBJECT Lunch
                S1: * ESEARCH (TAG "b" MAILBOX "INBOX" UIDVALIDITY ...) UID COUNT 1
                S1: * ESEARCH (TAG "b" MAILBOX "Archive" UIDVALIDITY ...) UID COUNT 0
                S1: * ESEARCH (TAG "b" MAILBOX "Drafts" UIDVALIDITY ...) UID COUNT 0
                S1: * ESEARCH (TAG "b" MAILBOX "Junk" UIDVALIDITY ...) UID COUNT 0
                S1: * ESEARCH (TAG "b" MAILBOX "Sent" UIDVALIDITY ...) UID COUNT 0
                S1: * ESEARCH (TAG "b" MAILBOX "Trash" UIDVALIDITY ...) UID COUNT 0
                S1: b OK ESEARCH completed
                C1: c ESEARCH IN (MAILBOXES (Secret INBOX) SUBTREE Secret) RETURN (COUNT) ALL
                S1: * ESEARCH (TAG "c" MAILBOX "INBOX" UIDVALIDITY ...) UID COUNT 1
                S1: c OK ESEARCH completed
                """,
                messages=MESSAGES,
            )

    asyncio.run(main())
