"""The app yields the CPU to the pipeline: its threads run at a lower scheduling priority.

Readers never wait for writers on a lock (snapshots), but on a small machine they still
compete for the cores: 25 sessions loading pages took the writer 58% longer. Raising
the app's nice value (``NEWSINTEL_APP_NICE``, default 10) makes the kernel give the
pipeline the CPU first, while an idle machine still gives the app all of it.

Linux keeps a nice value per thread, and a new thread inherits its creator's. So the
first page load renices every thread the server has (the event loop, which starts the
script threads, and the script threads themselves); the threads created afterwards,
DuckDB's workers included, inherit it. Elsewhere the value is per process.
"""

from __future__ import annotations

import os
import sys
import threading

_done = threading.Event()


def _threads() -> list[int]:
    if sys.platform.startswith("linux"):
        try:
            return [int(tid) for tid in os.listdir("/proc/self/task")]
        except OSError:
            pass
    return [0]  # "this process" for setpriority


def lower_priority(nice: int) -> None:
    """Raise the nice value of every thread of this process to at least ``nice`` (once).

    Only ever lowers the priority (an unprivileged process may not raise it), and never
    fails the page: a platform without setpriority keeps the process as it is.
    """
    if nice <= 0 or _done.is_set():
        return
    _done.set()
    for tid in _threads():
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        except (OSError, AttributeError):
            continue  # the thread ended meanwhile, or no setpriority here
