"""Limits on mailbox names and counts (issue 9), the same on every engine: a name past them
is refused with LIMIT whatever the protocol that asks (IMAP CREATE and RENAME, ActiveSync
FolderCreate, an import), and nothing of it is created."""

from __future__ import annotations

import pytest

from roost.errors import MailErrorKind
from roost.store.api import Store
from roost.store.mail import mailboxes
from roost.store.mail.names import MAX_LEVEL_LENGTH, MAX_LEVELS, MAX_NAME_LENGTH
from tests.store.contract import OpenStore, account_inbox, contract, refused


def test_names_past_the_limits_are_refused_and_create_nothing(open_store: OpenStore) -> None:
    async def body(store: Store) -> None:
        account, _ = await account_inbox(store)
        before = await store.list_mailboxes(account.id)
        deepest = "/".join(f"l{n}" for n in range(MAX_LEVELS))
        await store.create_mailbox(account.id, deepest)  # at the limit: fine
        created = await store.list_mailboxes(account.id)
        assert len(created) == len(before) + MAX_LEVELS
        for name in (
            deepest + "/one-more",
            "/".join("x" * 10 for _ in range(10_000)),  # the 10,000-level CREATE of issue 9
            "a" * (MAX_LEVEL_LENGTH + 1),
            "/".join("b" * 200 for _ in range(MAX_NAME_LENGTH // 200 + 1)),
        ):
            await refused(MailErrorKind.LIMIT, store.create_mailbox(account.id, name))
        await refused(
            MailErrorKind.LIMIT,
            store.rename_mailbox(account.id, "l0", "c" * (MAX_LEVEL_LENGTH + 1)),
        )
        assert await store.list_mailboxes(account.id) == created

    contract(body)(open_store)


def test_an_account_holds_at_most_max_mailboxes(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body(store: Store) -> None:
        account, _ = await account_inbox(store)
        have = len(await store.list_mailboxes(account.id))
        monkeypatch.setattr(mailboxes, "MAX_MAILBOXES", have + 2)
        await store.create_mailbox(account.id, "one")
        await refused(MailErrorKind.LIMIT, store.create_mailbox(account.id, "a/b"))  # two more
        await store.create_mailbox(account.id, "two")
        await refused(MailErrorKind.LIMIT, store.create_mailbox(account.id, "three"))
        await store.delete_mailbox(account.id, "one")
        await store.create_mailbox(account.id, "three")  # room again

    contract(body)(open_store)
