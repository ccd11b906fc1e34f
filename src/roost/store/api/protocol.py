"""The Store protocol, split by concern: what protocol code may ask of the store.

See roost.store.api for the guarantees every method gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from roost.model import AccountId, BlobId, MailboxId, ModSeq, Uid, UidValidity
from roost.store.api.query import Query, SortKey, ThreadInfo
from roost.store.api.records import (
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
    MailboxStatus,
    MessageField,
    MessageFlags,
    MessageMeta,
    NewMessage,
    OutOfOffice,
    QueueEntry,
    Quota,
    ReplaceResult,
    SharedMailbox,
)

__all__ = [
    "AccountStore",
    "AclStore",
    "DeviceStore",
    "MailboxStore",
    "MessageStore",
    "QueueStore",
    "Store",
]


class AccountStore(Protocol):
    """Domains, accounts, their aliases and quotas."""

    # --- domains and accounts
    async def add_domain(self, domain: str) -> None: ...
    async def list_domains(self) -> list[str]: ...
    async def is_local_domain(self, domain: str) -> bool: ...
    async def delete_domain(self, domain: str) -> None:
        """Removes a local domain. NONEXISTENT if it is not one; HAS_CHILDREN if accounts or
        aliases remain in it (the text names them)."""
        ...

    async def create_account(self, address: str, password_hash: str) -> Account:
        """Creates the account with INBOX and DEFAULT_MAILBOXES (subscribed); makes its
        domain local. ALREADY_EXISTS if the address is taken."""
        ...

    async def find_account(self, address: str) -> Account | None: ...
    async def list_accounts(self) -> list[Account]: ...
    async def set_password(self, address: str, password_hash: str) -> None: ...
    async def delete_account(self, address: str) -> None:
        """Removes the account, its aliases, mailboxes and messages (blobs collected later)."""
        ...

    # --- aliases: more addresses delivering to one or several accounts, who may send as
    # them; a catch-all per domain (roost.store.mail.aliases)
    async def add_alias(self, alias: str, targets: Sequence[str]) -> Alias:
        """Makes alias deliver to each of targets too, creating it if needed; returns it
        with all its targets. NONEXISTENT if a target is no account; ALREADY_EXISTS if
        alias is an account. Makes the alias's domain local."""
        ...

    async def delete_alias(self, alias: str, targets: Sequence[str] = ()) -> None:
        """Removes the alias, or only targets (the alias goes with its last). NONEXISTENT
        if there is no such alias or it does not deliver to a target named."""
        ...

    async def list_aliases(self) -> list[Alias]: ...
    async def find_recipients(self, address: str) -> list[Account]:
        """The accounts that receive mail for address: the account of that address, or the
        alias's targets (sorted by address); [] if none (the catch-all is not asked)."""
        ...

    async def owns_address(self, account: AccountId, address: str) -> bool:
        """Whether the account may send as address (its own, or an alias it is a target
        of; never through a catch-all)."""
        ...

    async def set_catch_all(self, domain: str, targets: Sequence[str]) -> None:
        """Mail for addresses of domain that no account or alias has goes to targets from
        now on ([] removes the catch-all). NONEXISTENT if domain is not local or a target
        is no account."""
        ...

    async def catch_all(self, domain: str) -> list[Account]:
        """The domain's catch-all accounts (sorted by address); [] if it has none."""
        ...

    async def account_services(self, account: AccountId) -> frozenset[str] | None:
        """The services (roost.auth.services) the account may use; None: every one."""
        ...

    async def set_account_services(
        self, account: AccountId, services: frozenset[str] | None
    ) -> None:
        """Limits the account to services; None allows every one. NONEXISTENT if no such
        account."""
        ...

    # --- out of office (ActiveSync Settings Oof; replies sent by roost.autoreply)
    async def get_out_of_office(self, account: AccountId) -> OutOfOffice:
        """The account's setting (off when never set)."""
        ...

    async def set_out_of_office(self, account: AccountId, oof: OutOfOffice) -> None:
        """Replaces the setting; turned on from off, it forgets whom it answered.
        NONEXISTENT if no such account."""
        ...

    async def claim_auto_reply(
        self, account: AccountId, sender: str, now: datetime, since: datetime
    ) -> bool:
        """Records an automatic reply to sender (compared case-insensitively) at `now`,
        unless one was recorded at or after `since`; True if this call recorded it and may
        send. Of two calls at once, one wins."""
        ...

    async def get_quota(self, account: AccountId) -> Quota: ...
    async def set_quota(
        self, account: AccountId, storage_limit: int | None, message_limit: int | None
    ) -> None:
        """Sets both limits (None: unlimited). Mail already stored stays; an account over
        its new limit may only shrink. append, copy and move refuse mail that would take
        the account past a limit with OVER_QUOTA, inside their transaction, storing nothing
        (a MOVE within one account never grows it)."""
        ...


class MailboxStore(Protocol):
    """An account's mailboxes, subscriptions and mailbox-level changes."""

    # --- mailboxes
    async def list_mailboxes(self, account: AccountId) -> list[Mailbox]:
        """All mailboxes of the account, sorted by name."""
        ...

    async def list_subscriptions(self, account: AccountId) -> list[str]:
        """Subscribed names (a subscription may name a mailbox that does not exist)."""
        ...

    async def find_mailbox(self, account: AccountId, name: str) -> Mailbox:
        """NONEXISTENT if there is none. "inbox" in any case means INBOX."""
        ...

    async def get_mailbox(self, mailbox: MailboxId) -> Mailbox: ...

    async def create_mailbox(
        self, account: AccountId, name: str, special_use: str | None = None
    ) -> Mailbox:
        """Creates missing superiors too (RFC 9051 §6.3.4). ALREADY_EXISTS if it exists."""
        ...

    async def set_uidvalidity(
        self, mailbox: MailboxId, uidvalidity: UidValidity, highestmodseq: ModSeq | None = None
    ) -> Mailbox:
        """A migration's: gives a mailbox that has never held a message (UIDNEXT 1) the
        UIDVALIDITY of the mailbox it continues on another server, so that devices synced
        with that one keep their caches; later mailboxes of the account get greater values.
        With highestmodseq (the source's HIGHESTMODSEQ), raises HIGHESTMODSEQ to it: every
        change here then has a greater MODSEQ than any a device saw there, so a device that
        resyncs with CONDSTORE/QRESYNC from its old MODSEQ hears of all of them. CANNOT once
        the mailbox has held a message (its UIDs are known under the old one)."""
        ...

    async def delete_mailbox(self, account: AccountId, name: str) -> None:
        """INBOX: CANNOT. Inferior names exist: HAS_CHILDREN. Messages become tombstones;
        a mailbox re-created under the same name is new, with a new UIDVALIDITY."""
        ...

    async def rename_mailbox(self, account: AccountId, old: str, new: str) -> None:
        """Renames inferiors too. Renaming INBOX moves its messages into a new mailbox
        named `new` and leaves INBOX empty (RFC 9051 §6.3.6)."""
        ...

    async def set_subscribed(self, account: AccountId, name: str, subscribed: bool) -> None: ...

    async def status(self, mailbox: MailboxId, *, viewer: AccountId | None = None) -> MailboxStatus:
        """With viewer (a team mailbox's member): UNSEEN counts what they have not read
        (their own \\Seen; see MessageStore)."""
        ...

    async def mailbox_changes_since(
        self, account: AccountId, modseq: ModSeq
    ) -> tuple[ModSeq, list[MailboxChange]]:
        """The account's mailbox-level changes after modseq, and its current modseq."""
        ...


class MessageStore(Protocol):
    """Messages in a mailbox, and the changes of a mailbox and of a whole account.

    `viewer` (issue 15): the user a call reads or changes a team mailbox for. Each member
    has their own \\Seen there; the other flags are shared. With a viewer, flags and MODSEQ
    are as that user sees them (their \\Seen; a message's MODSEQ is the later of its shared
    and of their own change), searches test their \\Seen, and STORE of \\Seen changes only
    theirs: under a new MODSEQ of the mailbox that the other members' changes_since does
    not list, so each user's MODSEQ stream strictly increases and only they hear of it."""

    # --- messages
    async def append(self, mailbox: MailboxId, messages: Sequence[NewMessage]) -> AppendResult:
        """Adds all or none (MULTIAPPEND is atomic). One modseq for the whole batch.
        Messages that name their `uid` (a migration keeping the source's UIDs) must all
        name one, ascending, the first at least UIDNEXT (else CANNOT): UIDNEXT becomes the
        last one + 1, and the UIDs skipped are never used."""
        ...

    async def uids(self, mailbox: MailboxId) -> tuple[Sequence[Uid], ModSeq]:
        """Every uid in the mailbox, ascending (the caller's own copy, an array of them), and
        the highestmodseq they reflect. Cost follows the changes since the last call."""
        ...

    async def claim_recent(self, mailbox: MailboxId) -> tuple[Uid, Uid]:
        """IMAP4rev1 \\Recent: returns (first, end), the uids [first, end) that are recent
        for the caller (whenever it learns of them), and marks every current message as no
        longer recent for later callers."""
        ...

    async def fetch_flags(
        self, mailbox: MailboxId, uids: Sequence[Uid], *, viewer: AccountId | None = None
    ) -> list[MessageFlags]:
        """Flags of the existing messages among uids, ascending by uid."""
        ...

    async def keywords(self, mailbox: MailboxId) -> list[str]:
        """Every keyword ever set on a message of the mailbox (RFC 9051 §7.3.5: FLAGS only
        grows), each once (compared case-insensitively), sorted case-insensitively."""
        ...

    async def fetch_meta(
        self, mailbox: MailboxId, uids: Sequence[Uid], *, viewer: AccountId | None = None
    ) -> list[MessageMeta]:
        """Metadata of the existing messages among uids, ascending by uid. Callers chunk."""
        ...

    async def fetch_fields(
        self,
        mailbox: MailboxId,
        uids: Sequence[Uid],
        fields: Sequence[MessageField],
        *,
        viewer: AccountId | None = None,
    ) -> list[FieldRow]:
        """(uid, *values of fields in the order given) of the existing messages among uids,
        ascending by uid. Reads only what those fields need, so that reading a few of them
        for many messages costs little more than the rows themselves. Callers chunk."""
        ...

    async def read_blob(self, blob: BlobId) -> bytes: ...

    async def read_blobs(
        self, blobs: Sequence[BlobId], *, prefixes: Sequence[int] | None = None
    ) -> list[bytes]:
        """The bytes of each blob, read together; with prefixes, only the first
        prefixes[i] bytes of blobs[i] (a message's header, say). NONEXISTENT if one is gone."""
        ...

    async def store_flags(
        self,
        mailbox: MailboxId,
        uids: Sequence[Uid],
        mode: FlagMode,
        flags: frozenset[str],
        unchangedsince: ModSeq | None = None,
        *,
        viewer: AccountId | None = None,
    ) -> FlagResult:
        """Changes flags; every message whose flags actually change gets one new modseq
        (the same for the whole call). Messages that no longer exist are skipped."""
        ...

    async def expunge(self, mailbox: MailboxId, uids: Sequence[Uid] | None = None) -> list[Uid]:
        """Removes messages flagged \\Deleted (only those among uids, if given); returns the
        expunged uids ascending. Leaves tombstones with the new modseq."""
        ...

    async def expunge_uids(self, mailbox: MailboxId, uids: Sequence[Uid]) -> list[Uid]:
        """Removes the messages among uids that still exist, whatever their flags, in one
        transaction (POP3's QUIT: what the client deleted goes, and nothing else); returns
        the removed uids ascending. Leaves tombstones with one new modseq."""
        ...

    async def copy(
        self, source: MailboxId, uids: Sequence[Uid], dest: MailboxId, *, move: bool = False
    ) -> CopyResult:
        """Copies (or moves: copy + expunge in one transaction) the existing messages among
        uids, in uid order. Flags are kept (RFC 9051 §6.4.7)."""
        ...

    async def replace(
        self, source: MailboxId, uid: Uid, dest: MailboxId, message: NewMessage
    ) -> ReplaceResult:
        """Appends message to dest and removes uid from source in one transaction; raises
        MailError(NONEXISTENT) and changes nothing if uid is gone (RFC 8508)."""
        ...

    async def search(
        self,
        mailbox: MailboxId,
        query: Query,
        *,
        limit: int | None = None,
        viewer: AccountId | None = None,
    ) -> list[Uid]:
        """Uids of the messages matching query, ascending; only the first `limit` if given."""
        ...

    async def sort(
        self,
        mailbox: MailboxId,
        query: Query,
        keys: Sequence[SortKey],
        *,
        viewer: AccountId | None = None,
    ) -> list[Uid]:
        """The uids matching query, ordered by keys, ties in uid order (RFC 5256 §3)."""
        ...

    async def thread_info(
        self, mailbox: MailboxId, query: Query, *, viewer: AccountId | None = None
    ) -> list[ThreadInfo]:
        """What threading needs of the messages matching query, in uid order."""
        ...

    async def changes_since(
        self, mailbox: MailboxId, modseq: ModSeq, *, viewer: AccountId | None = None
    ) -> Changes:
        """What changed after modseq. A modseq of 0 returns every message."""
        ...

    async def account_changes_since(self, account: AccountId, modseq: ModSeq) -> AccountChanges:
        """What changed in the whole account after its MODSEQ modseq (0: everything the
        account log still holds), as of one snapshot; NONEXISTENT once the account is gone."""
        ...

    async def find_by_message_id(
        self, mailbox: MailboxId, message_id: str, since: datetime
    ) -> list[tuple[Uid, BlobId]]:
        """(uid, blob) of the messages in mailbox with this Message-ID (as analysed, with
        its angle brackets) that arrived there at or after `since`, ascending by uid."""
        ...


class QueueStore(Protocol):
    """Mail waiting for a remote server (one entry per recipient)."""

    # --- the outbound queue (one entry per recipient; see roost.store.mail.outbound)
    async def enqueue(self, data: bytes, mail_from: str, recipients: Sequence[str]) -> list[int]:
        """Queues data for each recipient, due now; returns the entry ids. Durable on
        return, like append."""
        ...

    async def queue_entries(self, due: datetime | None = None) -> list[QueueEntry]:
        """Every entry by id, or (with due) those due at or before it, soonest first."""
        ...

    async def queue_retry_later(self, entry: int, when: datetime, error: str) -> None:
        """Counts a failed attempt and sets the next one."""
        ...

    async def queue_remove(self, entries: Sequence[int]) -> int:
        """Removes entries (delivered, given up or deleted); returns how many existed."""
        ...

    async def queue_flush(self) -> int:
        """Makes every entry due now; returns how many."""
        ...


class DeviceStore(Protocol):
    """ActiveSync devices of an account: what they are, what they last synced, remote wipe."""

    async def device_seen(
        self, account: AccountId, device_id: str, device_type: str, user_agent: str
    ) -> Device:
        """Records a request of the device (created on its first, last seen now) and
        returns it, with any wipe asked for. Not waited to disk: a crash forgets at most
        when it was last seen."""
        ...

    async def list_devices(self, account: AccountId | None = None) -> list[Device]:
        """The devices of the account (of every account: None), by address and device id."""
        ...

    async def set_device_policy(
        self, account: AccountId, device_id: str, policy: DevicePolicy
    ) -> None:
        """NONEXISTENT if the account has no such device."""
        ...

    async def request_wipe(self, account: AccountId, device_id: str) -> Device:
        """Asks for a remote wipe of the device: every later request of it is answered
        with the wipe. NONEXISTENT if the account has no such device."""
        ...

    async def acknowledge_wipe(self, account: AccountId, device_id: str) -> None:
        """Records that the device wiped itself (once; nothing if no wipe was asked for)."""
        ...

    async def delete_device(self, account: AccountId, device_id: str) -> None:
        """Forgets the device, its positions and any wipe. NONEXISTENT if there is none."""
        ...

    async def set_synced(
        self, account: AccountId, device_id: str, mailbox: MailboxId, modseq: ModSeq
    ) -> None:
        """Records that the device synced mailbox up to modseq (0: it has more to fetch).
        Nothing if the device is unknown or the mailbox not the account's. Not waited to
        disk (it rides on the next durable commit): after a crash the position may be an
        older one (Ping reports more) or none (Ping counts from its own start)."""
        ...

    async def synced(self, account: AccountId, device_id: str) -> dict[MailboxId, ModSeq]:
        """The MODSEQ the device last synced each mailbox to (set_synced)."""
        ...

    async def claim_client_id(
        self, account: AccountId, client_id: str, now: datetime, since: datetime
    ) -> bool:
        """Records that the account sends the message its device named client_id, unless
        it sent one by that id at or after `since`; True if this call may send (of two at
        once, one). Durable: a retry after a crash is still recognised."""
        ...

    async def release_client_id(self, account: AccountId, client_id: str) -> None:
        """Forgets a claim whose message was not sent after all, so a retry may send it."""
        ...


class AclStore(Protocol):
    """Rights on mailboxes (RFC 4314 letters, roost.store.api.ALL_RIGHTS) and team
    accounts (issue 15). The owner of a mailbox holds every right; anyone else what the
    mailbox's ACL grants them. Every change hints the accounts whose view it changes."""

    async def create_team(self, address: str, members: Sequence[str]) -> Account:
        """A team account (Account.is_team: nobody logs in to it) that receives address's
        mail; each member holds every right but "a" on each of its mailboxes, and a mailbox
        created in it takes the rights of its superior (a top-level one: of INBOX).
        ALREADY_EXISTS if the address is taken; NONEXISTENT if a member is no user."""
        ...

    async def mailbox_rights(self, account: AccountId, mailbox: MailboxId) -> str:
        """What account may do with mailbox ("" if nothing, or if it is gone)."""
        ...

    async def get_acl(self, mailbox: MailboxId) -> list[AclEntry]:
        """The rights granted on mailbox, by address (not the owner's, which are implicit)."""
        ...

    async def set_rights(self, mailbox: MailboxId, address: str, rights: str) -> str:
        """Replaces what address may do with mailbox ("": nothing); returns the rights
        as kept (RFC 4314 order; "c" and "d" read as "k" and "xte"). CANNOT for an
        unknown right or for the owner; NONEXISTENT if address is no user."""
        ...

    async def delete_rights(self, mailbox: MailboxId, address: str) -> None:
        """Takes every right of address on mailbox away."""
        ...

    async def shared_mailboxes(self, account: AccountId) -> list[SharedMailbox]:
        """The mailboxes of other accounts (people and teams) that account holds a right
        on, by owner and name."""
        ...


class Store(AccountStore, MailboxStore, MessageStore, QueueStore, DeviceStore, AclStore, Protocol):
    """The mail store. See roost.store.api for the guarantees."""

    # --- lifecycle
    async def close(self) -> None: ...
