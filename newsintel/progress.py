"""Progress of long steps, behind the jobs.Progress protocol: rich bars on a terminal,
JSON lines for commands whose stdout is a JSON report."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichProgress:
    """One rich progress bar per step, drawn on stderr and removed when the step ends."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, description: str, total: int) -> None:
        self.finish()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, units: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, units)

    def describe(self, description: str) -> None:
        """Change the bar's text (running totals such as rows kept and bytes read)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = None
        self._task = None


class JsonLinesProgress:
    """Progress as JSON lines on stderr (stdout holds the ``--json`` report): one line
    when a step starts, then at most one a second as it advances, and one at its end.
    Each line: {"progress": step, "done", "total", "text", "elapsed_s", "eta_s"}."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 1.0) -> None:
        self._stream = stream or sys.stderr
        self._every_s = every_s
        self._step: str | None = None
        self._text = ""
        self._total = self._done = 0
        self._started = self._last = 0.0

    def start(self, description: str, total: int) -> None:
        self.finish()
        self._step = self._text = description
        self._total, self._done = total, 0
        self._started = time.monotonic()
        self._emit()

    def advance(self, units: int = 1) -> None:
        self._done += units
        if time.monotonic() - self._last >= self._every_s:
            self._emit()

    def describe(self, description: str) -> None:
        self._text = description

    def finish(self) -> None:
        if self._step is not None:
            self._emit()
        self._step = None

    def _emit(self) -> None:
        self._last = time.monotonic()
        elapsed = self._last - self._started
        left = self._total - self._done
        eta = round(elapsed / self._done * left, 1) if self._done else None
        line = {
            "progress": self._step,
            "done": self._done,
            "total": self._total,
            "text": self._text,
            "elapsed_s": round(elapsed, 1),
            "eta_s": eta,
        }
        print(json.dumps(line), file=self._stream, flush=True)
