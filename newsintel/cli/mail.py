"""The `mail` group: newsletters from email (IMAP mailboxes are read by ingest)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from newsintel.cli.common import command, emit_json, json_option, missing, progress
from newsintel.config import Settings

if TYPE_CHECKING:
    from newsintel.cli.common import Subparsers


def cmd_mail_import(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs.mail import import_mail

    report = import_mail(
        settings,
        Path(args.path),
        source=args.source,
        resolve_links=args.resolve_links,
        progress=progress(args),
    )
    if args.json:
        emit_json(report)
        return 0
    for skipped in report.skipped:
        print(f"  skipped {skipped.name}: {skipped.reason}", file=sys.stderr)
    print(
        f"mail {report.path}: {report.messages} messages, {report.stories} stories, "
        f"{report.new_articles} new articles; {len(report.skipped)} skipped, "
        f"{report.attachments} attachments ignored, {report.estimated_dates} estimated dates"
        + (f", {report.links_resolved} links resolved" if args.resolve_links else "")
        + f" ({report.seconds:.1f} s)"
    )
    return 0


def add_mail(sub: Subparsers) -> None:
    """The ``mail`` group: newsletters from email (IMAP mailboxes are read by ingest)."""
    mail = command(
        sub, "mail", missing, "newsletters from email", "newsintel mail import inbox.mbox"
    )
    mail_sub = mail.add_subparsers(dest="mail_command", metavar="ACTION", required=True)
    p = command(
        mail_sub,
        "import",
        cmd_mail_import,
        "store the stories of the newsletters in an mbox, Maildir, .eml or folder of .eml",
        "newsintel mail import ~/Mail/newsletters.mbox --source 'The Download' --json",
        parents=[json_option("print a JSON report")],
    )
    p.add_argument("path", metavar="PATH", help="mbox file, Maildir folder, .eml or .eml folder")
    p.add_argument(
        "--source",
        metavar="NAME",
        help="newsletter name for every message (default: List-Id, else From)",
    )
    p.add_argument(
        "--resolve-links",
        action="store_true",
        help="follow each story link's redirects (politely, once per link, kept in the "
        "database) to the article at their end; by default nothing is fetched",
    )
