"""Parse one complete IMAP command into its dataclass (RFC 9051 §9 formal syntax).

The input is the receiver's segments: line text with literal payloads between them (a
literal always ends its line). Each grammar rule is a small function over a Cursor.
Everything malformed raises ProtocolError carrying the tag once it is known.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from roost.proto.errors import ProtocolError
from roost.proto.imap import commands as c
from roost.proto.imap.cursor import (
    ATOM,
    BASE64,
    MAX_NUMBER64,
    MAX_TAG,
    TAG,
    Cursor,
    Literal,
    SpooledLiteral,
    date_time,
)
from roost.proto.imap.fetchitems import parse_fetch
from roost.proto.imap.notify import parse_notify
from roost.proto.imap.searchkeys import parse_esearch, parse_search, parse_sort, parse_thread
from roost.proto.imap.seqset import SeqSet

# --- the command table --------------------------------------------------------


def parse_command(segments: Sequence[bytes | Literal | SpooledLiteral]) -> c.Command:
    cur = Cursor(segments)
    if not cur.line and len(segments) == 1:
        raise ProtocolError("empty command line")
    raw_tag = TAG.match(cur.line)
    if raw_tag is None:
        raise ProtocolError("missing or invalid tag")
    if raw_tag.end() > MAX_TAG:
        raise ProtocolError(f"tag longer than {MAX_TAG} octets")  # untagged: not echoed
    cur.pos = raw_tag.end()
    cur.tag = raw_tag.group().decode("utf-8", "replace")
    if not cur.take(b" "):
        raise cur.fail("missing command")
    name = cur.match(ATOM, "command name").upper()
    uid = False
    if name == b"UID":
        cur.sp()
        uid = True
        name = cur.match(ATOM, "command name").upper()
        if name not in _UID_COMMANDS:
            raise cur.fail(f"UID {name.decode('ascii', 'replace')} is not a command")
    rule = _COMMANDS.get(name)
    if rule is None:
        raise cur.fail(f"unknown command {name[:30].decode('ascii', 'replace')}")
    command = rule(cur, cur.tag, uid)
    cur.end()
    return command


def _no_args(cls: type[c.Command]) -> Callable[[Cursor, str, bool], c.Command]:
    return lambda cur, tag, uid: cls(tag=tag)


def _login(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    user = cur.astring("user name")
    cur.sp()
    return c.Login(tag=tag, user=user, password=cur.astring("password"))


def _authenticate(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    mechanism = cur.atom("SASL mechanism").upper()
    initial = None
    if cur.take(b" "):
        initial = cur.match(BASE64, "base64 initial response") or None
        if initial is None:
            raise cur.fail("expected base64 initial response or =")
    return c.Authenticate(tag=tag, mechanism=mechanism, initial=initial)


def _enable(cur: Cursor, tag: str, uid: bool) -> c.Command:
    caps: list[str] = []
    while cur.take(b" "):
        caps.append(cur.atom("capability").upper())
    if not caps:
        raise cur.fail("ENABLE needs at least one capability")
    return c.Enable(tag=tag, capabilities=tuple(caps))


def _id(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    if cur.take(b"NIL"):
        return c.Id(tag=tag, params=None)
    params: list[tuple[str, str | None]] = []

    def pair() -> None:
        key = cur.string("ID field name")
        cur.sp()
        params.append((key, cur.nstring()))

    cur.parenthesised(pair)
    return c.Id(tag=tag, params=tuple(params))


def _select(readonly: bool) -> Callable[[Cursor, str, bool], c.Command]:
    def rule(cur: Cursor, tag: str, uid: bool) -> c.Command:
        cur.sp()
        mailbox = cur.mailbox()
        condstore = False
        qresync: c.QResync | None = None

        def param() -> None:
            nonlocal condstore, qresync
            name = cur.atom("select parameter").upper()
            if name == "CONDSTORE":
                condstore = True
            elif name == "QRESYNC":
                cur.sp()
                qresync = _qresync(cur)
            else:
                raise cur.fail(f"unsupported SELECT parameter {name[:30]}")

        if cur.take(b" "):
            cur.parenthesised(param)
        return c.Select(
            tag=tag, mailbox=mailbox, readonly=readonly, condstore=condstore, qresync=qresync
        )

    return rule


def _qresync(cur: Cursor) -> c.QResync:
    """ "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
    (RFC 7162 §7)."""
    cur.expect(b"(")
    uidvalidity = cur.number(nonzero=True)
    cur.sp()
    modseq = cur.number(MAX_NUMBER64, nonzero=True)
    known: SeqSet | None = None
    seq_match: tuple[SeqSet, SeqSet] | None = None
    if cur.take(b" "):
        if cur.peek() != b"(":
            known = cur.seqset()
            cur.take(b" ")
        if cur.take(b"("):
            msns = cur.seqset()
            cur.sp()
            seq_match = (msns, cur.seqset())
            cur.expect(b")")
    cur.expect(b")")
    return c.QResync(uidvalidity=uidvalidity, modseq=modseq, known_uids=known, seq_match=seq_match)


def _mailbox_command(cls: type[c.Delete | c.Subscribe | c.Unsubscribe]) -> Callable[..., c.Command]:
    def rule(cur: Cursor, tag: str, uid: bool) -> c.Command:
        cur.sp()
        return cls(tag=tag, mailbox=cur.mailbox())

    return rule


def _create(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    mailbox = cur.mailbox()
    uses: list[str] = []
    if cur.take(b" "):

        def param() -> None:
            cur.expect(b"USE", "USE")
            cur.sp()
            uses.extend(cur.flag_list())

        cur.parenthesised(param)
    return c.Create(tag=tag, mailbox=mailbox, special_use=tuple(uses))


def _rename(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    old = cur.mailbox()
    cur.sp()
    return c.Rename(tag=tag, old=old, new=cur.mailbox())


# RFC 5258 §3.1 and RFC 6154 §5.1 (SPECIAL-USE); §3.2, RFC 5819 (STATUS) and RFC 6154.
LIST_SELECTION_OPTIONS = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
LIST_RETURN_OPTIONS = frozenset({"SUBSCRIBED", "CHILDREN", "STATUS", "SPECIAL-USE"})


def _list(lsub: bool) -> Callable[[Cursor, str, bool], c.Command]:
    def rule(cur: Cursor, tag: str, uid: bool) -> c.Command:
        cur.sp()
        selection: list[str] = []
        if not lsub and cur.peek() == b"(":

            def selection_option() -> None:
                # RFC 5258 §3: an option the server does not know is BAD.
                selection.append(cur.atom("selection option").upper())
                if selection[-1] not in LIST_SELECTION_OPTIONS:
                    raise cur.fail(f"unknown LIST selection option {selection[-1]}")

            cur.parenthesised(selection_option)
            if "RECURSIVEMATCH" in selection and not set(selection) - {"RECURSIVEMATCH", "REMOTE"}:
                # RFC 5258 §3.1: RECURSIVEMATCH only modifies another selection option.
                raise cur.fail("RECURSIVEMATCH needs another selection option")
            cur.sp()
        reference = cur.mailbox()
        cur.sp()
        patterns: list[str] = []
        if not lsub and cur.peek() == b"(":
            cur.parenthesised(lambda: patterns.append(cur.list_mailbox()))
            if not patterns:
                raise cur.fail("empty pattern list")
        else:
            patterns.append(cur.list_mailbox())
        returns: list[str] = []
        status_items: list[str] = []
        if not lsub and cur.take(b" "):
            cur.expect(b"RETURN", "RETURN")
            cur.sp()

            def option() -> None:
                opt = cur.atom("return option").upper()
                if opt not in LIST_RETURN_OPTIONS:
                    raise cur.fail(f"unknown LIST return option {opt}")
                returns.append(opt)
                if opt == "STATUS":
                    cur.sp()
                    cur.parenthesised(lambda: status_items.append(cur.atom("status item").upper()))

            cur.parenthesised(option)
        return c.List(
            tag=tag,
            reference=reference,
            patterns=tuple(patterns),
            selection=tuple(selection),
            returns=tuple(returns),
            status_items=tuple(status_items),
            lsub=lsub,
        )

    return rule


def _status(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    mailbox = cur.mailbox()
    cur.sp()
    items: list[str] = []
    cur.parenthesised(lambda: items.append(cur.atom("status item").upper()))
    if not items:
        raise cur.fail("STATUS needs at least one item")
    return c.Status(tag=tag, mailbox=mailbox, items=tuple(items))


def _append(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    mailbox = cur.mailbox()
    messages: list[c.AppendMessage] = []
    while cur.take(b" "):
        messages.append(_append_message(cur))
    if not messages:
        raise cur.fail("APPEND needs a message")
    return c.Append(tag=tag, mailbox=mailbox, messages=tuple(messages))


# RFC 4314 §9: identifier = astring; mod-rights = astring; rights = astring.
def _getacl(cur: Cursor, tag: str, uid: bool) -> c.Command:
    """ "GETACL" SP mailbox"""
    cur.sp()
    return c.GetAcl(tag=tag, mailbox=cur.mailbox())


def _myrights(cur: Cursor, tag: str, uid: bool) -> c.Command:
    """ "MYRIGHTS" SP mailbox"""
    cur.sp()
    return c.MyRights(tag=tag, mailbox=cur.mailbox())


def _setacl(cur: Cursor, tag: str, uid: bool) -> c.Command:
    """ "SETACL" SP mailbox SP identifier SP mod-rights"""
    cur.sp()
    mailbox = cur.mailbox()
    cur.sp()
    identifier = cur.astring("identifier")
    cur.sp()
    return c.SetAcl(tag=tag, mailbox=mailbox, identifier=identifier, rights=cur.astring("rights"))


def _identifier_command(cls: type[c.DeleteAcl | c.ListRights]) -> Callable[..., c.Command]:
    """ "DELETEACL" / "LISTRIGHTS" SP mailbox SP identifier"""

    def rule(cur: Cursor, tag: str, uid: bool) -> c.Command:
        cur.sp()
        mailbox = cur.mailbox()
        cur.sp()
        return cls(tag=tag, mailbox=mailbox, identifier=cur.astring("identifier"))

    return rule


def _getquota(cur: Cursor, tag: str, uid: bool) -> c.Command:
    """ "GETQUOTA" SP quota-root-name (RFC 9208 §7; quota-root-name = astring)."""
    cur.sp()
    return c.GetQuota(tag=tag, root=cur.astring("quota root"))


def _getquotaroot(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    return c.GetQuotaRoot(tag=tag, mailbox=cur.mailbox())


def _setquota(cur: Cursor, tag: str, uid: bool) -> c.Command:
    """ "SETQUOTA" SP quota-root-name SP setquota-list, where setquota-list =
    "(" [setquota-resource *(SP setquota-resource)] ")" and setquota-resource =
    resource-name SP resource-limit (an atom and a number64; RFC 9208 §7)."""
    cur.sp()
    root = cur.astring("quota root")
    cur.sp()
    limits: list[tuple[str, int]] = []

    def resource() -> None:
        name = cur.atom("resource name").upper()
        cur.sp()
        limits.append((name, cur.number(MAX_NUMBER64)))

    cur.parenthesised(resource)
    return c.SetQuota(tag=tag, root=root, limits=tuple(limits))


def _append_message(cur: Cursor) -> c.AppendMessage:
    # append-message = append-opts SP append-data (RFC 4466 §2.1.1), after its SP
    # append-data =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")" (RFC 4469 §5)
    flags: tuple[str, ...] = ()
    when = None
    if cur.peek() == b"(":
        flags = cur.flag_list()
        cur.sp()
    if cur.peek() == b'"':
        when = date_time(cur)
        cur.sp()
    if cur.take(b"CATENATE"):
        cur.sp()
        return c.AppendMessage(flags=flags, internaldate=when, data=_catenate(cur))
    lit = cur.literal()
    if lit is None:
        raise cur.fail("the message must be a literal")
    data = lit if isinstance(lit, SpooledLiteral) else lit.data
    return c.AppendMessage(flags=flags, internaldate=when, data=data)


def _catenate(cur: Cursor) -> c.Catenate:
    # cat-part = text-literal / url; text-literal = "TEXT" SP literal; url = "URL" SP astring
    parts: list[c.CatenateText | c.CatenateUrl] = []

    def part() -> None:
        if cur.take(b"TEXT "):
            lit = cur.literal()
            if lit is None:
                raise cur.fail("CATENATE TEXT needs a literal")
            parts.append(c.CatenateText(data=lit if isinstance(lit, SpooledLiteral) else lit.data))
        elif cur.take(b"URL "):
            parts.append(c.CatenateUrl(url=cur.astring("URL")))
        else:
            raise cur.fail("expected TEXT or URL")

    cur.parenthesised(part)
    if not parts:
        raise cur.fail("CATENATE needs at least one part")
    return c.Catenate(parts=tuple(parts))


def _replace(cur: Cursor, tag: str, uid: bool) -> c.Command:
    # replace = "REPLACE" SP seq-number SP mailbox append-message (RFC 8508 §6)
    cur.sp()
    number = None if cur.take(b"*") else cur.number(nonzero=True)
    cur.sp()
    mailbox = cur.mailbox()
    cur.sp()
    message = _append_message(cur)
    return c.Replace(tag=tag, uid=uid, number=number, mailbox=mailbox, message=message)


def _cancelupdate(cur: Cursor, tag: str, uid: bool) -> c.Command:
    # "CANCELUPDATE" 1*(SP tag-string), tag-string = string (RFC 5267 §5)
    tags: list[str] = []
    while cur.take(b" "):
        tags.append(cur.text(cur.string_bytes(what="tag string")))
    if not tags:
        raise cur.fail("CANCELUPDATE needs a tag")
    return c.CancelUpdate(tag=tag, tags=tuple(tags))


def _compress(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    return c.Compress(tag=tag, mechanism=cur.atom("compression mechanism").upper())


def _expunge(cur: Cursor, tag: str, uid: bool) -> c.Command:
    if uid:
        cur.sp()
        return c.Expunge(tag=tag, uids=cur.seqset())
    return c.Expunge(tag=tag)


def _copy(move: bool) -> Callable[[Cursor, str, bool], c.Command]:
    def rule(cur: Cursor, tag: str, uid: bool) -> c.Command:
        cur.sp()
        seqset = cur.seqset()
        cur.sp()
        return c.Copy(tag=tag, uid=uid, seqset=seqset, mailbox=cur.mailbox(), move=move)

    return rule


def _store(cur: Cursor, tag: str, uid: bool) -> c.Command:
    cur.sp()
    seqset = cur.seqset()
    cur.sp()
    unchangedsince = None
    if cur.take(b"("):
        cur.expect(b"UNCHANGEDSINCE", "UNCHANGEDSINCE")
        cur.sp()
        unchangedsince = cur.number(MAX_NUMBER64)
        cur.expect(b")")
        cur.sp()
    mode = "+" if cur.take(b"+") else "-" if cur.take(b"-") else ""
    cur.expect(b"FLAGS", "FLAGS")
    silent = cur.take(b".SILENT")
    cur.sp()
    if cur.peek() == b"(":
        flags = cur.flag_list()
    else:
        items = [cur.flag()]
        while cur.take(b" "):
            items.append(cur.flag())
        flags = tuple(items)
    return c.Store(
        tag=tag,
        uid=uid,
        seqset=seqset,
        mode=mode,
        silent=silent,
        flags=flags,
        unchangedsince=unchangedsince,
    )


_COMMANDS: dict[bytes, Callable[[Cursor, str, bool], c.Command]] = {
    b"CAPABILITY": _no_args(c.Capability),
    b"NOOP": _no_args(c.Noop),
    b"LOGOUT": _no_args(c.Logout),
    b"STARTTLS": _no_args(c.StartTls),
    b"AUTHENTICATE": _authenticate,
    b"LOGIN": _login,
    b"ENABLE": _enable,
    b"ID": _id,
    b"SELECT": _select(readonly=False),
    b"EXAMINE": _select(readonly=True),
    b"CREATE": _create,
    b"DELETE": _mailbox_command(c.Delete),
    b"RENAME": _rename,
    b"SUBSCRIBE": _mailbox_command(c.Subscribe),
    b"UNSUBSCRIBE": _mailbox_command(c.Unsubscribe),
    b"LIST": _list(lsub=False),
    b"LSUB": _list(lsub=True),
    b"NAMESPACE": _no_args(c.Namespace),
    b"STATUS": _status,
    b"APPEND": _append,
    b"IDLE": _no_args(c.Idle),
    b"COMPRESS": _compress,
    b"GETACL": _getacl,
    b"SETACL": _setacl,
    b"DELETEACL": _identifier_command(c.DeleteAcl),
    b"LISTRIGHTS": _identifier_command(c.ListRights),
    b"MYRIGHTS": _myrights,
    b"GETQUOTA": _getquota,
    b"GETQUOTAROOT": _getquotaroot,
    b"SETQUOTA": _setquota,
    b"CHECK": _no_args(c.Check),
    b"CLOSE": _no_args(c.Close),
    b"UNSELECT": _no_args(c.Unselect),
    b"EXPUNGE": _expunge,
    b"SEARCH": parse_search,
    b"CANCELUPDATE": _cancelupdate,
    b"SORT": parse_sort,
    b"THREAD": parse_thread,
    b"ESEARCH": parse_esearch,
    b"NOTIFY": parse_notify,
    b"FETCH": parse_fetch,
    b"STORE": _store,
    b"COPY": _copy(move=False),
    b"MOVE": _copy(move=True),
    b"REPLACE": _replace,
}
_UID_COMMANDS = {
    b"FETCH",
    b"SEARCH",
    b"SORT",
    b"THREAD",
    b"STORE",
    b"COPY",
    b"MOVE",
    b"EXPUNGE",
    b"REPLACE",
}
