"""The `themes` group: assign, list, train, explain."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from newsintel.cli.common import command, emit_json, json_option, json_ready, missing, progress
from newsintel.config import Settings

if TYPE_CHECKING:
    from newsintel.cli.common import Subparsers


def cmd_themes_assign(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import assign_themes

    report = assign_themes(settings, full=args.full, progress=progress(args))
    if args.json:
        emit_json(report)
        return 0
    kept = f"; kept the scores of {report.kept} (themes unchanged)" if report.kept else ""
    print(f"scored {report.articles} articles ({report.method}){kept}")
    for theme, count in report.members.items():
        print(f"  {theme:<22} {count:>7} articles")
    return 0


def cmd_themes_list(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import list_themes

    summaries = list_themes(settings)
    if args.json:
        emit_json(summaries)
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
        emit_json(
            {
                "article_id": explanation.article_id,
                "title": explanation.title,
                "themes": [{**json_ready(e), "reason": e.reason()} for e in explanation.themes],
            }
        )
        return 0
    print(f"{explanation.article_id}: {explanation.title}")
    for e in explanation.themes:
        print(f"  {'+' if e.member else '-'} {e.reason()}")
    return 0


def add_themes(sub: Subparsers) -> None:
    """The `themes` group."""
    themes = command(sub, "themes", missing, "tracked themes", "newsintel themes list")
    themes_sub = themes.add_subparsers(dest="themes_command", metavar="ACTION", required=True)
    p = command(
        themes_sub,
        "assign",
        cmd_themes_assign,
        "score articles against tracked themes",
        "newsintel themes assign",
        parents=[json_option("print a JSON report")],
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="score every article again (by default only articles without scores are "
        "scored while themes, classifiers and model are unchanged)",
    )
    p = command(
        themes_sub,
        "list",
        cmd_themes_list,
        "list themes with story counts",
        "newsintel themes list --json",
        parents=[json_option("print JSON")],
    )

    p = command(
        themes_sub,
        "train",
        cmd_themes_train,
        "train theme classifiers on labelled articles (JSON lines: title, text, themes)",
        "newsintel themes train data/eval/themes_labelled.jsonl --split calibrate",
    )
    p.add_argument("file", metavar="FILE", help="labelled articles, one JSON object per line")
    p.add_argument("--split", help="use only lines whose 'split' field has this value")
    p.add_argument("--out", metavar="PATH", help="classifiers file (default: the setting)")
    p = command(
        themes_sub,
        "explain",
        cmd_themes_explain,
        "why an article got (or missed) each theme",
        "newsintel themes explain 3f2a9c1e5b7d4a60",
        parents=[json_option("print JSON")],
    )
    p.add_argument("article_id", metavar="ARTICLE_ID", help="an article_id from v_articles")
