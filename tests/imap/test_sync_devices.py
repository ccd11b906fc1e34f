"""Regressions found by the convergence property (test_sync_property.py), as transcripts."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.imap.test_transcripts import MESSAGES, Run
from tests.imap.transcript import transcript


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return functools.partial(transcript, tmp_path, messages=MESSAGES)


def test_silent_store_still_reports_what_another_device_changed(run: Run) -> None:
    # Device 2 flags the message; device 1 has not heard yet when it sets \Seen silently.
    # RFC 9051 §6.4.6 .SILENT spares the client the echo of its own change, but it still
    # has to learn \Flagged: the flags are reported with the next responses.
    run(
        """
        C1: a APPEND INBOX {lunch}
        S1: a OK ...
        C1: b SELECT INBOX
        S1: ...
        S1: b OK ...
        C2: c SELECT INBOX
        S2: ...
        S2: c OK ...
        C2: d STORE 1 +FLAGS (\\Flagged)
        S2: * 1 FETCH (UID 1 FLAGS (\\Flagged))
        S2: d OK STORE completed
        C1: e STORE 1 +FLAGS.SILENT (\\Seen)
        S1: * 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent \\Seen))
        S1: e OK STORE completed
        C1: f STORE 1 +FLAGS.SILENT (\\Answered)
        S1: f OK STORE completed
        C1: g NOOP
        S1: g OK NOOP completed
        C2: h NOOP
        S2: * 1 FETCH (UID 1 FLAGS (\\Answered \\Flagged \\Seen))
        S2: h OK NOOP completed
        """,
        login=(1, 2),
    )
