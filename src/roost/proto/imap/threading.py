"""THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3), and the THREAD response.

Theory of operation
-------------------
The input is one `ThreadMessage` per message that matched the search criteria, carrying
what delivery precomputed (base subject, Message-ID, the References chain, sent date) and
the number the response names (a UID or a sequence number; both follow mailbox order, the
tie-breaker of every comparison). The output is a list of `Thread` trees: a node without
a number is a dummy, which after REFERENCES' pruning only stands at the top, holding two
or more threads that share a subject.

Threads can be deep (a long reply chain), so every walk over the tree is iterative.

    thread-data    = "THREAD" [SP 1*thread-list]
    thread-list    = "(" (thread-members / thread-nested) ")"
    thread-members = nz-number *(SP nz-number) [SP thread-nested]
    thread-nested  = 2*thread-list
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

__all__ = ["Thread", "ThreadMessage", "ordered_subject", "references", "render_threads"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadMessage:
    number: int  # UID or sequence number: what the THREAD response names
    sent: datetime  # the sent date (RFC 5256 §2.2)
    subject: str  # base subject (§2.1), folded for comparison
    reply: bool = False  # the subject marked a reply or forward
    message_id: str | None = None  # without angle brackets
    references: tuple[str, ...] = ()  # parents, oldest first


@dataclass(slots=True)
class Thread:
    number: int | None  # None: a dummy holding threads with the same subject
    children: list[Thread] = field(default_factory=list)


# --- ORDEREDSUBJECT -------------------------------------------------------------------


def ordered_subject(messages: Iterable[ThreadMessage]) -> list[Thread]:
    """RFC 5256 §3: sort by base subject then sent date; each run of one subject is a
    thread whose first message is the parent of all the others; threads in the order of
    their first messages' sent dates."""
    ordered = sorted(messages, key=lambda m: (m.subject, m.sent, m.number))
    heads: list[tuple[tuple[datetime, int], Thread]] = []
    for _, run in groupby(ordered, key=lambda m: m.subject):
        first, *rest = run
        thread = Thread(first.number, [Thread(m.number) for m in rest])
        heads.append(((first.sent, first.number), thread))
    heads.sort(key=lambda pair: pair[0])
    return [thread for _, thread in heads]


# --- REFERENCES -----------------------------------------------------------------------


class _Node:
    __slots__ = ("children", "msg", "parent")

    def __init__(self, msg: ThreadMessage | None = None) -> None:
        self.msg = msg
        self.parent: _Node | None = None
        self.children: list[_Node] = []

    def key(self) -> tuple[datetime, int]:
        # RFC 5256 §3 (4), (6): a dummy sorts as its first child
        node = self
        while node.msg is None:
            node = node.children[0]
        return node.msg.sent, node.msg.number

    def subject(self) -> str:
        node = self if self.msg is not None else self.children[0]
        return node.msg.subject if node.msg is not None else ""


def _is_ancestor(node: _Node, of: _Node) -> bool:
    """node is `of` or one of its ancestors."""
    walk: _Node | None = of
    while walk is not None:
        if walk is node:
            return True
        walk = walk.parent
    return False


def _link(parent: _Node, child: _Node) -> None:
    child.parent = parent
    parent.children.append(child)


def _unlink(child: _Node) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
        child.parent = None


def _build(messages: Sequence[ThreadMessage]) -> list[_Node]:
    """Step (1): link messages by their references; returns every node made."""
    by_id: dict[str, _Node] = {}
    made: list[_Node] = []

    def node_for(message_id: str) -> _Node:
        if message_id not in by_id:
            by_id[message_id] = _Node()  # a dummy until its message turns up
            made.append(by_id[message_id])
        return by_id[message_id]

    for msg in sorted(messages, key=lambda m: m.number):
        mid = msg.message_id
        if not mid or (mid in by_id and by_id[mid].msg is not None):
            node = _Node(msg)  # no id, or a duplicate: an id of its own
            made.append(node)
        else:
            node = node_for(mid)
            node.msg = msg
        # (1)(A): each reference is the parent of the next, unless it already has one or
        # the link would make a loop
        prev: _Node | None = None
        for ref in msg.references:
            ref_node = node_for(ref)
            if prev is not None and ref_node.parent is None and not _is_ancestor(ref_node, prev):
                _link(prev, ref_node)
            prev = ref_node
        # (1)(B): the last reference is the parent, overriding any earlier link
        _unlink(node)
        if prev is not None and not _is_ancestor(node, prev):
            _link(prev, node)
    return made


def _prune(root: _Node) -> None:
    """Step (3), children before parents: drop childless dummies; splice a dummy's
    children into its place, except at the top when it has more than one."""
    order = _preorder(root)
    for node in reversed(order):
        kept: list[_Node] = []
        for child in node.children:
            if child.msg is None and (node is not root or len(child.children) <= 1):
                for grandchild in child.children:
                    grandchild.parent = node
                kept.extend(child.children)
            else:
                kept.append(child)
        node.children = kept


def _preorder(root: _Node) -> list[_Node]:
    order: list[_Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(node.children))
    return order


def _gather_subjects(root: _Node) -> None:
    """Step (5): merge the top-level threads that have the same base subject."""
    table: dict[str, _Node] = {}
    for node in root.children:  # (B)
        subject = node.subject()
        if not subject:
            continue
        held = table.get(subject)
        if held is None or (
            held.msg is not None and (node.msg is None or (_reply(held) and not _reply(node)))
        ):
            table[subject] = node
    tops = list(root.children)
    position = {id(node): i for i, node in enumerate(tops)}
    for node in list(tops):  # (C)
        subject = node.subject() if node.parent is root else ""
        held = table.get(subject) if subject else None
        if held is None or held is node:
            continue
        if held.msg is None and node.msg is None:
            for child in node.children:
                _link(held, child)
            node.children, node.parent = [], None
        elif held.msg is None or (_reply(node) and not _reply(held)):
            node.parent = None
            _link(held, node)
        else:
            dummy = _Node()
            dummy.parent = root
            tops[position[id(held)]] = dummy
            position[id(dummy)] = position[id(held)]
            held.parent = node.parent = None
            _link(dummy, held)
            _link(dummy, node)
            table[subject] = dummy
    root.children = [node for node in tops if node.parent is root]


def _reply(node: _Node) -> bool:
    return node.msg is not None and node.msg.reply


def _sort_siblings(root: _Node, top_only: bool) -> None:
    """Steps (4) and (6): siblings by sent date, children before parents so that a
    dummy's first child is settled before the dummy is placed."""
    nodes = [root, *root.children] if top_only else _preorder(root)
    for node in reversed(nodes):
        if top_only and node is not root and node.msg is not None:
            continue
        node.children.sort(key=_Node.key)


def references(messages: Sequence[ThreadMessage]) -> list[Thread]:
    """RFC 5256 §3 REFERENCES threading."""
    root = _Node()
    for node in _build(messages):  # (2) the parentless are the top of the threads
        if node.parent is None:
            _link(root, node)
    _prune(root)
    _sort_siblings(root, top_only=True)  # (4)
    _gather_subjects(root)
    _sort_siblings(root, top_only=False)  # (6)
    return _export(root).children


def _export(root: _Node) -> Thread:
    out = {id(root): Thread(None)}
    for node in _preorder(root):
        mine = out[id(node)]
        for child in node.children:
            made = Thread(child.msg.number if child.msg is not None else None)
            out[id(child)] = made
            mine.children.append(made)
    return out[id(root)]


# --- the response ---------------------------------------------------------------------


def render_threads(threads: Sequence[Thread]) -> bytes:
    """The THREAD response line (without "* "): RFC 5256 §4 thread-data."""
    out: list[str] = ["THREAD"]
    if threads:
        out.append(" ")
    stack: list[str | Thread] = []
    for thread in reversed(threads):
        stack.extend((")", thread, "("))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        pieces: list[str | Thread] = []
        if item.number is not None:
            pieces.append(str(item.number))
            if item.children:
                pieces.append(" ")
        if len(item.children) == 1:
            pieces.append(item.children[0])  # a chain continues: "1 2 3"
        else:
            for child in item.children:
                pieces.extend(("(", child, ")"))  # a branch: "1 (2)(3)"
        stack.extend(reversed(pieces))
    return "".join(out).encode("ascii")
