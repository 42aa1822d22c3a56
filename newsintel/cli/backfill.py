"""The `backfill` group: history from before the feeds began (GDELT, archives, imports)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsintel.cli.common import (
    FEEDS_OPTION,
    check_window,
    command,
    emit_json,
    iso_day,
    json_option,
    missing,
    progress,
)
from newsintel.config import Settings

if TYPE_CHECKING:
    from newsintel.cli.common import Subparsers


def _print_backfill_gdelt(report: Any) -> None:
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for theme in report.themes:
        if theme.query is None:
            print(f"gdelt {theme.theme}: {theme.note}")
            continue
        parts = []
        for mode, name in (("TimelineVolRaw", "timeline"), ("ArtList", "article")):
            counts: dict[str, int] = {}
            for window in theme.windows:
                if window.mode == mode:
                    counts[window.status] = counts.get(window.status, 0) + 1
            shown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            parts.append(f"{name} windows: {shown or 'none asked'}")
        served = (
            f"timeline {theme.timeline_first}..{theme.timeline_last} ({theme.timeline_days} days)"
            if theme.timeline_days
            else "no timeline stored"
        )
        resumed = f"; {theme.resumed} already done" if theme.resumed else ""
        print(
            f"gdelt {theme.theme}: {'; '.join(parts)}{resumed}; "
            f"{theme.articles_added} articles added; {served}"
        )
        for window in theme.problems:
            print(
                f"  {window.status:<12} {window.mode} {window.label()}: {window.detail}",
                file=sys.stderr,
            )
    counts = report.status_counts()
    gaps = counts.get("rate_limited", 0) + counts.get("error", 0)
    tail = f"; {gaps} windows left to fill: re-run the same command" if gaps else ""
    print(
        f"gdelt {report.since}..{report.until}: {report.calls} calls, "
        f"{report.articles_added} articles added ({report.seconds:.1f} s){tail}"
    )


def cmd_backfill_gdelt(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs.backfill_gdelt import backfill_gdelt

    check_window(args.since, args.until)
    report = backfill_gdelt(
        settings,
        since=args.since,
        until=args.until,
        themes=args.theme or (),
        progress=progress(args),
    )
    if args.json:
        emit_json(report)
    else:
        _print_backfill_gdelt(report)
    return 0


def _print_archive(report: Any) -> None:
    shown = 20  # a site can fail thousands of pages alike: the first ones say enough
    for line in report.problems[:shown]:
        print(f"  {line}", file=sys.stderr)
    if len(report.problems) > shown:
        print(f"  ... and {len(report.problems) - shown} more problems", file=sys.stderr)
    paged = (
        f"paged feed ({report.paged_style or 'page 1 only'}): {report.pages_fetched} pages "
        f"fetched, {report.pages_already_done} already done, stop: {report.paged_stop or '-'}"
    )
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items())) or "none"
    print(paged + (f" ({report.paged_note})" if report.paged_note else ""))
    if report.sitemaps_read or report.sitemaps_tried:
        print(
            f"sitemaps: {len(report.sitemaps_read)} read; {report.urls_listed} pages listed, "
            f"{report.urls_in_window} in window, {report.urls_already_done} already done; "
            f"fetched: {statuses}"
        )
    print(
        f"{report.source_id} {report.since}..{report.until}: new articles "
        f"{report.new_articles} ({report.requests} requests, {report.seconds:.1f} s)"
    )


def cmd_backfill_archive(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs.backfill_archive import backfill_archive, parse_day

    since = parse_day(args.since, "--since")
    until = parse_day(args.until, "--until") if args.until else None
    check_window(since, until)
    report = backfill_archive(
        settings,
        args.feed,
        since,
        until,
        feeds_file=Path(args.feeds) if args.feeds else None,
        progress=progress(args),
    )
    if args.json:
        emit_json(report)
    else:
        _print_archive(report)
    return 0


def cmd_backfill_import(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs.backfill_import import backfill_import

    report = backfill_import(
        settings, Path(args.file), fmt=args.format, source=args.source, progress=progress(args)
    )
    if args.json:
        emit_json(report)
        return 0
    for problem in report.problems:
        print(f"  skipped {problem}", file=sys.stderr)
    print(
        f"{report.file}: {report.rows} rows; added {report.added}, already stored "
        f"{report.already_stored}, skipped {report.bad} bad and {report.untitled} untitled; "
        f"{report.titles_derived} titles derived from URLs; {report.outlets} sources; "
        f"{report.first_published or '-'} .. {report.last_published or '-'} "
        f"({report.seconds:.1f} s)"
    )
    return 0


def add_backfill(sub: Subparsers) -> Subparsers:
    """The ``backfill`` group and its sources; returns the group's subparsers."""
    backfill = command(
        sub,
        "backfill",
        missing,
        "history for the series: stories and attention from before the feeds began",
        "newsintel backfill gdelt --since 2021-01-01",
    )
    backfill_sub = backfill.add_subparsers(dest="backfill_command", metavar="SOURCE", required=True)
    p = command(
        backfill_sub,
        "gdelt",
        cmd_backfill_gdelt,
        "GDELT DOC API: daily attention series (gdelt:<theme>, gdelt:<theme>:share) and "
        "dated stories per theme; re-runs resume and add nothing",
        "newsintel backfill gdelt --theme lithium_batteries --since 2021-01-01 --until 2023-12-31",
        parents=[json_option("print a JSON report with every window")],
    )
    p.add_argument(
        "--theme",
        action="append",
        metavar="NAME",
        help="a theme of the themes file (repeatable; default: every theme with a gdelt_query)",
    )
    p.add_argument(
        "--since",
        type=iso_day,
        required=True,
        metavar="YYYY-MM-DD",
        help="first day (GDELT starts at 2017-01-01; earlier is clamped)",
    )
    p.add_argument("--until", type=iso_day, metavar="YYYY-MM-DD", help="last day (default: today)")
    _add_backfill_archive_command(backfill_sub)
    _add_backfill_import_command(backfill_sub)
    _add_backfill_gkg_command(backfill_sub)
    return backfill_sub


def _add_backfill_archive_command(backfill_sub: Subparsers) -> None:
    """`newsintel backfill archive` (one call in the backfill group)."""
    p = command(
        backfill_sub,
        "archive",
        cmd_backfill_archive,
        "backfill an outlet's stories from its paged feed (?paged=N, /page/N/) and "
        "sitemaps, politely (robots.txt, one request at a time per host); re-run to resume",
        "newsintel backfill archive Electrek --since 2021-01-01 --until 2023-12-31",
        parents=[FEEDS_OPTION, json_option("print a JSON report")],
    )
    p.add_argument("feed", metavar="FEED", help="a configured feed's name, or a feed/site URL")
    p.add_argument("--since", required=True, metavar="YYYY-MM-DD", help="first day to backfill")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="last day to backfill (default today)")


def _add_backfill_import_command(backfill_sub: Subparsers) -> None:
    """`newsintel backfill import` (one call in the backfill group)."""
    p = command(
        backfill_sub,
        "import",
        cmd_backfill_import,
        "import an article list: a GDELT GKG/BigQuery export (date, url, tone), DOC API "
        "ArtList JSON, or a CSV with url, title, published_at [, text, source]. Stories "
        "without a title get one from the URL (marked derived). Bad rows are skipped and "
        "named by line; a file missing columns is refused; a re-import adds nothing.",
        "newsintel backfill import gdelt_lithium.csv --format gdelt-gkg --json",
        parents=[json_option("print a JSON report")],
    )
    p.add_argument("file", metavar="FILE", help="the file to import")
    p.add_argument(
        "--format", required=True, choices=["gdelt-gkg", "gdelt-doc", "csv"], help="file format"
    )
    p.add_argument(
        "--source",
        metavar="NAME",
        help="store every story under this source (default: the file's source column, "
        "else the URL's site as an outlet)",
    )


def cmd_backfill_gkg(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs.backfill_gkg import backfill_gkg
    from newsintel.progress import JsonLinesProgress

    report = backfill_gkg(
        settings,
        since=args.since,
        until=args.until,
        themes=args.theme or (),
        engine=args.engine,
        ray_address=args.ray_address,
        out_dir=Path(args.out) if args.out else None,
        # A long scan reports as it goes under --json too: JSON lines on stderr.
        progress=JsonLinesProgress() if args.json else progress(args),
    )
    if args.json:
        emit_json(report.to_dict())
        return 0 if not report.failed else 1
    if report.dashboard:
        print(f"Ray dashboard: {report.dashboard}")
    for line in report.master_bad_lines:
        print(f"  master list {line}", file=sys.stderr)
    for failure in report.failed:
        print(f"  {failure.url}: {failure.status}: {failure.error}", file=sys.stderr)
    print(
        f"GKG {report.since} .. {report.until} ({report.engine}): {report.files} files, "
        f"{report.already_stored} stored before, {report.stored} stored now, "
        f"{len(report.failed)} failed; {report.bytes_read / 1e6:.1f} MB, "
        f"{report.rows_read} rows, {report.rows_kept} kept, {report.rows_bad} bad; "
        f"{report.stories_added} stories added ({report.seconds:.1f} s)"
    )
    return 0 if not report.failed else 1


def _add_backfill_gkg_command(backfill_sub: Subparsers) -> None:
    """`newsintel backfill gkg` (one call in the backfill group)."""
    p = command(
        backfill_sub,
        "gkg",
        cmd_backfill_gkg,
        "GDELT Global Knowledge Graph 2.1 files of a period (from the master file list): "
        "download, md5 check, parse, keep rows of the themes, store as stories (origin "
        "gdelt-gkg); on a process pool or a Ray cluster; re-run to resume and retry failures",
        "newsintel backfill gkg --since 2024-01-01 --until 2024-01-31 --theme lithium_batteries "
        "--engine ray --json",
        parents=[
            json_option(
                "print a JSON report with the failed files (progress as JSON lines on stderr)"
            )
        ],
    )
    p.add_argument("--since", required=True, metavar="DATE", help="first day (YYYY-MM-DD, UTC)")
    p.add_argument("--until", required=True, metavar="DATE", help="last day, included")
    p.add_argument(
        "--theme",
        action="append",
        metavar="NAME",
        help="a theme of the themes file (repeatable; default: every theme)",
    )
    p.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: a process pool on this machine; ray: Ray tasks (needs newsintel[scale])",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="a Ray cluster (HOST:PORT, ray://HOST:PORT or auto; default: a local Ray)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder for the Parquet shards (default: gkg-shards beside the database; on "
        "a cluster, one every node can write)",
    )


# --- parser -----------------------------------------------------------------------------
