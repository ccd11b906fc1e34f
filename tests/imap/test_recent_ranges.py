"""IMAP4rev1 \\Recent in a long session (roost.imap.selected): the ranges a session claimed
are forgotten once their messages are expunged, and what is still recent stays so."""

from __future__ import annotations

from roost.imap.selected import Reporting, SelectedMailbox
from roost.model import MailboxId, ModSeq, Uid, UidValidity
from roost.store.api import Changes


def test_expunged_claims_are_forgotten_and_the_rest_still_count() -> None:
    view = SelectedMailbox(
        mailbox_id=MailboxId(1),
        uidvalidity=UidValidity(1),
        uids=range(1, 21),
        modseq=ModSeq(20),
        readonly=False,
    )
    for uid in range(2, 21, 2):  # another session claimed every odd one
        view.claim_recent(uid, uid + 1)
    view.claim_recent(21, 23)  # claimed before the view has heard of 21 and 22
    assert view.recent_count() == 10

    gone = (*range(1, 17), 18)
    changes = Changes(
        highestmodseq=ModSeq(30), uidnext=Uid(21), changed=(), expunged=tuple(map(Uid, gone))
    )
    view.apply(changes, allow_expunge=True, report=Reporting())

    assert list(view.uids) == [17, 19, 20]
    assert view.recent_count() == 1
    assert view.recent_ranges() == [(20, 22)]
    assert not view.is_recent(18) and view.is_recent(20) and view.is_recent(22)
