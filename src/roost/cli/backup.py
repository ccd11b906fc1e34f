"""`roost backup DEST [--keep N]`, `roost backup --verify DEST` and `roost restore SRC
[...]` (roost.transfer.backup and roost.transfer.restore).

`backup` takes a consistent snapshot of the embedded store while the server runs, into a
backup directory whose blobs every snapshot shares (a second backup copies only new mail);
`--keep N` then drops all but the newest N snapshots; `--verify` reads a backup back
against its hashes. On PostgreSQL the database's own tools do this (pg_dump, pgBackRest):
`backup` says so and does nothing.

`restore SRC` makes an empty data directory the latest snapshot (or --snapshot NAME): the
whole server. With --user it restores one account into the store the configuration names,
running server or not, on either engine: the snapshot is opened as a store of its own (a
copy of its database in a temporary directory, its blobs read in place) and the account's
mailboxes, or one (--mailbox) or some messages (--message-id, --since, --before), are
copied back over the store interface.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from roost.cli import CommandError, address_argument
from roost.store.api import Store
from roost.store.engines.sqlite import BLOBS, DATABASE
from roost.transfer.backup import (
    BLOBS as BACKUP_BLOBS,
)
from roost.transfer.backup import (
    Snapshot,
    find_snapshot,
    prune,
    restore_server,
    take_backup,
    verify_backup,
)
from roost.transfer.progress import Progress
from roost.transfer.restore import MessageFilter, RestoreReport, restore_account

if TYPE_CHECKING:
    from roost.cli import Context

POSTGRESQL = (
    "the store is in PostgreSQL, whose own tools back it up: `pg_dump -Fc` for a consistent "
    "snapshot while Roost runs (pg_restore brings it back), or pgBackRest (or pg_basebackup "
    "with WAL archiving) for point-in-time recovery; `roost export --user ADDRESS maildir "
    "PATH` copies one account's mail"
)


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = groups.add_parser(
        "backup", help="snapshot the store while the server runs (incremental), or --verify one"
    )
    backup.add_argument("dest", type=Path, metavar="DEST", help="the backup directory")
    backup.add_argument(
        "--verify", action="store_true", help="check the backup in DEST against its hashes"
    )
    backup.add_argument(
        "--keep",
        type=_positive,
        metavar="N",
        help="then keep only the newest N snapshots (and the message files they use)",
    )
    backup.set_defaults(command=backup_command)

    restore = groups.add_parser(
        "restore", help="restore the whole server, an account, a mailbox or messages"
    )
    restore.add_argument("source", type=Path, metavar="SRC", help="a backup directory")
    restore.add_argument("--snapshot", metavar="NAME", help="which snapshot (default: latest)")
    restore.add_argument("--user", metavar="ADDRESS", help="restore only this account")
    restore.add_argument("--mailbox", metavar="NAME", help="only this mailbox (and below)")
    restore.add_argument("--message-id", metavar="ID", help="only the messages with this id")
    restore.add_argument("--since", type=_date, metavar="DATE", help="arrived on or after DATE")
    restore.add_argument("--before", type=_date, metavar="DATE", help="arrived before DATE")
    restore.set_defaults(command=restore_command)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a number of snapshots (1 or more): {text!r}")
    return int(text)


def _date(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (2026-12-06 or ISO 8601)") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def backup_command(ctx: Context, args: argparse.Namespace) -> int:
    dest: Path = args.dest
    if args.verify:
        return _verify(ctx, dest)
    if ctx.config.database_url:
        raise CommandError(POSTGRESQL)
    ctx.require_store()
    progress = Progress(ctx.stderr, "backup", unit="message files copied")
    try:
        result = take_backup(
            ctx.config.data_dir / DATABASE, ctx.config.data_dir / BLOBS, dest, progress
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    progress.done()
    for problem in result.problems:
        print(f"roost: {problem}", file=ctx.stderr)
    if result.problems:
        raise CommandError(f"backup incomplete: {len(result.problems)} message file(s) missing")
    ctx.say(
        f"backup {result.snapshot.path}: {result.blobs} message files, {result.copied} new "
        f"({result.octets / 1e6:.1f} MB copied) in {progress.elapsed():.1f} s"
    )
    if args.keep is not None:
        gone, files = prune(dest, args.keep)
        if gone:
            ctx.say(f"removed snapshots {', '.join(gone)} and {files} message files only they used")
    return 0


def _verify(ctx: Context, dest: Path) -> int:
    progress = Progress(ctx.stderr, "verify", unit="message files")
    try:
        result = verify_backup(dest, progress)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    progress.done()
    for problem in result.problems:
        ctx.say(problem)
    state = "sound" if not result.problems else f"{len(result.problems)} problem(s)"
    ctx.say(f"verified {result.snapshots} snapshots and {result.blobs} message files: {state}")
    return 0 if not result.problems else 1


def restore_command(ctx: Context, args: argparse.Namespace) -> int:
    try:
        snapshot = find_snapshot(args.source, args.snapshot)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.user is None:
        if args.mailbox or args.message_id or args.since or args.before:
            raise CommandError("--mailbox, --message-id, --since and --before need --user")
        return _restore_server(ctx, snapshot, args.source)
    return _restore_account(ctx, snapshot, args)


def _restore_server(ctx: Context, snapshot: Snapshot, source: Path) -> int:
    if ctx.config.database_url:
        raise CommandError(POSTGRESQL.replace("back it up", "restore it") + "; --user works")
    progress = Progress(ctx.stderr, "restore", unit="message files")
    data_dir = ctx.config.data_dir
    try:
        problems = restore_server(
            snapshot, source / BACKUP_BLOBS, data_dir / DATABASE, data_dir / BLOBS, progress
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    progress.done()
    for problem in problems:
        print(f"roost: {problem}", file=ctx.stderr)
    ctx.say(f"restored snapshot {snapshot.name} into {data_dir}; start the server")
    return 1 if problems else 0


def _restore_account(ctx: Context, snapshot: Snapshot, args: argparse.Namespace) -> int:
    address = address_argument(args.user)
    only = MessageFilter(message_id=args.message_id, since=args.since, before=args.before)
    progress = Progress(ctx.stderr, "restore")
    with tempfile.TemporaryDirectory(prefix="roost-restore-") as tmp:
        # The snapshot stays untouched: opening a store migrates and writes beside it.
        opened = Path(tmp)
        shutil.copyfile(snapshot.database, opened / DATABASE)
        (opened / BLOBS).symlink_to(
            (args.source / BACKUP_BLOBS).resolve(), target_is_directory=True
        )
        backup_config = dataclasses.replace(ctx.config, data_dir=opened, database_url="")

        async def run(store: Store) -> RestoreReport:
            source = await ctx.open_store(backup_config)
            try:
                return await restore_account(
                    source,
                    store,
                    address,
                    progress,
                    mailbox=args.mailbox,
                    only=None if only == MessageFilter() else only,
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            finally:
                await source.close()

        report = ctx.with_store(run)
    progress.done()
    if report.account_created:
        ctx.say(f"re-created account {address}")
    for box in report.mailboxes:
        if box.same:
            how = "UIDVALIDITY kept"
        elif box.created:
            how = "re-created, new UIDVALIDITY"
        else:
            how = "as new mail in the mailbox of that name, UIDVALIDITY"
        if box.added or box.created:
            ctx.say(f"{box.name}: {box.added} messages restored ({how} {box.uidvalidity})")
    ctx.say(f"restored {report.added} messages of {address} from snapshot {snapshot.name}")
    return 0
