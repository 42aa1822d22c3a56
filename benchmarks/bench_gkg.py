"""`newsintel backfill gkg`: GKG files per second, local engine vs Ray vs a bare baseline.

The files are written by tests/gkgserver.py (seeded, GDELT's 27-column layout, one zip
per 15 minutes, rows of mixed topics) and served from a child process, so that the
server's CPU is not the driver's. Three runs over the same files:

- bare: this process downloads nothing, it only unzips and parses every file with the
  same reader (``zip_lines`` + ``parse_gkg``), one after another: the per-file floor;
- local: ``backfill gkg --engine local`` into a fresh database (process pool, one worker
  per core: download, md5, parse, shard, then the driver stores every shard);
- ray: the same with ``--engine ray`` on a local Ray started before the clock (2 CPUs
  here; its start is reported apart).

Targets (issue 14): Ray's wall time at most 1.3x the local engine's on 2 cores, and
newsintel's per-file cost (local wall x cores / files) at most 1.2x the bare per-file
time. Figures are per core, so runs on other machines compare.
"""

from __future__ import annotations

import os
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


def _bare(master_url: str, themes_file: Path) -> tuple[float, int]:
    """(seconds, rows) to unzip and parse every file, downloaded beforehand."""
    import httpx

    from newsintel.backfill.gkg import parse_gkg, parse_master, theme_filter, zip_lines
    from newsintel.themes.definitions import load_themes

    master = parse_master(httpx.get(master_url, timeout=30).text)
    blobs = [(e.name, httpx.get(e.url, timeout=30).content) for e in master.entries]
    spec = theme_filter(load_themes(themes_file))
    started = time.perf_counter()
    rows = sum(parse_gkg(zip_lines(data), spec, name).rows for name, data in blobs)
    return time.perf_counter() - started, rows


def run(files: int = FILES, rows: int = ROWS) -> BenchResult:
    """Time the bare parse, the local engine and the Ray engine over the same files."""
    sys.path.insert(0, str(ROOT / "tests"))
    from newsintel.config import load_settings
    from newsintel.jobs.backfill_gkg import backfill_gkg

    at_size = (files, rows) == (FILES, ROWS)
    cores = os.cpu_count() or 1
    day = "2024-03-01"
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

        bare_s, bare_rows = _bare(master_url, themes)
        until = "2024-03-03"  # up to 192 files of 15 minutes
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
    per_file_bare = bare_s / files
    per_file_local = local_s * cores / files
    figures = (
        Figure("bare unzip + parse, files/s (1 core)", files / bare_s, "files/s"),
        Figure("  rows/s (1 core)", bare_rows / bare_s, "rows/s"),
        Figure("local engine, files/s per core", files / local_s / cores, "files/s"),
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
        check(
            "local per-file cost / bare per-file",
            per_file_local / per_file_bare,
            "x",
            f"<= {PER_FILE_MAX}",
            per_file_local / per_file_bare <= PER_FILE_MAX,
            at_target_size=at_size,
        ),
        check(
            "files stored, local / ray",
            local.stored,
            f"/ {on_ray.stored} of {files}",
            "all, both",
            local.stored == on_ray.stored == files and not local.failed,
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
        "local per-file cost = local wall x cores / files (core-seconds a file), against "
        "the bare loop's seconds a file on one core; both include the same unzip + parse",
    )
    return BenchResult("gkg", {"files": files, "rows": rows}, figures, notes)
