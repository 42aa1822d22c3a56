"""`python -m benchmarks [--only NAME] [--quick] [--output FILE]`: run, print, record.

Runs the benchmarks in order (ingest, embed, assign, analysis, topics, mail, app, gdelt,
archive, load, import, a11y), prints a table of every figure with its target and verdict,
and appends a dated section to BENCHMARKS.md. A missed target is a FAIL in the table, not an error:
the run exists to record figures. With ``--strict`` the exit status is 1 when any target
was missed (for scheduled runs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.record import (
    ROOT,
    BenchResult,
    Figure,
    append_section,
    check,
    command_line,
    machine_info,
)
from benchmarks.record import section as render_section
from benchmarks.record import table as render_table

# Size of each benchmark: the targets' sizes, and smaller ones for --quick.
FULL_SIZES: dict[str, dict[str, int]] = {
    "ingest": {"feeds": 1_000, "entries": 50},
    "embed": {"n": 2_000},
    "assign": {"n": 1_000_000},
    "analysis": {"themes": 20, "prices": 5},
    "analysis_size": {"pairs": 200},
    "topics": {"n": 100_000},
    "mail": {"messages": 10_000},
    "app": {"articles": 1_000_000},
    "gdelt": {"themes": 8, "per_theme": 12_500, "years": 3},
    "archive": {"pages": 5_000},
    "load": {
        "articles": 1_000_000,
        "sessions": 25,
        "cycles": 2,
        "feeds": 2,
        "think_s": 10,
        "repeats": 3,
    },
    "import": {"rows": 100_000},
    "gkg": {"files": 48, "rows": 1_500},
    "ray_embed": {"n": 2_000},
    "a11y": {"articles": 20_000, "pages": 7},
}
QUICK_SIZES: dict[str, dict[str, int]] = {
    "ingest": {"feeds": 100, "entries": 50},
    "embed": {"n": 200},
    "assign": {"n": 50_000},
    "analysis": {"themes": 4, "prices": 5},
    "analysis_size": {"pairs": 40},
    "topics": {"n": 10_000},
    "mail": {"messages": 1_000},
    "app": {"articles": 100_000},
    "gdelt": {"themes": 2, "per_theme": 2_000, "years": 1},
    "archive": {"pages": 1_000},
    "load": {"articles": 50_000, "sessions": 25, "cycles": 1, "feeds": 2},
    "import": {"rows": 10_000},
    "gkg": {"files": 12, "rows": 500},
    "ray_embed": {"n": 500},
    "a11y": {"articles": 5_000, "pages": 7},
}
NAMES = tuple(FULL_SIZES)


def _runner(name: str) -> Callable[..., BenchResult]:
    # Imported on demand: --only analysis should not pay for importing torch twice over.
    if name == "ingest":
        from benchmarks.bench_ingest import run as ingest

        return ingest
    if name == "embed":
        from benchmarks.bench_embed import run as embed

        return embed
    if name == "assign":
        from benchmarks.bench_assign import run as assign

        return assign
    if name == "topics":
        return _topics
    if name == "mail":
        from benchmarks.bench_mail import run as mail

        return mail

    if name == "archive":
        from benchmarks.bench_archive import run as archive

        return archive

    if name == "analysis_size":
        from benchmarks.bench_analysis_size import run as analysis_size

        return analysis_size
    if name == "app":
        from benchmarks.bench_app import run as app

        return app
    if name == "gdelt":
        from benchmarks.bench_gdelt import run as gdelt

        return gdelt

    if name == "load":
        from benchmarks.bench_load import run as load

        return load

    if name == "a11y":
        from benchmarks.bench_a11y import run as a11y

        return a11y

    if name == "import":
        from benchmarks.bench_import import run as backfill_import

        return backfill_import
    if name == "gkg":
        from benchmarks.bench_gkg import run as gkg

        return gkg
    if name == "ray_embed":
        from benchmarks.bench_ray_embed import run as ray_embed

        return ray_embed
    from benchmarks.bench_analysis import run as analysis

    return analysis


def _topics(n: int) -> BenchResult:
    """bench_topics' figures as a BenchResult (targets: < 60 s and < 4 GB at 100k)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from benchmarks.bench_topics import N, run

    # In a fresh process: its peak RSS is then the topics build's own, not that of the
    # benchmarks run before it in this process (assign peaks above 5 GB).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        figures = pool.submit(run, n).result()
    at_size = n == N
    return BenchResult(
        "topics",
        {"n": n, "dim": figures["dim"], "planted_topics": figures["planted_topics"]},
        (
            check(
                "cluster + label time",
                figures["seconds"],
                "s",
                "< 60 s at 100k",
                bool(figures["seconds_ok"]),
                at_target_size=at_size,
            ),
            check(
                "process peak memory",
                figures["process_peak_rss_mb"],
                "MB",
                "< 4,000 MB",
                bool(figures["memory_ok"]),
                at_target_size=at_size,
            ),
            Figure("topics found", figures["topics_found"], ""),
            Figure("NMI vs planted", figures["nmi"], ""),
            Figure("outlier share", figures["outlier_share"], ""),
        ),
        (f"traced peak {figures['traced_peak_mb']} MB; ARI {figures['ari']}",),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks; with --strict, return 1 when a target was missed."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", choices=NAMES, action="append", help="run just this one")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "BENCHMARKS.md",
        help="Markdown file the section is appended to (default: BENCHMARKS.md)",
    )
    args = parser.parse_args(args_list)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    names = [n for n in NAMES if not args.only or n in args.only]
    command = command_line(args_list)
    started_at = datetime.now(UTC)
    machine = machine_info()  # before the runs: the load average is the one they met
    print(f"{command}\n" + "\n".join(f"  {k}: {v}" for k, v in machine.items()), flush=True)

    results: list[BenchResult] = []
    started = time.perf_counter()
    for name in names:
        print(f"\n== {name} {sizes[name]}", flush=True)
        t0 = time.perf_counter()
        result = _runner(name)(**sizes[name])
        print(f"   done in {time.perf_counter() - t0:.1f} s", flush=True)
        print(render_table([result]), flush=True)
        results.append(result)
    seconds = time.perf_counter() - started

    print("\n" + render_table(results), flush=True)
    append_section(
        args.output,
        render_section(command, machine, results, started=started_at, seconds=seconds),
    )
    print(f"\nappended to {args.output}")
    return 1 if args.strict and any(r.failed for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
