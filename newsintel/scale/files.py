"""Run the per-file GKG function over many files: a process pool, or Ray tasks.

Both engines run the same ``process_file`` and yield (entry, result) as files finish,
in any order; the job stores them in stamp order, so both give the same database.

Ray tasks rather than a Ray Data pipeline: a GKG file is already a natural unit of
work (one download, one shard, one status row), and the driver must learn each file's
outcome as it finishes to store it and record it done. Ray Data's streaming executor
would hide that per-file boundary behind blocks. A task killed with its worker is
retried by Ray (``max_retries``); one that dies again is reported as 'died'.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from newsintel.backfill.gkg import FileResult, MasterEntry, ThemeFilter, process_file

ENGINES = ("local", "ray")
# Files in flight per worker slot: enough to keep workers busy while the driver stores
# a finished file, few enough that shards do not pile up ahead of the writer.
_IN_FLIGHT_PER_WORKER = 2
# A file whose worker died this many times is given up ('died') for this run.
_TRIES = 2


def _died(entry: MasterEntry, why: str) -> FileResult:
    return FileResult(entry.url, "died", f"worker died {_TRIES} times ({why})")


def run_local(
    entries: Sequence[MasterEntry],
    spec: ThemeFilter,
    out_dir: str,
    timeout: float,
    workers: int | None = None,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[tuple[MasterEntry, FileResult]]:
    """``process_file`` over ``entries`` in a process pool on this machine.

    Workers are spawned, not forked: the parent holds DuckDB threads (and, in the tests,
    server threads) that a fork would copy mid-flight. ``initializer`` runs in each.

    A killed worker breaks a ProcessPoolExecutor for every file in flight: those files
    go to a fresh pool once more, and a file that breaks a pool twice is 'died'.
    """
    workers = workers or os.cpu_count() or 1
    tries = dict.fromkeys((e.url for e in entries), 0)
    queue = list(entries)
    while queue:
        broken: list[MasterEntry] = []
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=initializer,
            initargs=initargs,
        ) as pool:
            pending: dict[Future[FileResult], MasterEntry] = {}
            while queue or pending:
                while queue and len(pending) < workers * _IN_FLIGHT_PER_WORKER:
                    try:
                        future = pool.submit(process_file, queue[0], spec, out_dir, timeout)
                    except BrokenProcessPool:  # a worker died since the last wait
                        break
                    entry = queue.pop(0)
                    tries[entry.url] += 1
                    pending[future] = entry
                if not pending:
                    break  # broken before anything was in flight: a fresh pool
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    entry = pending.pop(future)
                    try:
                        yield entry, future.result()
                    except BrokenProcessPool:
                        broken.append(entry)
                if broken:
                    broken.extend(pending.values())
                    break
        retry = [e for e in broken if tries[e.url] < _TRIES]
        for entry in broken:
            if tries[entry.url] >= _TRIES:
                yield entry, _died(entry, "process pool broken")
        queue = sorted(retry, key=lambda e: (e.stamp, e.url)) + queue


def run_ray(
    entries: Sequence[MasterEntry],
    spec: ThemeFilter,
    out_dir: str,
    timeout: float,
    ray: Any,
) -> Iterator[tuple[MasterEntry, FileResult]]:
    """``process_file`` over ``entries`` as Ray tasks on the connected cluster."""
    task = ray.remote(num_cpus=1, max_retries=_TRIES - 1)(process_file)
    spec_ref = ray.put(spec)
    slots = max(int(ray.cluster_resources().get("CPU", 1)), 1) * _IN_FLIGHT_PER_WORKER
    queue = list(entries)
    pending: dict[Any, MasterEntry] = {}
    while queue or pending:
        while queue and len(pending) < slots:
            entry = queue.pop(0)
            pending[task.remote(entry, spec_ref, out_dir, timeout)] = entry
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            entry = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as exc:
                # WorkerCrashedError after the retries, or an error inside the task.
                yield entry, _died(entry, type(exc).__name__)
            else:
                yield entry, result
