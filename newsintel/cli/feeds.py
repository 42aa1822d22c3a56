"""`newsintel ingest` and the `feeds` group: fetching feeds and managing the feeds file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsintel.cli.common import FEEDS_OPTION, command, emit_json, json_option, missing, progress
from newsintel.config import Settings

if TYPE_CHECKING:
    from newsintel.cli.common import Subparsers


def print_ingest(report: Any) -> None:
    for feed in report.feeds:
        if feed.status == "failed":
            print(f"  failed  {feed.name}: {feed.error}", file=sys.stderr)
    for box in report.mailboxes:
        if box.status == "failed":
            print(f"  failed  mailbox {box.name}: {box.error}", file=sys.stderr)
        else:
            print(f"  mailbox {box.name}: {box.messages} messages, {box.new_articles} new")
    print(
        f"feeds: {report.count('ok')} ok, {report.count('not_modified')} not modified, "
        f"{report.count('failed')} failed, {report.count('skipped')} skipped; "
        f"new articles: {report.new_articles} ({report.seconds:.1f} s)"
    )


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import ingest

    report = ingest(
        settings,
        Path(args.feeds) if args.feeds else None,
        force=args.force,
        progress=progress(args),
    )
    if args.json:
        emit_json(report)
    else:
        print_ingest(report)
    return 0


def cmd_feeds_list(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import feeds_health

    rows = feeds_health(settings, Path(args.feeds) if args.feeds else None)
    if args.json:
        emit_json(rows)
        return 0
    from newsintel.cli.table import format_table

    table = [
        (
            r.name,
            r.status + (" (STALE)" if r.stale else ""),
            r.last_success_at,
            r.consecutive_failures,
            r.next_check_at,
            r.articles,
            r.error or "",
        )
        for r in rows
    ]
    columns = ("feed", "status", "last success", "failures", "next check", "articles", "error")
    print(format_table(columns, table))
    return 0


def cmd_feeds_add(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import add_feed_url

    tags = [t.strip() for t in (args.tags or "").split(",") if t.strip()]
    feeds_file = Path(args.feeds or settings.feeds_file)
    source = add_feed_url(settings, args.url, args.name, tags, feeds_file)
    print(f"added {source.name} ({source.url}) to {feeds_file}")
    return 0


def cmd_feeds_import_opml(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import import_opml

    feeds_file = Path(args.feeds or settings.feeds_file)
    found, added = import_opml(settings, Path(args.file), feeds_file)
    print(
        f"imported {len(added)} of {len(found)} feeds into {feeds_file} "
        f"({len(found) - len(added)} already there)"
    )
    return 0


def cmd_feeds_export_opml(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import export_opml

    written = export_opml(settings, Path(args.file), Path(args.feeds or settings.feeds_file))
    print(f"wrote {written} feeds to {args.file}")
    return 0


def add_ingest(sub: Subparsers) -> None:
    """`newsintel ingest`."""
    p = command(
        sub,
        "ingest",
        cmd_ingest,
        "fetch every feed and store new articles",
        "newsintel ingest --feeds data/feeds.toml --json",
        parents=[FEEDS_OPTION, json_option("print a JSON report with per-feed status")],
    )
    p.add_argument("--force", action="store_true", help="fetch feeds even if not yet due")


def add_feeds(sub: Subparsers) -> None:
    """The `feeds` group."""
    feeds = command(
        sub, "feeds", missing, "the configured feeds and their health", "newsintel feeds list"
    )
    feeds_sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    p = command(
        feeds_sub,
        "list",
        cmd_feeds_list,
        "list feeds with their fetch health (status, failures, next check)",
        "newsintel feeds list --json",
        parents=[FEEDS_OPTION, json_option("print JSON")],
    )
    p = command(
        feeds_sub,
        "add",
        cmd_feeds_add,
        "add a feed to the feeds file",
        "newsintel feeds add https://electrek.co/feed/ --name Electrek --tags ev,energy",
        parents=[FEEDS_OPTION],
    )
    p.add_argument("url", metavar="URL", help="feed URL (or a local file path)")
    p.add_argument("--name", help="feed name (default: made from the URL)")
    p.add_argument("--tags", help="comma-separated tags")
    p = command(
        feeds_sub,
        "import-opml",
        cmd_feeds_import_opml,
        "add every feed of an OPML file to the feeds file",
        "newsintel feeds import-opml subscriptions.opml",
        parents=[FEEDS_OPTION],
    )
    p.add_argument("file", metavar="FILE", help="OPML file")
    p = command(
        feeds_sub,
        "export-opml",
        cmd_feeds_export_opml,
        "write the configured feeds as OPML",
        "newsintel feeds export-opml feeds.opml",
        parents=[FEEDS_OPTION],
    )
    p.add_argument("file", metavar="FILE", help="OPML file to write")
