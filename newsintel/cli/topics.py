"""The `topics` group: build and list discovered topics."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from newsintel.cli.common import command, emit_json, json_option, missing
from newsintel.config import Settings

if TYPE_CHECKING:
    from newsintel.cli.common import Subparsers


def cmd_topics_build(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import build_topics

    report = build_topics(settings, window=args.window, seed=args.seed)
    if args.json:
        emit_json(report)
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
        emit_json(report)
        return 0
    from newsintel.cli.table import format_table

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


def add_topics(sub: Subparsers) -> None:
    """The `topics` group."""
    topics = command(
        sub, "topics", missing, "discovered topics (clusters of stories)", "newsintel topics list"
    )
    topics_sub = topics.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    p = command(
        topics_sub,
        "build",
        cmd_topics_build,
        "cluster embedded stories into topics, keeping ids of topics that continue",
        "newsintel topics build --window month --seed 0 --json",
        parents=[json_option("print a JSON report")],
    )
    p.add_argument(
        "--window", choices=["all", "month", "quarter"], default="all", help="time windows"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same topics)")
    p = command(
        topics_sub,
        "list",
        cmd_topics_list,
        "topics of the latest build, emerging ones first",
        "newsintel topics list --json",
        parents=[json_option("print JSON")],
    )
