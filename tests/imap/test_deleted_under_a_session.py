"""What a session hears when what it stands on goes away (issue 10: the store publishes,
so another session's or another process's delete reaches it): the selected mailbox deleted
by another connection ends the session with a BYE (nothing else can tell the client its
messages are gone), at once while it idles and before its next tagged reply otherwise;
its own DELETE of another mailbox does not."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.imap.transcript import transcript

Run = Callable[..., None]

LUNCH = """\
From: Bob <bob@example.org>
Subject: Lunch

See you at noon.
"""


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages={"lunch": LUNCH}, login=(1, 2))


def test_selected_mailbox_deleted_while_idling(run: Run) -> None:
    run(
        """
        C2: a CREATE Work
        S2: a OK ...
        C2: b APPEND Work {lunch}
        S2: b OK ...
        C1: c SELECT Work
        S1: ...
        S1: c OK [READ-WRITE] SELECT completed
        C1: d IDLE
        S1: + idling
        C2: e DELETE Work
        S2: e OK DELETE completed
        P1:
        S1: * BYE The selected mailbox was deleted
        """
    )


def test_selected_mailbox_deleted_between_commands(run: Run) -> None:
    run(
        """
        C2: a CREATE Work
        S2: a OK ...
        C1: c SELECT Work
        S1: ...
        S1: c OK [READ-WRITE] SELECT completed
        C2: e DELETE Work
        S2: e OK DELETE completed
        C1: f NOOP
        S1: * BYE The selected mailbox was deleted
        """
    )


def test_deleting_another_mailbox_leaves_the_session_alone(run: Run) -> None:
    run(
        """
        C1: a CREATE Work
        S1: a OK ...
        C1: b SELECT INBOX
        S1: ...
        S1: b OK [READ-WRITE] SELECT completed
        C2: c DELETE Work
        S2: c OK DELETE completed
        C1: d NOOP
        S1: d OK NOOP completed
        """
    )
