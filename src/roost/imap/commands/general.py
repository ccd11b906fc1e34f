"""Commands valid in any state, and ENABLE (RFC 9051 §6.1, §6.3.1; RFC 2971 ID)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import roost
from roost.imap.reply import Reply, ok
from roost.imap.states import State
from roost.proto.imap import commands as c
from roost.proto.imap.responses import untagged
from roost.proto.imap.strings import render_string

if TYPE_CHECKING:
    from roost.imap.session import Session

# Advertised only for what works.
AUTHENTICATED_CAPABILITIES = (
    "IMAP4rev1",
    "IMAP4rev2",
    "LITERAL+",
    "SASL-IR",
    "ID",
    "ENABLE",
    "IDLE",
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "MOVE",
    "CHILDREN",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "ESEARCH",
    "SEARCHRES",
    "MULTIAPPEND",
    "CATENATE",
    "BINARY",
    "UTF8=ACCEPT",
    "STATUS=SIZE",
    "CONDSTORE",
    "QRESYNC",
    "PREVIEW",
    "SAVEDATE",
    "COMPRESS=DEFLATE",
    "ACL",
    "RIGHTS=texk",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "QUOTA=RES-MESSAGE",
    "SORT",
    "SORT=DISPLAY",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "ESORT",
    "WITHIN",
    "PARTIAL",
    "REPLACE",
    "OBJECTID",
    "UIDONLY",
    "NOTIFY",
    "MULTISEARCH",
    "CONTEXT=SEARCH",
)
ENABLEABLE = frozenset({"IMAP4REV2", "UTF8=ACCEPT", "CONDSTORE", "QRESYNC", "UIDONLY"})


def capabilities(s: Session) -> list[str]:
    """The same extensions before and after login (as Dovecot and Stalwart advertise):
    clients plan with the greeting's list (IDLE, MOVE, CONDSTORE, QRESYNC...), and some
    read capabilities only once. Before login it adds how to log in."""
    # RFC 7889 §3.1: APPENDLIMIT=n holds for every mailbox; the receiver refuses a longer
    # literal with [TOOBIG] before reading it.
    caps = [*AUTHENTICATED_CAPABILITIES, f"APPENDLIMIT={s.config.max_message_size}"]
    if s.state is not State.NOT_AUTHENTICATED:
        return caps
    if not s.conn.secure and s.tls_available:
        caps.append("STARTTLS")
    if s.may_authenticate():
        caps.append("AUTH=PLAIN")
    else:
        caps.append("LOGINDISABLED")
    return caps


async def capability(s: Session, cmd: c.Capability) -> Reply:
    await s.send(untagged("CAPABILITY " + " ".join(capabilities(s))))
    return ok("CAPABILITY completed")


async def noop(s: Session, cmd: c.Noop | c.Check) -> Reply:
    return ok(f"{type(cmd).__name__.upper()} completed")


async def logout(s: Session, cmd: c.Logout) -> Reply:
    # RFC 9051 §6.1.3: BYE, then the tagged OK. Nothing about the selected mailbox may
    # follow the BYE, so the view goes first.
    s.deselect()
    await s.send(untagged("BYE Roost logging out"))
    s.state = State.LOGOUT
    return ok("LOGOUT completed")


async def ident(s: Session, cmd: c.Id) -> Reply:
    # RFC 2971 §3.3: "name" and "version" say which client this is (roost status shows it).
    sent = {key.lower(): value for key, value in cmd.params or ()}
    if sent.get("name"):
        s.live.named(" ".join(v for v in (sent.get("name"), sent.get("version")) if v))
        await s.remember_client()
    fields = (b"name", b"Roost", b"version", roost.__version__.encode())
    await s.send(untagged(b"ID (" + b" ".join(render_string(f) for f in fields) + b")"))
    return ok("ID completed")


async def enable(s: Session, cmd: c.Enable) -> Reply:
    enabled = []
    for name in cmd.capabilities:
        if name not in ENABLEABLE:
            continue  # RFC 5161 §3.1: unknown extensions are ignored
        if name == "IMAP4REV2" and not s.rev2:
            s.rev2 = s.utf8 = True
            enabled.append("IMAP4rev2")
        elif name == "UTF8=ACCEPT" and not s.utf8:
            s.utf8 = True
            enabled.append("UTF8=ACCEPT")
        elif name == "CONDSTORE" and not s.condstore:
            s.condstore = True
            enabled.append("CONDSTORE")
        elif name == "QRESYNC" and not s.qresync:
            # RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
            s.qresync = s.condstore = True
            enabled.append("QRESYNC")
        elif name == "UIDONLY" and not s.uidonly:
            s.uidonly = True
            if s.selected is not None:
                s.selected.uidonly = True
            enabled.append("UIDONLY")
    await s.send(untagged(" ".join(["ENABLED", *enabled])))
    return ok("ENABLE completed")
