"""`roost migrate --from imaps://user@host [--password-file F] [--user ADDRESS]`: copies an
account from another IMAP server, keeping UIDVALIDITY and UIDs where the mailbox here is
new, flags, keywords, INTERNALDATE, subscriptions and special use (roost.transfer.migrate).
Run again, it resumes where it stopped and brings over the source's new mail and flag
changes, so it can be repeated until the cut-over; `--sync SECONDS` does that by itself
until interrupted.

The password is the first line of --password-file, else of stdin, else asked for on a
terminal. An account that does not exist here yet is created with that same password.
"""

from __future__ import annotations

import argparse
import contextlib
import imaplib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from roost.auth.passwords import hash_password
from roost.cli import CommandError, address_argument
from roost.store.api import Store
from roost.transfer.migrate import (
    MigrateReport,
    Source,
    SourceError,
    connect,
    migrate_account,
    parse_source,
)
from roost.transfer.progress import Progress

if TYPE_CHECKING:
    from roost.cli import Context


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = groups.add_parser(
        "migrate", help="copy an account from another IMAP server, keeping its UIDs (resumable)"
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="imaps://user@host[:port] (imap:// without TLS, for a server on a trusted link)",
    )
    parser.add_argument("--password-file", type=Path, metavar="FILE", help="its first line")
    parser.add_argument("--user", metavar="ADDRESS", help="the account here (default: the URL's)")
    parser.add_argument(
        "--insecure", action="store_true", help="do not verify the source's TLS certificate"
    )
    parser.add_argument(
        "--sync",
        type=float,
        metavar="SECONDS",
        help="keep running, every SECONDS, until interrupted (Ctrl-C): up to the cut-over",
    )
    parser.set_defaults(command=migrate)


def _password(ctx: Context, path: Path | None) -> str:
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        password = lines[0] if lines else ""
    elif ctx.stdin.isatty():
        password = ctx.getpass("Password at the source: ")
    else:
        password = ctx.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise CommandError("no password for the source")
    return password


def migrate(ctx: Context, args: argparse.Namespace) -> int:
    try:
        source = parse_source(args.source)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    address = address_argument(args.user or source.user)
    password = _password(ctx, args.password_file)
    every: float | None = args.sync
    while True:
        report, created = _one_run(ctx, source, address, password, verify=not args.insecure)
        if created:
            ctx.say(f"created {address} (with the source's password)")
        for box in report.mailboxes:
            if every is not None and not (box.copied or box.flags_updated):
                continue  # a sync says what changed, not every quiet mailbox each time
            how = "UIDs kept" if box.kept_uids else "as new mail (the mailbox here had mail)"
            updated = f", flags updated on {box.flags_updated}" if box.flags_updated else ""
            ctx.say(f"{box.name}: {box.copied} messages copied, {how}{updated}")
        ctx.say(f"migrated {report.copied} messages from {source.host} into {address}")
        if every is None:
            return 0
        # Ctrl-C (or SIGINT) ends it between runs or within one: each batch is one
        # commit, so nothing is half-copied.
        time.sleep(every)


def _one_run(
    ctx: Context, source: Source, address: str, password: str, *, verify: bool
) -> tuple[MigrateReport, bool]:
    try:
        imap = connect(source, password, verify=verify)
    except SourceError as exc:
        raise CommandError(f"cannot log in at the source: {exc}") from None
    progress = Progress(ctx.stderr, "migrate")

    async def run(store: Store) -> tuple[MigrateReport, bool]:
        account = await store.find_account(address)
        created = account is None
        if account is None:
            account = await store.create_account(address, hash_password(password))
        try:
            return await migrate_account(imap, store, account.id, progress), created
        except SourceError as exc:
            raise CommandError(f"the source: {exc}") from None

    try:
        result = ctx.with_store(run)
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()
    progress.done()
    return result
