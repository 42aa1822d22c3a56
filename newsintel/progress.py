"""Progress bars for long steps on a terminal (rich), behind the jobs.Progress protocol."""

from __future__ import annotations

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
