"""The TRANSACTION state over the maildrop snapshot (RFC 1939 §5, §6): STAT, LIST, UIDL,
RETR, TOP, DELE, RSET, NOOP, and QUIT, which enters UPDATE.

RETR and TOP ask the store for the message by UID first: one an IMAP device expunged since
the snapshot is answered -ERR saying so, never with stale bytes. Whether RETR sets \\Seen is
the server's `pop3_retr_marks_seen` setting; TOP never does. QUIT from TRANSACTION removes
every marked message that still exists in one store transaction, which commits before the
+OK; the store then tells the other sessions of the account (their IDLE hears it at once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.errors import MailError, MailErrorKind
from roost.model import SEEN
from roost.pop3.maildrop import Entry, Maildrop
from roost.proto.pop3 import commands as p
from roost.proto.pop3.responses import canonical, dot_stuff, multiline, ok
from roost.proto.pop3.responses import top as top_of
from roost.store.api import FlagMode, MessageField

if TYPE_CHECKING:
    from roost.pop3.session import Session


def _drop(s: Session) -> Maildrop:
    assert s.maildrop is not None, "TRANSACTION has a maildrop"
    return s.maildrop


async def stat(s: Session, cmd: p.Stat) -> bytes:
    count, octets = _drop(s).totals()
    return ok(f"{count} {octets}")


async def list_(s: Session, cmd: p.List) -> bytes:
    drop = _drop(s)
    if cmd.msg is not None:
        return ok(f"{cmd.msg} {drop.message(cmd.msg).size}")
    count, octets = drop.totals()
    lines = (f"{msg} {entry.size}" for msg, entry in drop.present())
    return multiline(f"{count} messages ({octets} octets)", lines)


async def uidl(s: Session, cmd: p.Uidl) -> bytes:
    drop = _drop(s)
    if cmd.msg is not None:
        return ok(f"{cmd.msg} {drop.unique_id(drop.message(cmd.msg))}")
    lines = (f"{msg} {drop.unique_id(entry)}" for msg, entry in drop.present())
    return multiline("Unique-ID listing follows", lines)


async def retr(s: Session, cmd: p.Retr) -> bytes:
    drop = _drop(s)
    entry = drop.message(cmd.msg)
    message = canonical(await _read(s, drop, entry, cmd.msg))
    if s.config.pop3_retr_marks_seen:
        await s.store.store_flags(drop.mailbox, [entry.uid], FlagMode.ADD, frozenset({SEEN}))
    return ok(f"{len(message)} octets") + dot_stuff(message)


async def top(s: Session, cmd: p.Top) -> bytes:
    drop = _drop(s)
    entry = drop.message(cmd.msg)
    message = canonical(await _read(s, drop, entry, cmd.msg))
    return ok("Top of message follows") + dot_stuff(top_of(message, cmd.lines))


async def dele(s: Session, cmd: p.Dele) -> bytes:
    _drop(s).delete(cmd.msg)
    return ok(f"Message {cmd.msg} deleted")


async def rset(s: Session, cmd: p.Rset) -> bytes:
    drop = _drop(s)
    drop.reset()
    count, octets = drop.totals()
    return ok(f"Maildrop has {count} messages ({octets} octets)")


async def noop(s: Session, cmd: p.Noop) -> bytes:
    return ok()


async def quit_(s: Session, cmd: p.Quit) -> bytes:
    if s.maildrop is None:  # AUTHORIZATION: nothing to change
        s.close()
        return ok("Bye")
    drop = s.maildrop
    s.enter_update()  # RFC 1939 §6: the session closes after this reply, whatever it is
    marked = drop.marked()
    if marked:
        # One transaction, committed before the +OK; the store then tells the other
        # sessions of the account (an idling IMAP device hears it at once).
        await s.store.expunge_uids(drop.mailbox, marked)
    count, _ = drop.totals()
    return ok(f"Bye; {len(marked)} deleted, {count} left on the server")


async def _read(s: Session, drop: Maildrop, entry: Entry, msg: int) -> bytes:
    """The message's bytes, if it is still in the mailbox."""
    rows = await s.store.fetch_fields(drop.mailbox, [entry.uid], (MessageField.BLOB_ID,))
    if not rows:
        raise MailError(MailErrorKind.NONEXISTENT, f"message {msg} was deleted by another client")
    return await s.store.read_blob(rows[0][1])
