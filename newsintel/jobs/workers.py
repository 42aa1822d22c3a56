"""Worker processes for the jobs that parse or extract in parallel (ingest, mail, archive).

Its own module, importing nothing of newsintel's: a spawned worker imports the module of
the pool's initializer before its first task, and when that was ``jobs.ingestion`` each
worker first spent about half a second of CPU importing DuckDB, httpx and feedparser,
which an archive extraction worker never uses (a tenth of the archive benchmark's CPU
beyond the extractor at 1,000 pages).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

# Parsing costs about 25 ms of CPU a feed (feedparser), fetching mostly waits: from this
# many feeds on, bodies are parsed in worker processes as they arrive, on every core.
# Below it, starting the workers (a fresh interpreter each) costs more than it saves.
_PARALLEL_PARSE_MIN_FEEDS = 8


def _exit_with_parent(parent_pid: int, every_s: float = 0.5) -> None:
    """Run in each parse worker: exit as soon as the parent process is gone.

    An idle pool worker waits on its task queue forever, so a killed ``ingest``
    (SIGKILL, OOM killer) would leave its workers behind; a daemon thread in each
    worker notices that it was re-parented and ends the worker.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@contextmanager
def _parse_pool(feeds: int) -> Iterator[ProcessPoolExecutor | None]:
    """Worker processes for parsing, or None when there are too few feeds to be worth it.

    Spawned, not forked: the parent runs an event loop and DuckDB threads, which a fork
    would copy mid-flight.
    """
    workers = os.cpu_count() or 1
    if feeds < _PARALLEL_PARSE_MIN_FEEDS or workers < 2:
        yield None
        return

    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
