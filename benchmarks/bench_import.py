"""`newsintel backfill import` of a 100,000-row GDELT GKG export into a fresh database.

The rows are generated (seeded): 2,000 outlets, dates over six years, slugs of eight
words, so every row gets a derived title and a new id. The import runs in this process
after the file is written; then the same file again (a re-import must add nothing).
Targets: under 30 s for 100k rows, peak memory under 1 GB (rows stream in batches).
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.record import BenchResult, Figure, check, peak_rss_mb

ROWS = 100_000
SEED = 20261203
TARGET_S = 30.0
TARGET_MB = 1_000.0
_WORDS = [
    "lithium",
    "battery",
    "price",
    "mine",
    "deal",
    "plant",
    "cobalt",
    "nickel",
    "supply",
    "demand",
    "output",
    "export",
    "refinery",
    "cathode",
    "spodumene",
    "brine",
    "project",
    "shares",
    "record",
    "falls",
    "rises",
    "china",
    "chile",
]


def write_export(path: Path, rows: int, seed: int = SEED) -> None:
    """A GKG-style export (DATE, url, tone) of ``rows`` distinct articles."""
    rng = random.Random(seed)
    start = datetime(2017, 1, 1)
    with path.open("w", encoding="utf-8") as out:
        out.write("DATE,url,tone\n")
        for i in range(rows):
            when = start + timedelta(minutes=15 * rng.randrange(6 * 365 * 96))
            slug = "-".join(rng.choice(_WORDS) for _ in range(8))
            out.write(
                f"{when:%Y-%m-%d %H:%M:%S},https://www.outlet{rng.randrange(2000)}.example/"
                f"news/{slug}-{i}/,{rng.uniform(-5, 5):.3f}\n"
            )


def run(rows: int = ROWS) -> BenchResult:
    """Time one import of ``rows`` rows and one re-import of the same file."""
    from newsintel.config import load_settings
    from newsintel.jobs.backfill_import import backfill_import

    at_size = rows == ROWS
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "export.csv"
        write_export(export, rows)
        settings = load_settings(env={}, config_file=None, db=str(Path(folder) / "db.duckdb"))
        started = time.perf_counter()
        first = backfill_import(settings, export, fmt="gdelt-gkg")
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = backfill_import(settings, export, fmt="gdelt-gkg")
        again_s = time.perf_counter() - started
    peak = peak_rss_mb()
    figures = (
        check(f"import of {rows:,} rows", seconds, "s", f"< {TARGET_S:g} s at 100k",
              seconds < TARGET_S, at_target_size=at_size),
        Figure("  rows per second", rows / seconds if seconds else 0.0, "rows/s"),
        check("stories added / rows", first.added, f"of {rows:,}", "all",
              first.added == rows),
        Figure("  outlets", first.outlets, ""),
        check("re-import adds", again.added, "stories", "0", again.added == 0),
        Figure("  re-import time", again_s, "s"),
        check("process peak memory", peak, "MB", f"< {TARGET_MB:,.0f} MB", peak < TARGET_MB,
              at_target_size=at_size),
    )  # fmt: skip
    notes = (
        f"{rows:,} generated GKG rows (DATE, url, tone), seed {SEED}: titles derived from "
        "the slugs, outlets from the hosts, 5,000 rows a transaction",
    )
    return BenchResult("import", {"rows": rows}, figures, notes)
