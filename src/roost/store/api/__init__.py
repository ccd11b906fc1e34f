"""The store interface every protocol uses; the only store package protocol code imports.

records.py holds what the store hands out and takes in, query.py the query tree of search
and sort, protocol.py the Store protocol split by concern (accounts, mailboxes, messages,
the outbound queue, ActiveSync devices); everything is importable from here.

Theory of operation
-------------------
The store keeps the master copy: accounts, domains, mailboxes, messages (metadata rows
pointing at immutable, content-addressed blobs) and a change log. Every change to a mailbox
(append, flag change, expunge) takes the next MODSEQ of that mailbox and is recorded so it
can be replayed: `changes_since(mailbox, modseq)` answers with work proportional to the
number of changes, never to the size of the mailbox. Expunged messages leave a tombstone
(mailbox, uid, modseq). Mailbox-level changes (created, renamed, deleted, subscription)
are recorded per account with the account's own modseq (`mailbox_changes_since`).

Acknowledgement: a method that adds mail returns only after the blob is fsync'd and the
transaction that references it has committed. Every method either completes entirely or
raises and changes nothing.

The store knows nothing of IMAP: mailbox names are UTF-8 strings with "/" as hierarchy
separator ("INBOX" is stored in that spelling and matched case-insensitively by
`find_mailbox`), flags are strings (system flags in the canonical spelling of
roost.model.SYSTEM_FLAGS, keywords as given, compared case-insensitively), refusals are
MailError(kind).

Isolation between accounts: every mailbox lookup by name is scoped to an account; protocol
code only ever uses the MailboxIds the store gave it for that account.

All methods are coroutines so that an engine with a native async driver (PostgreSQL) fits
the same interface; the SQLite engine runs its work on a dedicated thread.
"""

from __future__ import annotations

from roost.store.api.protocol import (
    AccountStore,
    AclStore,
    DeviceStore,
    MailboxStore,
    MessageStore,
    QueueStore,
    Store,
)
from roost.store.api.query import (
    All,
    And,
    ArrivedAfter,
    BodyContains,
    DateBefore,
    DateField,
    DateOnOrAfter,
    EmailIs,
    HasFlag,
    HeaderContains,
    ModSeqAtLeast,
    Not,
    Or,
    PlainQuery,
    Query,
    SeenBy,
    SizeLarger,
    SizeSmaller,
    SortField,
    SortKey,
    TextContains,
    TextQuery,
    ThreadInfo,
    ThreadIs,
    UidIn,
    reads_text,
)
from roost.store.api.records import (
    ALL_RIGHTS,
    IMAP_CLIENT,
    IMAP_CLIENT_TYPE,
    MEMBER_RIGHTS,
    TEAM_PASSWORD_HASH,
    Account,
    AccountChanges,
    AclEntry,
    Alias,
    AppendResult,
    Changes,
    CopyResult,
    Device,
    DevicePolicy,
    FieldRow,
    FlagMode,
    FlagResult,
    Mailbox,
    MailboxChange,
    MailboxChangeKind,
    MailboxStatus,
    MessageField,
    MessageFlags,
    MessageMeta,
    NewMessage,
    OofReply,
    OofState,
    OutOfOffice,
    QueueEntry,
    Quota,
    ReplaceResult,
    SharedMailbox,
    changed_rights,
)

__all__ = [
    "ALL_RIGHTS",
    "IMAP_CLIENT",
    "IMAP_CLIENT_TYPE",
    "MEMBER_RIGHTS",
    "TEAM_PASSWORD_HASH",
    "Account",
    "AccountChanges",
    "AccountStore",
    "AclEntry",
    "AclStore",
    "Alias",
    "All",
    "And",
    "AppendResult",
    "ArrivedAfter",
    "BodyContains",
    "Changes",
    "CopyResult",
    "DateBefore",
    "DateField",
    "DateOnOrAfter",
    "Device",
    "DevicePolicy",
    "DeviceStore",
    "EmailIs",
    "FieldRow",
    "FlagMode",
    "FlagResult",
    "HasFlag",
    "HeaderContains",
    "Mailbox",
    "MailboxChange",
    "MailboxChangeKind",
    "MailboxStatus",
    "MailboxStore",
    "MessageField",
    "MessageFlags",
    "MessageMeta",
    "MessageStore",
    "ModSeqAtLeast",
    "NewMessage",
    "Not",
    "OofReply",
    "OofState",
    "Or",
    "OutOfOffice",
    "PlainQuery",
    "Query",
    "QueueEntry",
    "QueueStore",
    "Quota",
    "ReplaceResult",
    "SeenBy",
    "SharedMailbox",
    "SizeLarger",
    "SizeSmaller",
    "SortField",
    "SortKey",
    "Store",
    "TextContains",
    "TextQuery",
    "ThreadInfo",
    "ThreadIs",
    "UidIn",
    "changed_rights",
    "reads_text",
]
