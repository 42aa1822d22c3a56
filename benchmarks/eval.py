"""`python -m benchmarks.eval`: theme and topic quality, appended to BENCHMARKS.md.

Runs benchmarks.eval_themes (labelled set: newsintel vs similarity, keywords and
BERTopic zero-shot) and benchmarks.eval_topics (AG News: newsintel vs BERTopic
defaults) in one run and records both tables with the command and the machine.
BERTopic comes from pyproject.toml's "eval" extra (`make eval` installs it).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.record import ROOT, append_section, machine_info


def main(argv: Sequence[str] | None = None) -> int:
    """Run both evaluations, print their tables and append them to the output file."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval", description=__doc__)
    parser.add_argument("--no-bertopic", action="store_true", help="skip the BERTopic peers")
    parser.add_argument(
        "--no-topics", action="store_true", help="skip the topic eval (it needs ../shared)"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(args_list)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with_bertopic = not args.no_bertopic and importlib.util.find_spec("bertopic") is not None

    from benchmarks import eval_themes, eval_topics

    started_at = datetime.now(UTC)
    machine = machine_info()
    started = time.perf_counter()
    themes = eval_themes.run(with_bertopic=with_bertopic)
    print(themes["markdown"], flush=True)
    topic_table = "(not run: --no-topics)"
    if not args.no_topics:
        topics = eval_topics.evaluate(bertopic_runs=1 if with_bertopic else 0)
        topic_table = eval_topics.markdown(topics)
        print(topic_table, flush=True)
    seconds = time.perf_counter() - started

    command = "python -m benchmarks.eval " + " ".join(args_list)
    if os.environ.get("MAKELEVEL"):
        command += "  (via `make eval`)"
    stamp = started_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {stamp}: eval (themes, topics)",
        "",
        f"Command: `{command.strip()}` (total {seconds:.0f} s)",
        "",
        "Machine:",
        "",
        *[f"- {k}: {v}" for k, v in machine.items()],
        "",
        f"### Theme assignment: test split ({themes['test_items']} items; fitted and "
        f"calibrated on the calibrate split, {themes['calibrate_items']} items)",
        "",
        "newsintel = trained classifiers (`newsintel themes train`); similarity = best "
        "cosine to the theme's prototypes with a per-theme threshold calibrated on the "
        "calibrate split; keywords = any keyword as a whole word; BERTopic zero-shot = "
        "`zeroshot_topic_list` with the theme descriptions, at its default similarity "
        f"bar and at the bar calibrated on the calibrate split "
        f"({themes.get('bertopic_min_similarity')}); BERTopic gives one topic per article. "
        "The title-only columns use the same fitted methods on the test articles with "
        "their text removed (backfilled GDELT and imported stories are often a title "
        "only).",
        "",
        str(themes["markdown"]),
        "",
        "### Discovered topics: AG News test split (7,600 items, number of classes not given)",
        "",
        topic_table,
        "",
    ]
    append_section(args.output, "\n".join(lines))
    print(f"\nappended to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
