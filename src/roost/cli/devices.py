"""`roost devices list|wipe|delete`: the ActiveSync devices of the accounts.

`list` prints one line per device (of one account with --user): the account, the device
id and type, its user agent, where it stands in provisioning, when it was first and last
seen and last synced, and any remote wipe. `wipe` asks for a remote wipe ([MS-ASPROV] §3.1.5.2): the
device hears it on its next request, wipes itself and acknowledges, which `list` then
shows; a running server needs no telling, it reads the device from the store on every
request. `delete` forgets a device (and any wipe asked for it): should it come back, it
provisions and syncs from the start.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

from roost.cli import CommandError, address_argument
from roost.model import AccountId
from roost.store.api import IMAP_CLIENT, IMAP_CLIENT_TYPE, Device, Store

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser("devices", help="ActiveSync devices: list, remote wipe, delete")
    commands = parser.add_subparsers(title="devices commands", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="list the devices (of one account with --user)")
    listing.add_argument("--user", metavar="ADDRESS", type=address_argument)
    listing.set_defaults(command=list_devices)

    wipe = commands.add_parser("wipe", help="ask a device to wipe itself")
    wipe.add_argument("--user", metavar="ADDRESS", type=address_argument, required=True)
    wipe.add_argument("device_id", metavar="DEVICE_ID")
    wipe.set_defaults(command=wipe_device)

    delete = commands.add_parser("delete", help="forget a device (and any wipe asked for)")
    delete.add_argument("--user", metavar="ADDRESS", type=address_argument, required=True)
    delete.add_argument("device_id", metavar="DEVICE_ID")
    delete.set_defaults(command=delete_device)


async def _account(store: Store, address: str) -> AccountId:
    account = await store.find_account(address)
    if account is None:
        raise CommandError(f"no account {address}")
    return account.id


def list_devices(ctx: Context, args: argparse.Namespace) -> int:
    user: str | None = args.user

    async def devices(store: Store) -> list[Device]:
        if user is None:
            return await store.list_devices()
        return await store.list_devices(await _account(store, user))

    found = ctx.with_store(devices)
    for device in found:
        ctx.say(describe(device))
    if not found:
        ctx.say("no devices" if user is None else f"no devices for {user}")
    return 0


def _when(instant: datetime) -> str:
    return f"{instant:%Y-%m-%d %H:%M:%S}"


def describe(device: Device) -> str:
    agent = f" ({device.user_agent})" if device.user_agent else ""
    if device.device_type == IMAP_CLIENT_TYPE:  # an IMAP client that sent ID
        return (
            f"{device.address}  {device.device_id}  IMAP client{agent}  "
            f"first seen {_when(device.first_seen)}, last seen {_when(device.last_seen)}"
        )
    policy = device.policy.value or "not provisioned"
    line = (
        f"{device.address}  {device.device_id}  {device.device_type or '-'}{agent}  "
        f"policy {policy}, first seen {_when(device.first_seen)}, "
        f"last seen {_when(device.last_seen)}, "
        + (f"last sync {_when(device.last_sync)}" if device.last_sync else "never synced")
    )
    if device.wipe_requested is not None:
        line += f", wipe asked {_when(device.wipe_requested)}"
        if device.wipe_acknowledged is not None:
            line += f", wiped {_when(device.wipe_acknowledged)}"
    return line


def wipe_device(ctx: Context, args: argparse.Namespace) -> int:
    user: str = args.user
    device_id: str = args.device_id

    if device_id.startswith(IMAP_CLIENT):
        raise CommandError(
            f"{device_id} is an IMAP client, which cannot be wiped remotely: `roost kick "
            f"{user}` ends its sessions and `roost user passwd {user}` keeps it out"
        )

    async def wipe(store: Store) -> Device:
        return await store.request_wipe(await _account(store, user), device_id)

    device = ctx.with_store(wipe)
    ctx.say(f"wipe of {device.device_id} asked for; the device hears it on its next request")
    return 0


def delete_device(ctx: Context, args: argparse.Namespace) -> int:
    user: str = args.user
    device_id: str = args.device_id

    async def delete(store: Store) -> None:
        await store.delete_device(await _account(store, user), device_id)

    ctx.with_store(delete)
    ctx.say(f"deleted device {device_id} of {user}")
    return 0
