"""GDELT replay: years of weekly ArtList windows plus monthly timelines, end to end.

``tests/gdeltserver.py`` serves ``bench_corpus`` (per theme: articles spread over the
years, three busy weeks of more than 250 that must be split, 5 % shared with the next
theme) from a child process with no added latency: in ours it would compete with the
client for the GIL, which no real API server does. ``jobs.backfill_gdelt`` runs with
``gdelt_min_interval = 0`` into a fresh DuckDB file; then runs again, which must make
no call and add nothing (the cursor).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from benchmarks.loopback import child_server
from benchmarks.record import ROOT, BenchResult, Figure, check, peak_rss_mb

THEMES = 8
PER_THEME = 12_500
YEARS = 3
SEED = 11
# The corpus ends here (a fixed past day: every window is final, none is re-asked).
END = date(2025, 6, 30)
WALL_TARGET_S = 60.0
MEMORY_TARGET_MB = 1_500.0


@contextmanager
def gdelt_server(themes: int, per_theme: int, years: int) -> Iterator[tuple[str, int, int]]:
    """Start tests/gdeltserver.py in a child process: (API URL, distinct articles,
    articles listed over all themes)."""
    argv = [str(ROOT / "tests" / "gdeltserver.py")]
    argv += [str(SEED), str(themes), str(per_theme), str(years), END.isoformat()]
    with child_server(argv, "GDELT server") as server:
        yield server.url, int(server.words[1]), int(server.words[2])


def _themes_file(path: Path, themes: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from gdeltserver import theme_query

    path.write_text(
        "".join(
            f'[[themes]]\nname = "theme{i}"\ndescription = "Synthetic theme {i}."\n'
            f"gdelt_query = '{theme_query(i)}'\n\n"
            for i in range(themes)
        ),
        "utf-8",
    )


def run(themes: int = THEMES, per_theme: int = PER_THEME, years: int = YEARS) -> BenchResult:
    """Replay ``themes`` x ``years`` of GDELT from loopback; see the module docstring."""
    import duckdb

    from newsintel.config import load_settings
    from newsintel.jobs.backfill_gdelt import backfill_gdelt

    at_size = (themes, per_theme, years) == (THEMES, PER_THEME, YEARS)
    since = END - timedelta(days=365 * years)
    until = END - timedelta(days=1)
    with (
        tempfile.TemporaryDirectory(prefix="newsintel-bench-") as tmp,
        gdelt_server(themes, per_theme, years) as (url, distinct, listed),
    ):
        themes_file = Path(tmp) / "themes.toml"
        _themes_file(themes_file, themes)
        settings = load_settings(
            env={},
            config_file=None,
            db=str(Path(tmp) / "gdelt.duckdb"),
            themes_file=str(themes_file),
            gdelt_api=url,
            gdelt_min_interval=0,
        )
        rss_before = peak_rss_mb()
        started = time.perf_counter()
        report = backfill_gdelt(settings, since=since, until=until, today=END)
        wall = time.perf_counter() - started
        rss_peak = peak_rss_mb()
        again = backfill_gdelt(settings, since=since, until=until, today=END)
        with duckdb.connect(settings.db, read_only=True) as con:
            row = con.execute(
                "SELECT count(*), count(DISTINCT url) FROM articles WHERE origin = 'gdelt'"
            ).fetchone()
            stored, urls = (int(row[0]), int(row[1])) if row else (0, 0)
            days_row = con.execute("SELECT count(*) FROM gdelt_timeline").fetchone()
            days = int(days_row[0]) if days_row else 0

    counts = report.status_counts()
    failed = counts.get("error", 0) + counts.get("rate_limited", 0)
    expected_days = themes * ((until - since).days + 1)
    figures = (
        check("backfill wall time (replay, interval 0)", wall, "s", f"< {WALL_TARGET_S:g} s",
              wall < WALL_TARGET_S, at_target_size=at_size),
        Figure("API calls", report.calls, ""),
        Figure("calls per second", report.calls / wall if wall else 0.0, "calls/s"),
        Figure("articles stored / distinct in the corpus", stored, f"of {distinct:,}",
               "all, once each", stored == distinct == urls),
        Figure("  articles listed by GDELT (shared ones once per theme)", listed, ""),
        Figure("timeline days stored / expected", days, f"of {expected_days:,}", "all",
               days == expected_days),
        Figure("windows split (250 returned)", counts.get("split", 0), ""),
        Figure("windows failed or capped", failed + counts.get("capped", 0), "", "0",
               failed + counts.get("capped", 0) == 0),
        Figure("second run: calls / articles added", again.calls + again.articles_added, "",
               "0", again.calls + again.articles_added == 0),
        check("peak RSS (VmHWM, whole process)", rss_peak, "MiB",
              f"< {MEMORY_TARGET_MB:,.0f} MiB", rss_peak < MEMORY_TARGET_MB,
              at_target_size=at_size),
        Figure("RSS growth during the backfill", rss_peak - rss_before, "MiB"),
    )  # fmt: skip
    notes = (
        f"server: tests/gdeltserver.py bench_corpus(seed={SEED}, themes={themes}, "
        f"per_theme={per_theme}, years={years}) in a child process, no added latency",
        f"windows {since.isoformat()}..{until.isoformat()}: monthly TimelineVolRaw, weekly "
        "ArtList split in two while 250 come back; NEWSINTEL_GDELT_MIN_INTERVAL=0",
        "the peak includes the process's earlier benchmarks when run with others",
    )
    return BenchResult(
        "gdelt",
        {"themes": themes, "per_theme": per_theme, "years": years},
        figures,
        notes,
    )
