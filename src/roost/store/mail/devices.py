"""ActiveSync devices: the units of work behind the DeviceStore methods (SQLite migration
0018, PostgreSQL 0006).

A device is known by the DeviceId it sends with every request, per account; the endpoint
records it on each request (`device_seen`), which also hands back what the server must
tell it (a remote wipe). `device_folders` keeps the MODSEQ each device last synced each
folder to, which Ping compares the folder with: in the store, not in a process, so any
worker, or the server after a restart, answers a Ping alike. Rows go with their account
(and a folder's with its mailbox) by ON DELETE CASCADE.
"""

from __future__ import annotations

from datetime import datetime

from roost.errors import MailError, MailErrorKind
from roost.model import AccountId, MailboxId, ModSeq
from roost.store.api import Device, DevicePolicy
from roost.store.engines.api import Row, Tx
from roost.store.mail.instants import from_micros, now_utc, to_micros

__all__ = [
    "acknowledge_wipe",
    "claim_client_id",
    "delete_device",
    "device_seen",
    "list_devices",
    "release_client_id",
    "request_wipe",
    "set_device_policy",
    "set_synced",
    "synced",
]

_SELECT = (
    "SELECT d.account_id, a.address, d.device_id, d.device_type, d.user_agent, "
    "d.policy_state, d.first_seen, d.last_seen, d.last_sync, d.wipe_requested, "
    "d.wipe_acknowledged "
    "FROM devices d JOIN accounts a ON a.id = d.account_id"
)
MAX_FIELD = 256  # a device names itself; what it says is kept, within reason


def _device(row: Row) -> Device:
    return Device(
        account_id=AccountId(row[0]),
        address=row[1],
        device_id=row[2],
        device_type=row[3],
        user_agent=row[4],
        policy=DevicePolicy(row[5]),
        first_seen=from_micros(row[6]),
        last_seen=from_micros(row[7]),
        last_sync=_instant(row[8]),
        wipe_requested=_instant(row[9]),
        wipe_acknowledged=_instant(row[10]),
    )


def _instant(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


def _get(tx: Tx, account: AccountId, device_id: str) -> Device:
    row = tx.one(f"{_SELECT} WHERE d.account_id = ? AND d.device_id = ?", (account, device_id))
    if row is None:
        raise MailError(MailErrorKind.NONEXISTENT, f"no device {device_id}")
    return _device(row)


def device_seen(
    tx: Tx, account: AccountId, device_id: str, device_type: str, user_agent: str
) -> Device:
    """Records a request of the device (created on its first); returns it as now stored."""
    now = to_micros(now_utc())
    tx.execute(
        "INSERT INTO devices (account_id, device_id, device_type, user_agent, first_seen, "
        "last_seen) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, device_id) DO UPDATE "
        "SET device_type = excluded.device_type, user_agent = excluded.user_agent, "
        "last_seen = excluded.last_seen",
        (account, device_id, device_type[:MAX_FIELD], user_agent[:MAX_FIELD], now, now),
    )
    return _get(tx, account, device_id)


def list_devices(tx: Tx, account: AccountId | None) -> list[Device]:
    if account is None:
        rows = tx.all(f"{_SELECT} ORDER BY a.address, d.device_id")
    else:
        rows = tx.all(f"{_SELECT} WHERE d.account_id = ? ORDER BY d.device_id", (account,))
    return [_device(row) for row in rows]


def set_device_policy(tx: Tx, account: AccountId, device_id: str, policy: DevicePolicy) -> None:
    changed = tx.execute(
        "UPDATE devices SET policy_state = ? WHERE account_id = ? AND device_id = ?",
        (policy.value, account, device_id),
    )
    if changed == 0:
        raise MailError(MailErrorKind.NONEXISTENT, f"no device {device_id}")


def request_wipe(tx: Tx, account: AccountId, device_id: str) -> Device:
    """Asks for a remote wipe of the device (again, if it acknowledged an earlier one)."""
    tx.execute(
        "UPDATE devices SET wipe_requested = ?, wipe_acknowledged = NULL "
        "WHERE account_id = ? AND device_id = ?",
        (to_micros(now_utc()), account, device_id),
    )
    return _get(tx, account, device_id)


def acknowledge_wipe(tx: Tx, account: AccountId, device_id: str) -> None:
    """The device reported the wipe done; recorded once, and only if one was asked for."""
    tx.execute(
        "UPDATE devices SET wipe_acknowledged = ? WHERE account_id = ? AND device_id = ? "
        "AND wipe_requested IS NOT NULL AND wipe_acknowledged IS NULL",
        (to_micros(now_utc()), account, device_id),
    )


def delete_device(tx: Tx, account: AccountId, device_id: str) -> None:
    """Forgets the device and its positions (a wipe asked for goes with it)."""
    changed = tx.execute(
        "DELETE FROM devices WHERE account_id = ? AND device_id = ?", (account, device_id)
    )
    if changed == 0:
        raise MailError(MailErrorKind.NONEXISTENT, f"no device {device_id}")


def set_synced(
    tx: Tx, account: AccountId, device_id: str, mailbox: MailboxId, modseq: ModSeq
) -> None:
    """Records that the device synced mailbox to modseq, and when (nothing if the device
    or the mailbox of the account is unknown)."""
    changed = tx.execute(
        "INSERT INTO device_folders (account_id, device_id, mailbox_id, modseq) "
        "SELECT d.account_id, d.device_id, m.id, ? FROM devices d "
        "JOIN mailboxes m ON m.account_id = d.account_id AND m.id = ? "
        "WHERE d.account_id = ? AND d.device_id = ? "
        "ON CONFLICT (account_id, device_id, mailbox_id) DO UPDATE SET modseq = excluded.modseq",
        (modseq, mailbox, account, device_id),
    )
    if changed:
        tx.execute(
            "UPDATE devices SET last_sync = ? WHERE account_id = ? AND device_id = ?",
            (to_micros(now_utc()), account, device_id),
        )


def synced(tx: Tx, account: AccountId, device_id: str) -> dict[MailboxId, ModSeq]:
    rows = tx.all(
        "SELECT mailbox_id, modseq FROM device_folders WHERE account_id = ? AND device_id = ?",
        (account, device_id),
    )
    return {MailboxId(row[0]): ModSeq(row[1]) for row in rows}


def claim_client_id(
    tx: Tx, account: AccountId, client_id: str, now: datetime, since: datetime
) -> bool:
    """Records that the account sends the message of client_id at `now`, unless it sent
    one by that id at or after `since`; True if this call may send. Ids older than `since`
    are forgotten here."""
    tx.execute(
        "DELETE FROM sent_client_ids WHERE account_id = ? AND sent_at < ?",
        (account, to_micros(since)),
    )
    changed = tx.execute(
        "INSERT INTO sent_client_ids (account_id, client_id, sent_at) VALUES (?, ?, ?) "
        "ON CONFLICT (account_id, client_id) DO NOTHING",
        (account, client_id, to_micros(now)),
    )
    return changed == 1


def release_client_id(tx: Tx, account: AccountId, client_id: str) -> None:
    """The send claimed for client_id did not happen: a retry may send it."""
    tx.execute(
        "DELETE FROM sent_client_ids WHERE account_id = ? AND client_id = ?",
        (account, client_id),
    )
