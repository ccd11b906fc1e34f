"""`roost import maildir|mbox PATH --user U [--mailbox M]` and
`roost export --user U maildir|mbox PATH [--mailbox M]` (roost.transfer).

Import keeps flags and dates, recognises what an earlier run already brought in (so it
can be run again after an interruption, or on a source that grew), reports messages it
cannot read and goes on, and shows its progress on stderr. Its writes reach live sessions
like any other: an idling client sees the new mail at once. Export writes into a new
directory only.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from roost.cli import CommandError, address_argument
from roost.store.api import Account, Store
from roost.transfer.ingest import ImportReport, file_messages
from roost.transfer.maildir import count_maildir, export_maildir, read_maildir
from roost.transfer.mbox import export_mbox, read_mbox
from roost.transfer.progress import Progress

if TYPE_CHECKING:
    from roost.cli import Context

FORMATS = ("maildir", "mbox")


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    importing = groups.add_parser(
        "import", help="bring mail into an account from a Maildir or an mbox (idempotent)"
    )
    _account_options(importing, None)
    formats = importing.add_subparsers(title="formats", metavar="FORMAT", required=True)
    for name, what in (
        ("maildir", "a Maildir (with Maildir++ folders) into the account"),
        ("mbox", "an mbox file, or a directory of them (one mailbox each)"),
    ):
        sub = formats.add_parser(name, help=what)
        sub.add_argument("path", type=Path, metavar="PATH")
        _account_options(sub, argparse.SUPPRESS)
        sub.set_defaults(command=import_mail, format=name)

    exporting = groups.add_parser("export", help="write an account's mail as a Maildir or mbox")
    _account_options(exporting, None)
    formats = exporting.add_subparsers(title="formats", metavar="FORMAT", required=True)
    for name, what in (
        ("maildir", "a Maildir with Maildir++ folders, flags in the file names"),
        ("mbox", "a directory of mbox files, one per mailbox"),
    ):
        sub = formats.add_parser(name, help=what)
        sub.add_argument("path", type=Path, metavar="PATH")
        _account_options(sub, argparse.SUPPRESS)
        sub.set_defaults(command=export_mail, format=name)


def _account_options(parser: argparse.ArgumentParser, default: object) -> None:
    # Accepted before and after the format (`roost export --user U maildir PATH`); the
    # format's own default is SUPPRESS so that it never overwrites the value given first.
    parser.add_argument("--user", metavar="ADDRESS", default=default, help="the account")
    parser.add_argument(
        "--mailbox",
        metavar="NAME",
        default=default,
        help="import: the mailbox to fill (default INBOX; folders go below it); "
        "export: only this mailbox and those below it",
    )


def _account(args: argparse.Namespace) -> str:
    if not args.user:
        raise CommandError("--user ADDRESS is required")
    return address_argument(str(args.user))


async def _require_account(store: Store, address: str) -> Account:
    account = await store.find_account(address)
    if account is None:
        raise CommandError(f"no account {address}")
    return account


def import_mail(ctx: Context, args: argparse.Namespace) -> int:
    address = _account(args)
    path: Path = args.path
    target: str = args.mailbox or "INBOX"
    if not path.exists():
        raise CommandError(f"{path} does not exist")
    try:
        if args.format == "maildir":
            total: int | None = count_maildir(path)
            source = read_maildir(path)
        else:
            total, source = None, read_mbox(path)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    progress = Progress(ctx.stderr, "import", total=total)

    async def run(store: Store) -> ImportReport:
        account = await _require_account(store, address)
        try:
            return await file_messages(
                store,
                account.id,
                target,
                source,
                progress,
                max_size=ctx.config.max_message_size,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    report = ctx.with_store(run)
    progress.done()
    for item in report.skipped:
        print(f"roost: skipped {item.origin}: {item.reason}", file=ctx.stderr)
    if report.dropped_keywords:
        words = " ".join(sorted(report.dropped_keywords))
        print(f"roost: keywords that are no IMAP atoms were left out: {words}", file=ctx.stderr)
    created = f"; created {', '.join(report.created)}" if report.created else ""
    ctx.say(
        f"imported {report.added} messages into {address} ({report.present} already there, "
        f"{len(report.skipped)} skipped){created}"
    )
    return 0


def export_mail(ctx: Context, args: argparse.Namespace) -> int:
    address = _account(args)
    path: Path = args.path
    mailbox: str | None = args.mailbox
    progress = Progress(ctx.stderr, "export")

    async def run(store: Store) -> int:
        account = await _require_account(store, address)
        try:
            if args.format == "maildir":
                exported = await export_maildir(store, account, path, progress, mailbox=mailbox)
                if exported.dropped_keywords:
                    words = " ".join(sorted(exported.dropped_keywords))
                    print(f"roost: past 26 keywords a folder, left out: {words}", file=ctx.stderr)
                return exported.mailboxes
            return await export_mbox(store, account, path, progress, mailbox=mailbox)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    mailboxes = ctx.with_store(run)
    progress.done()
    ctx.say(f"exported {progress.count} messages in {mailboxes} mailboxes of {address} to {path}")
    return 0
