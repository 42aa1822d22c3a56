"""`newsintel backfill gkg`: the scan stage against a bare baseline, the load stage, Ray.

The files are written by tests/gkgserver.py (seeded, GDELT's 27-column layout, one zip
per 15 minutes, rows of mixed topics) and served from a child process, so that the
server's CPU is not the driver's. The runs, over the same files:

- bare: this process unzips every file (downloaded beforehand) and splits its rows
  into their 27 fields with the same reader newsintel uses (``zip_lines`` +
  ``gkg_fields``), nothing else: the per-file floor;
- scan stage: ``process_file`` on every file in a process pool of one worker per core
  (``scale.files.run_local``): download, md5, streamed unzip, parse, theme filter,
  Parquet shard. No database;
- load stage: ``backfill gkg`` over those shards (each reused, none downloaded again):
  the driver reads each shard and stores its stories through identity /
  near-duplicates into a fresh DuckDB file;
- local and ray: the whole ``backfill gkg`` (scan and load together, as a user runs
  it) with ``--engine local`` and ``--engine ray`` (a local Ray started before the
  clock; its start reported apart), each into a fresh database.

Targets (issue 14): the scan stage's cost per file at most 1.2x the bare per-file
cost, both as CPU seconds of the thread doing the work (``FileResult.cpu_seconds``
against ``time.thread_time`` around the bare loop), medians over the files, so that
a worker's first file (lazy imports) and other jobs on the machine do not count; and
Ray's wall time at most 1.3x the local engine's. The load stage has no target: it is
reported per file. Figures are per core, so runs on other machines compare.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.record import ROOT, BenchResult, Figure, check

SEED = 20261203
FILES = 48
ROWS = 1_500
RAY_OVERHEAD_MAX = 1.3
PER_FILE_MAX = 1.2
THEMES = """
[[themes]]
name = "lithium"
description = "Lithium mining and prices."
keywords = ["lithium", "spodumene"]
gkg_themes = ["ENV_RECYCLING"]

[[themes]]
name = "robots"
description = "Humanoid robots."
keywords = ["humanoid robot"]
"""


@contextmanager
def gkg_server(files: int, rows: int) -> Iterator[str]:
    """tests/gkgserver.py in a child process; yields its master list URL."""
    argv = [sys.executable, str(ROOT / "tests" / "gkgserver.py"), str(SEED), str(files)]
    child = subprocess.Popen(
        [*argv, str(rows)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"GKG server did not start (said {url!r})")
        yield url
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _bare(blobs: list[bytes]) -> tuple[list[float], int]:
    """CPU seconds per file to unzip and split every row into its fields, and the rows."""
    from newsintel.backfill.gkg import GKG_COLUMNS, gkg_fields, zip_lines

    seconds: list[float] = []
    rows = 0
    for data in blobs:
        started = time.thread_time()
        rows += sum(len(fields) == GKG_COLUMNS for fields in gkg_fields(zip_lines(data)))
        seconds.append(time.thread_time() - started)
    return seconds, rows


def run(files: int = FILES, rows: int = ROWS) -> BenchResult:
    """Time the bare reader, the scan and load stages, the local and the Ray engine."""
    sys.path.insert(0, str(ROOT / "tests"))
    import httpx

    from newsintel.backfill.gkg import parse_master, theme_filter
    from newsintel.config import load_settings
    from newsintel.jobs.backfill_gkg import FILE_TIMEOUT_S, backfill_gkg
    from newsintel.scale.files import run_local
    from newsintel.themes.definitions import load_themes

    at_size = (files, rows) == (FILES, ROWS)
    cores = os.cpu_count() or 1
    day = "2024-03-01"
    until = "2024-03-03"  # up to 192 files of 15 minutes
    with tempfile.TemporaryDirectory() as folder, gkg_server(files, rows) as master_url:
        themes = Path(folder) / "themes.toml"
        themes.write_text(THEMES)

        def settings(name: str) -> object:
            return load_settings(
                env={},
                config_file=None,
                db=str(Path(folder) / f"{name}.duckdb"),
                themes_file=str(themes),
                gkg_master_url=master_url,
            )

        entries = parse_master(httpx.get(master_url, timeout=30).text).entries
        bare, bare_rows = _bare([httpx.get(e.url, timeout=30).content for e in entries])
        spec = theme_filter(load_themes(themes))
        shards = Path(folder) / "shards"
        started = time.perf_counter()
        scanned = [r for _, r in run_local(entries, spec, str(shards), FILE_TIMEOUT_S, cores)]
        scan_s = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        loaded = backfill_gkg(settings("load"), since=day, until=until, out_dir=shards)  # type: ignore[arg-type]
        load_s, load_cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        local = backfill_gkg(settings("local"), since=day, until=until)  # type: ignore[arg-type]
        local_s = time.perf_counter() - started
        import ray

        started = time.perf_counter()
        own = not ray.is_initialized()  # a running session (the tests') is used as it is
        if own:
            ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        ray_init_s = time.perf_counter() - started
        try:
            started = time.perf_counter()
            on_ray = backfill_gkg(
                settings("ray"),  # type: ignore[arg-type]
                since=day,
                until=until,
                engine="ray",
            )
            ray_s = time.perf_counter() - started
        finally:
            if own:
                ray.shutdown()
    bare_file = statistics.median(bare)
    scan_file = statistics.median(r.cpu_seconds for r in scanned)
    kept = sum(r.kept for r in scanned)
    figures = (
        Figure("bare unzip + split, CPU ms per file (median)", bare_file * 1e3, "ms"),
        Figure("  files/s (1 core, all files)", files / sum(bare), "files/s"),
        Figure("  rows/s (1 core, all files)", bare_rows / sum(bare), "rows/s"),
        Figure("scan stage, worker CPU ms per file (median)", scan_file * 1e3, "ms"),
        check(
            "scan stage / bare, CPU per file",
            scan_file / bare_file,
            "x",
            f"<= {PER_FILE_MAX}",
            scan_file / bare_file <= PER_FILE_MAX,
            at_target_size=at_size,
        ),
        Figure(
            "  worker CPU ms per file (mean, first files' imports in)",
            1e3 * sum(r.cpu_seconds for r in scanned) / files,
            "ms",
        ),
        Figure("  wall x cores per file (pool start in)", scan_s * cores / files * 1e3, "ms"),
        Figure("  rows kept of rows read", 100 * kept / max(bare_rows, 1), "%"),
        Figure(
            "load stage (shards -> DuckDB), driver CPU ms per file", load_cpu / files * 1e3, "ms"
        ),
        Figure("  wall ms per file", load_s / files * 1e3, "ms"),
        Figure("  stories stored per file", loaded.stories_added / files, "stories"),
        Figure("local engine (scan + load), files/s per core", files / local_s / cores, "files/s"),
        Figure("  rows/s per core", local.rows_read / local_s / cores, "rows/s"),
        Figure("  MB/s read", local.bytes_read / 1e6 / local_s, "MB/s"),
        Figure("ray engine, files/s per core", files / ray_s / cores, "files/s"),
        Figure("  rows/s per core", on_ray.rows_read / ray_s / cores, "rows/s"),
        Figure("  ray.init (not in the run)", ray_init_s, "s"),
        check(
            "ray wall / local wall",
            ray_s / local_s,
            "x",
            f"<= {RAY_OVERHEAD_MAX}",
            ray_s / local_s <= RAY_OVERHEAD_MAX,
            at_target_size=at_size,
        ),
        Figure(
            "  whole run's wall x cores per file / bare", local_s * cores / files / bare_file, "x"
        ),
        check(
            "files stored, local / ray",
            local.stored,
            f"/ {on_ray.stored} of {files}",
            "all, both",
            local.stored == on_ray.stored == files and not local.failed,
        ),
        check(
            "stories, load stage == local",
            loaded.stories_added,
            f"vs {local.stories_added}",
            "equal",
            loaded.stories_added == local.stories_added and loaded.shards_reused == files,
        ),
        check(
            "stories, local == ray",
            local.stories_added,
            f"vs {on_ray.stories_added}",
            "equal",
            local.stories_added == on_ray.stories_added,
        ),
    )
    notes = (
        f"{files} GKG zips x {rows:,} rows (seed {SEED}) from a loopback child process; "
        f"{cores} cores; local = process pool of {cores}, ray = ray.init(num_cpus={cores})",
        "scan stage / bare: median CPU seconds of the worker thread per file (download, "
        "md5, unzip, parse, filter, shard) against the median CPU seconds per file of "
        "unzip + split alone; the target applies to this ratio",
        "load stage: the driver's CPU (DuckDB threads included) storing the scan's shards "
        "(reused, no download); no target. The whole run's wall x cores per file is "
        "reported beside it, not checked",
    )
    return BenchResult("gkg", {"files": files, "rows": rows}, figures, notes)
