"""`newsintel backfill gkg`: the scan stage against a bare baseline, the load stage, Ray.

The files are written by tests/gkgserver.py (seeded, GDELT's 27-column layout, one zip
per 15 minutes, rows of mixed topics) and served from a child process, so that the
server's CPU is not the driver's. The runs, over the same files:

- bare against scan, paired: in a pool of one spawned process per core (as the
  engines run), each file is unzipped and parsed with the same reader newsintel uses
  (``open_member`` + ``read_gkg``: pyarrow's CSV reader on the zip stream, the same
  columns as raw bytes; downloaded beforehand), nothing else: the per-file floor; and,
  in turn in the same process, run through ``process_file``;
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
cost, both as CPU seconds of the process doing the work (``FileResult.cpu_seconds``
against ``time.process_time`` around the bare loop: pyarrow's reader decompresses in
a thread of its own, which the thread's clock would miss), medians over the files, so
that a worker's first file (lazy imports) and other jobs on the machine do not count;
and Ray's wall time at most 1.3x the local engine's. The load stage has no target: it
is reported per file. Figures are per core, so runs on other machines compare.

The per-file target is checked on GDELT-like files: files of GDELT's size (1,363 rows
of about 12 KB, 4 KB zipped, as a whole day of English GKG measured by a third party)
whose rows are 96% local politics and sport (``off_share``; about 2% kept), where one
theme is a sliver of the world's news. The tests' files (rows a quarter of that size,
half of them kept: the themes are two of four subjects) are measured too and reported
without a target: their per-row costs (the theme filter, the shard) weigh about four
times more against the per-byte floor, and their kept-row costs fifty times more,
than GDELT's files ask. The md5 check and the download scale with the zipped bytes,
as unzip and parse do, so they stay a fixed share on any file size.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.record import ROOT, BenchResult, Figure, check

if TYPE_CHECKING:
    from newsintel.backfill.gkg import FileResult, MasterEntry, ThemeFilter

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


GDELT_LIKE_OFF_SHARE = 0.96


@contextmanager
def gkg_server(
    files: int, rows: int, off_share: float = 0.0, gcam_entries: int | None = None
) -> Iterator[str]:
    """tests/gkgserver.py in a child process; yields its master list URL."""
    argv = [sys.executable, str(ROOT / "tests" / "gkgserver.py"), str(SEED), str(files)]
    sizing = [] if gcam_entries is None else [str(gcam_entries)]
    child = subprocess.Popen(
        [*argv, str(rows), str(off_share), *sizing],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
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


def _paired_file(
    entry: MasterEntry, spec: ThemeFilter, out_dir: str, bare_first: bool
) -> tuple[float, float, int]:
    """One file's scan-stage CPU seconds (``process_file``, as the engines run it) and
    its bare CPU seconds (unzip and parse with the reader, the bytes downloaded
    beforehand, untimed), taken one after the other in the same process; and its rows.
    """
    import httpx

    from newsintel.backfill.gkg import keep_large_buffers, open_member, process_file, shard_path
    from newsintel.backfill.gkg_rows import read_gkg
    from newsintel.jobs.backfill_gkg import FILE_TIMEOUT_S

    keep_large_buffers()  # process_file's allocator settings, for the bare reader too

    def bare() -> tuple[float, int]:
        data = httpx.get(entry.url, timeout=30).content
        started = time.process_time()
        with open_member(data) as member:
            rows = sum(batch.num_rows for batch in read_gkg(member))
        return time.process_time() - started, rows

    def scan() -> float:
        shard_path(Path(out_dir), entry).unlink(missing_ok=True)  # read, not reused
        return process_file(entry, spec, out_dir, FILE_TIMEOUT_S).cpu_seconds

    if bare_first:
        (bare_s, rows), scan_s = bare(), scan()
    else:
        scan_s, (bare_s, rows) = scan(), bare()
    return scan_s, bare_s, rows


def _paired(
    entries: list[MasterEntry], spec: ThemeFilter, out_dir: str, cores: int
) -> list[tuple[float, float, int]]:
    """``_paired_file`` over the files in a pool of ``cores`` spawned processes, as the
    scan stage runs. Paired, because on this shared machine a core's speed drifts by a
    third within minutes (two processes on two hyperthreads slow each other, and the
    neighbours come and go): the two figures of a file are taken seconds apart, in the
    same process, in alternating order."""
    with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_paired_file, entries[0], spec, out_dir, True).result()  # imports
        flags = [i % 2 == 0 for i in range(len(entries))]
        return list(
            pool.map(_paired_file, entries, [spec] * len(entries), [out_dir] * len(entries), flags)
        )


def _md5_seconds(master_url: str) -> list[float]:
    """CPU seconds per file of the md5 check alone: a fixed part of the scan's cost."""
    import hashlib

    import httpx

    from newsintel.backfill.gkg import parse_master

    seconds = []
    for entry in parse_master(httpx.get(master_url, timeout=30).text).entries:
        data = httpx.get(entry.url, timeout=30).content
        started = time.process_time()
        hashlib.md5(data, usedforsecurity=False).hexdigest()
        seconds.append(time.process_time() - started)
    return seconds


def _scan_vs_bare(
    master_url: str, spec: ThemeFilter, folder: Path, cores: int
) -> tuple[list[tuple[float, float, int]], list[FileResult], float]:
    """Paired scan and bare CPU per file, then the scan stage over the same files as the
    local engine runs it (its shards in ``folder / "shards"``) and its wall time."""
    import httpx

    from newsintel.backfill.gkg import parse_master
    from newsintel.jobs.backfill_gkg import FILE_TIMEOUT_S
    from newsintel.scale.files import run_local

    entries = list(parse_master(httpx.get(master_url, timeout=30).text).entries)
    paired = _paired(entries, spec, str(folder / "paired"), cores)
    shards = str(folder / "shards")
    started = time.perf_counter()
    scanned = [r for _, r in run_local(entries, spec, shards, FILE_TIMEOUT_S, cores)]
    return paired, scanned, time.perf_counter() - started


def run(files: int = FILES, rows: int = ROWS) -> BenchResult:
    """Time the bare reader, the scan and load stages, the local and the Ray engine."""
    sys.path.insert(0, str(ROOT / "tests"))
    from gkgserver import GDELT_GCAM_ENTRIES, GDELT_ROWS_PER_FILE

    from newsintel.backfill.gkg import theme_filter
    from newsintel.config import load_settings
    from newsintel.jobs.backfill_gkg import backfill_gkg
    from newsintel.themes.definitions import load_themes

    at_size = (files, rows) == (FILES, ROWS)
    gdelt_rows = GDELT_ROWS_PER_FILE if at_size else rows  # smaller runs stay small
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

        spec = theme_filter(load_themes(themes))
        shards = Path(folder) / "shards"
        paired, scanned, scan_s = _scan_vs_bare(master_url, spec, Path(folder), cores)
        md5_seconds = _md5_seconds(master_url)
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
    with (
        tempfile.TemporaryDirectory() as folder,
        gkg_server(files, gdelt_rows, GDELT_LIKE_OFF_SHARE, GDELT_GCAM_ENTRIES) as url,
    ):
        sparse, sparse_scanned, _ = _scan_vs_bare(url, spec, Path(folder), cores)
        sparse_md5 = statistics.median(_md5_seconds(url))
    sparse_bare_file = statistics.median(b for _, b, _ in sparse)
    sparse_scan_file = statistics.median(s for s, _, _ in sparse)
    sparse_ratio = statistics.median(s / b for s, b, _ in sparse)
    sparse_rows = sum(r for _, _, r in sparse)
    bare = [b for _, b, _ in paired]
    bare_rows = sum(r for _, _, r in paired)
    bare_file = statistics.median(bare)
    ratio = statistics.median(s / b for s, b, _ in paired)
    md5_file = statistics.median(md5_seconds)
    scan_file = statistics.median(s for s, _, _ in paired)
    kept = sum(r.kept for r in scanned)
    figures = (
        Figure("bare unzip + parse (read_gkg), CPU ms per file (median)", bare_file * 1e3, "ms"),
        Figure("  files/s (1 core, all files)", files / sum(bare), "files/s"),
        Figure("  rows/s (1 core, all files)", bare_rows / sum(bare), "rows/s"),
        Figure("scan stage (process_file), CPU ms per file (median)", scan_file * 1e3, "ms"),
        Figure("  of which the md5 check alone (median)", md5_file * 1e3, "ms"),
        Figure("scan stage / bare, CPU per file, the tests' files (no target)", ratio, "x"),
        Figure(
            "  engine's worker CPU ms per file (mean, first files' imports in)",
            1e3 * sum(r.cpu_seconds for r in scanned) / files,
            "ms",
        ),
        Figure("  wall x cores per file (pool start in)", scan_s * cores / files * 1e3, "ms"),
        Figure("  rows kept of rows read", 100 * kept / max(bare_rows, 1), "%"),
        check(
            "scan stage / bare, CPU per file, GDELT-like files",
            sparse_ratio,
            "x",
            f"<= {PER_FILE_MAX}",
            sparse_ratio <= PER_FILE_MAX,
            at_target_size=at_size,
        ),
        Figure(
            "  rows kept of rows read",
            100 * sum(r.kept for r in sparse_scanned) / max(sparse_rows, 1),
            "%",
        ),
        Figure("  bare, CPU ms per file (median)", sparse_bare_file * 1e3, "ms"),
        Figure("  scan stage, CPU ms per file (median)", sparse_scan_file * 1e3, "ms"),
        Figure("  of which the md5 check alone (median)", sparse_md5 * 1e3, "ms"),
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
        "scan stage / bare: the median over files of the CPU seconds of process_file "
        "(download, md5, unzip, parse, filter, shard) over those of unzip + parse alone "
        "(the same reader), both taken in turn in the same spawned worker (a pool of one "
        "per core); the target applies to the GDELT-like files' ratio",
        "load stage: the driver's CPU (DuckDB threads included) storing the scan's shards "
        "(reused, no download); no target. The whole run's wall x cores per file is "
        "reported beside it, not checked",
        f"GDELT-like files: {files} zips of GDELT's size, {gdelt_rows:,} rows of "
        f"GCAM {GDELT_GCAM_ENTRIES:,} entries long (about 12.2 KB a row unzipped, 4.1 KB "
        "zipped; a third-party count of a whole day of English GKG, 2025-01-27, gives "
        f"1,363 rows, 12.6 KB and 4.1 KB), {GDELT_LIKE_OFF_SHARE:.0%} of rows on local "
        "politics and sport (tests/gkgserver.py off_share); bare and scan as above. The "
        "tests' files have rows a quarter of that size, half of them kept: there the "
        "per-row costs (the theme filter, the shard) weigh four times more against the "
        "per-byte floor than on GDELT's files",
    )
    return BenchResult("gkg", {"files": files, "rows": rows}, figures, notes)
