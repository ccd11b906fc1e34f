"""Out of office: the units of work behind get/set_out_of_office and claim_auto_reply
(SQLite migration 0018, PostgreSQL 0006).

The setting is one row per account (none: off). `claim_auto_reply` is what keeps an
account from answering a sender more than once in a while (RFC 3834 §2): one statement
records the reply and tells whether this call may send it, so two deliveries from the same
sender at once, in two workers, send one reply between them.
"""

from __future__ import annotations

from datetime import datetime

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId
from roost.store.api import OofReply, OofState, OutOfOffice
from roost.store.engines.api import Tx
from roost.store.mail.instants import from_micros, to_micros

__all__ = ["claim_auto_reply", "get_out_of_office", "set_out_of_office"]

_AUDIENCES = ("internal", "known", "unknown")


def _reply(text: str | None, html: int) -> OofReply | None:
    return None if text is None else OofReply(text=text, html=bool(html))


def _instant(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


def get_out_of_office(tx: Tx, account: AccountId) -> OutOfOffice:
    row = tx.one(
        "SELECT state, start_time, end_time, internal_message, internal_html, known_message, "
        "known_html, unknown_message, unknown_html FROM out_of_office WHERE account_id = ?",
        (account,),
    )
    if row is None:
        return OutOfOffice()
    return OutOfOffice(
        state=OofState(row[0]),
        start=_instant(row[1]),
        end=_instant(row[2]),
        internal=_reply(row[3], row[4]),
        external_known=_reply(row[5], row[6]),
        external_unknown=_reply(row[7], row[8]),
    )


def set_out_of_office(tx: Tx, account: AccountId, oof: OutOfOffice) -> None:
    """Replaces the setting. NONEXISTENT if there is no such account. Turning it on again
    forgets whom it answered: a new absence answers everyone once more."""
    if tx.one("SELECT 1 FROM accounts WHERE id = ?", (account,)) is None:
        raise MailError(MailErrorKind.NONEXISTENT, "no such account")
    before = get_out_of_office(tx, account)
    replies = (oof.internal, oof.external_known, oof.external_unknown)
    columns = ", ".join(f"{a}_message, {a}_html" for a in _AUDIENCES)
    values: list[object] = [account, int(oof.state)]
    values += [None if oof.start is None else to_micros(oof.start)]
    values += [None if oof.end is None else to_micros(oof.end)]
    for reply in replies:
        values += [None, 0] if reply is None else [reply.text, int(reply.html)]
    tx.execute("DELETE FROM out_of_office WHERE account_id = ?", (account,))
    tx.execute(
        f"INSERT INTO out_of_office (account_id, state, start_time, end_time, {columns}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )
    if before.state is OofState.OFF and oof.state is not OofState.OFF:
        tx.execute("DELETE FROM auto_replies WHERE account_id = ?", (account,))


def claim_auto_reply(
    tx: Tx, account: AccountId, sender: str, now: datetime, since: datetime
) -> bool:
    """Records a reply to sender at `now` unless one was recorded at or after `since`;
    True if this call recorded it (and so may send the reply)."""
    changed = tx.execute(
        "INSERT INTO auto_replies (account_id, sender, sent_at) VALUES (?, ?, ?) "
        "ON CONFLICT (account_id, sender) DO UPDATE SET sent_at = excluded.sent_at "
        "WHERE auto_replies.sent_at < ?",
        (account, sender.lower(), to_micros(now), to_micros(since)),
    )
    return changed == 1
