"""Mailbox commands: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (LIST-EXTENDED,
LIST-STATUS, SPECIAL-USE), LSUB, NAMESPACE, STATUS (RFC 9051 §6.3; RFC 5258, 5819, 6154;
STATUS APPENDLIMIT from RFC 7889 and DELETED-STORAGE from RFC 9208)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from roost.errors import MailError, MailErrorKind
from roost.imap.access import Visible, find, place, require, shared, visible
from roost.imap.namespaces import NAMESPACE_RESPONSE
from roost.imap.reply import Reply, bad, no, ok
from roost.model import AccountId, ModSeq
from roost.proto.imap import commands as c
from roost.proto.imap.listpattern import ListPattern
from roost.proto.imap.responses import untagged
from roost.store.api import Mailbox, MailboxStatus

if TYPE_CHECKING:
    from roost.imap.session import Session

SPECIAL_USES = frozenset(
    {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"}
)
STATUS_ITEMS = frozenset(
    {
        "MESSAGES",
        "UIDNEXT",
        "UIDVALIDITY",
        "UNSEEN",
        "DELETED",
        "SIZE",
        "RECENT",
        "HIGHESTMODSEQ",
        "MAILBOXID",
        "APPENDLIMIT",
        "DELETED-STORAGE",
    }
)


def mailbox_id(mailbox: Mailbox) -> str:
    """RFC 8474 MAILBOXID: stable across renames, never reused (ids only grow)."""
    return f"F{mailbox.id}"


def _check_name(name: str) -> None:
    from roost.errors import ProtocolError

    if not name or any(not part for part in name.split("/")):
        raise ProtocolError("invalid mailbox name")
    if any(ch in name for ch in "*%") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise ProtocolError("mailbox names may not contain wildcards or control characters")


async def create(s: Session, cmd: c.Create) -> Reply:
    assert s.account is not None
    name = s.decode_mailbox(cmd.mailbox, new=True)
    _check_name(name)
    if name == "INBOX":
        return no("INBOX always exists", "ALREADYEXISTS")
    uses = {u.capitalize() if u.startswith("\\") else u for u in cmd.special_use}
    uses = {"\\" + u[1:].capitalize() for u in uses}
    if not uses <= SPECIAL_USES or len(uses) > 1:
        return no("Unsupported special-use attribute", "USEATTR")
    owner, there = await place(s, name)
    async with _unseen_taken(s, owner, name):
        created = await s.store.create_mailbox(owner, there, next(iter(uses), None))
    return ok("CREATE completed", f"MAILBOXID ({mailbox_id(created)})")


@contextlib.asynccontextmanager
async def _unseen_taken(s: Session, owner: AccountId, name: str) -> AsyncIterator[None]:
    """A name taken in someone else's tree by a mailbox the user may not look up is
    refused as any name they may not create there (NOPERM), not as taken: that would tell
    them it exists (RFC 4314 §4)."""
    try:
        yield
    except MailError as exc:
        assert s.account is not None
        if exc.kind is not MailErrorKind.ALREADY_EXISTS or owner == s.account.id:
            raise
        if not any(v.name == name and v.may("l") for v in await shared(s)):
            raise MailError(MailErrorKind.NO_PERMISSION, "Permission denied") from None
        raise


async def delete(s: Session, cmd: c.Delete) -> Reply:
    assert s.account is not None
    name = s.decode_mailbox(cmd.mailbox)
    if name == "INBOX":
        return no("INBOX cannot be deleted", "CANNOT")
    target = await find(s, name)
    require(target, "x")  # RFC 4314 §4 DELETE
    await s.store.delete_mailbox(target.account, target.mailbox.name)
    if s.selected is not None and s.selected.mailbox_id == target.mailbox.id:
        s.deselect()
    return ok("DELETE completed")


async def rename(s: Session, cmd: c.Rename) -> Reply:
    assert s.account is not None
    old, new = s.decode_mailbox(cmd.old), s.decode_mailbox(cmd.new, new=True)
    _check_name(new)
    if new == "INBOX":
        return no("INBOX already exists", "ALREADYEXISTS")
    source = await find(s, old)
    require(source, "x")  # RFC 4314 §4 RENAME: "x" on the old name, "k" where it goes
    owner, there = await place(s, new)
    if owner != source.account:
        return no("A mailbox cannot move to another owner", "CANNOT")
    async with _unseen_taken(s, owner, new):
        await s.store.rename_mailbox(owner, source.mailbox.name, there)
    return ok("RENAME completed")


async def subscribe(s: Session, cmd: c.Subscribe | c.Unsubscribe) -> Reply:
    assert s.account is not None
    name = s.decode_mailbox(cmd.mailbox)
    on = isinstance(cmd, c.Subscribe)
    if on:
        require(await find(s, name), "l")  # RFC 9051 §6.3.7: must exist; RFC 4314 §4
    # Subscriptions are the user's own, by the name they see (a shared one too).
    await s.store.set_subscribed(s.account.id, name, on)
    return ok(f"{'SUBSCRIBE' if on else 'UNSUBSCRIBE'} completed")


async def account_modseq(s: Session) -> ModSeq:
    """The account's mailbox-change modseq now (what a mailbox-level hint carries)."""
    assert s.account is not None
    modseq, _ = await s.store.mailbox_changes_since(s.account.id, ModSeq(2**62))
    return modseq


async def namespace(s: Session, cmd: c.Namespace) -> Reply:
    await s.send(untagged(NAMESPACE_RESPONSE))  # roost.imap.namespaces
    return ok("NAMESPACE completed")


async def status(s: Session, cmd: c.Status) -> Reply:
    assert s.account is not None
    unknown = set(cmd.items) - STATUS_ITEMS
    if unknown:
        return bad(f"unknown STATUS item {sorted(unknown)[0]}")
    if "HIGHESTMODSEQ" in cmd.items:
        await s.enable_condstore()
    mailbox = await find(s, s.decode_mailbox(cmd.mailbox))
    require(mailbox, "r")  # RFC 4314 §4 STATUS
    status = await s.store.status(mailbox.mailbox.id, viewer=_viewer(s, mailbox))
    await s.send(status_line(s, status, cmd.items, mailbox.name))
    return ok("STATUS completed")


def _viewer(s: Session, mailbox: Visible) -> AccountId | None:
    """Whose \\Seen UNSEEN counts: the user's own in a team mailbox (issue 15)."""
    assert s.account is not None
    return s.account.id if mailbox.private_seen else None


def status_line(
    s: Session, st: MailboxStatus, items: tuple[str, ...], name: str | None = None
) -> bytes:
    values: dict[str, int | str] = {
        "MESSAGES": st.messages,
        "UIDNEXT": st.mailbox.uidnext,
        "UIDVALIDITY": st.mailbox.uidvalidity,
        "UNSEEN": st.unseen,
        "DELETED": st.deleted,
        "SIZE": st.size,
        "RECENT": st.recent,
        "HIGHESTMODSEQ": st.mailbox.highestmodseq,  # RFC 7162 §3.1.6
        # RFC 7889 §3.2: the same limit as the APPENDLIMIT=n capability.
        "APPENDLIMIT": s.config.max_message_size,
        # RFC 9208 §4.2: what EXPUNGE would free, in the STORAGE unit of 1024 octets.
        "DELETED-STORAGE": -(-st.deleted_size // 1024),
    }
    values["MAILBOXID"] = f"({mailbox_id(st.mailbox)})"
    pairs = " ".join(f"{item} {values[item]}" for item in items if item in values)
    shown = s.render_mailbox(st.mailbox.name if name is None else name)
    return untagged(b"STATUS " + shown + f" ({pairs})".encode())


# --- LIST ------------------------------------------------------------------------


async def list_(s: Session, cmd: c.List) -> Reply:
    assert s.account is not None
    verb = "LSUB" if cmd.lsub else "LIST"
    if cmd.patterns == ("",) and not cmd.selection:
        # RFC 9051 §6.3.9: an empty pattern asks for the hierarchy delimiter.
        await s.send(untagged(f'{verb} (\\Noselect) "/" ""'))
        return ok(f"{verb} completed")
    reference = s.decode_list_name(cmd.reference)
    # RFC 9051 §6.3.9; matched in linear time, whatever the wildcards (ListPattern)
    patterns = [ListPattern(reference + s.decode_list_name(p)) for p in cmd.patterns]
    selection = set(cmd.selection) | ({"SUBSCRIBED"} if cmd.lsub else set())
    returns = set(cmd.returns)
    # RFC 4314 §4 LIST: a mailbox shows only to who may look it up ("l").
    found = {v.name: v for v in await visible(s) if v.may("l")}
    # A shared mailbox lists without its special use: the user's own Sent is their Sent,
    # not the team's (a client would otherwise file its copies in either).
    mailboxes = {
        name: v.mailbox if v.owned else dataclasses.replace(v.mailbox, special_use=None)
        for name, v in found.items()
    }
    # The namespaces' own levels ("Shared", "Shared/support") are names that hold others.
    # A shared mailbox the user may not look up, above one they may, lists the same way.
    holders = _ancestors({name for name, v in found.items() if not v.owned}) - set(found)
    # A subscription to a shared name the user may no longer look up lists as
    # \NonExistent, whether the mailbox exists or not (RFC 4314 §4: nothing leaks).
    subscribed = set(await s.store.list_subscriptions(s.account.id))
    names = (
        set(mailboxes)
        | holders
        | (subscribed | _ancestors(subscribed) if "SUBSCRIBED" in selection else set())
    )
    parents = {n.rsplit("/", 1)[0] for n in names if "/" in n}
    for name in sorted(names, key=lambda n: (n != "INBOX", n)):
        matched = any(p.matches(name) for p in patterns)
        child_info = ""
        parent_only = False
        if "SUBSCRIBED" in selection and name not in subscribed:
            recursive = "RECURSIVEMATCH" in selection or cmd.lsub
            if not (recursive and matched and _hidden_subscribed_child(name, subscribed, patterns)):
                continue
            parent_only = True
            child_info = "" if cmd.lsub else ' ("CHILDINFO" ("SUBSCRIBED"))'
        if not matched:
            continue
        mailbox = mailboxes.get(name)
        if "SPECIAL-USE" in selection and (mailbox is None or not mailbox.special_use):
            continue
        attrs = _attributes(name, mailbox, parents, subscribed, selection | returns, cmd.lsub)
        if name in holders:
            attrs = ["\\Noselect", "\\HasChildren"]
        if cmd.lsub and parent_only:
            attrs = ["\\Noselect"]  # RFC 3501 §6.3.9: an unsubscribed parent, listed by "%"
        line = f'{verb} ({" ".join(attrs)}) "/" '.encode()
        line += s.render_mailbox(name) + child_info.encode()
        await s.send(untagged(line))
        if cmd.status_items and mailbox is not None and found[name].may("r"):
            status = await s.store.status(mailbox.id, viewer=_viewer(s, found[name]))
            await s.send(status_line(s, status, cmd.status_items, name))
    return ok(f"{verb} completed")


def _hidden_subscribed_child(name: str, subscribed: set[str], patterns: list[ListPattern]) -> bool:
    """Whether a subscribed descendant of name matches no pattern: then name stands in for
    it, with CHILDINFO (RFC 5258 §3.5) or, in LSUB, as \\Noselect (RFC 3501 §6.3.9)."""
    return any(
        other.startswith(name + "/") and not any(p.matches(other) for p in patterns)
        for other in subscribed
    )


def _ancestors(names: set[str]) -> set[str]:
    """Every superior of the names (a subscribed a/b/c has a and a/b above it)."""
    return {n.rsplit("/", i)[0] for n in names for i in range(1, n.count("/") + 1)}


def _attributes(
    name: str,
    mailbox: Mailbox | None,
    parents: set[str],
    subscribed: set[str],
    options: set[str],
    lsub: bool,
) -> list[str]:
    if lsub:
        return [] if mailbox is not None else ["\\Noselect"]
    attrs = ["\\HasChildren" if name in parents else "\\HasNoChildren"]
    if mailbox is None:
        attrs = ["\\NonExistent"]
    elif mailbox.special_use:
        attrs.append(mailbox.special_use)
    if "SUBSCRIBED" in options and name in subscribed:
        attrs.append("\\Subscribed")
    return attrs
