"""``newsintel backfill gdelt``: years of attention series and dated stories from GDELT.

Per theme with a ``gdelt_query``: TimelineVolRaw by calendar month (the series
``gdelt:<theme>`` and ``gdelt:<theme>:share``), then ArtList by week, each week split in
two whenever GDELT returns its 250-article maximum, so a busy week is never silently
cut. Every window's outcome is recorded in the cursor (``gdelt_windows``) and reported;
a re-run asks only for what is not done yet, and stores nothing twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from newsintel.backfill.gdelt import (
    ARTLIST,
    MAX_RECORDS,
    TIMELINE,
    GdeltClient,
    Mode,
    Window,
    clamp_range,
    monthly_windows,
    to_article,
    weekly_windows,
)
from newsintel.config import Settings
from newsintel.errors import ThemeError
from newsintel.jobs import NoProgress, Progress, utcnow
from newsintel.jobs.publish import publishes
from newsintel.models import Article, ThemeDefinition
from newsintel.store import connect, migrate, open_db
from newsintel.store.backfill import (
    WindowRecord,
    done_windows,
    save_gdelt_batch,
    timeline_coverage,
)
from newsintel.store.connect import Connection

# GDELT keeps adding to a window for a while after it ends: one ending this close to the
# fetch is stored but not marked done, so the next run asks for it again.
SETTLING = timedelta(days=1)
# Statuses after which a window is never asked again (rate_limited and error are).
_FINAL = frozenset({"ok", "empty", "split", "capped"})
# Below this pacing (benchmarks, tests) the writer holds one connection (see _Writer).
_HOLD_CONNECTION_BELOW_S = 1.0


@dataclass(frozen=True)
class GdeltWindowReport:
    """One window asked of GDELT in this run and what became of it."""

    theme: str
    mode: str
    start: datetime
    end: datetime
    status: str
    detail: str
    rows: int

    def label(self) -> str:
        return Window(self.start, self.end).label()

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "window": self.label(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "status": self.status,
            "detail": self.detail,
            "rows": self.rows,
        }


@dataclass(frozen=True)
class GdeltThemeReport:
    """One theme: its windows this run, articles added and the timeline GDELT served."""

    theme: str
    query: str | None
    note: str = ""
    windows: tuple[GdeltWindowReport, ...] = ()
    resumed: int = 0  # windows already done by an earlier run, not asked again
    articles_added: int = 0
    timeline_first: date | None = None
    timeline_last: date | None = None
    timeline_days: int = 0

    def count(self, mode: str, status: str | None = None) -> int:
        """Windows of ``mode`` (with ``status``) asked in this run."""
        return sum(
            1 for w in self.windows if w.mode == mode and (status is None or w.status == status)
        )

    @property
    def problems(self) -> list[GdeltWindowReport]:
        """Windows that left a gap to fill by a re-run, or were cut at 250."""
        return [w for w in self.windows if w.status not in ("ok", "empty", "split")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "theme": self.theme,
            "query": self.query,
            "note": self.note,
            "series": [f"gdelt:{self.theme}", f"gdelt:{self.theme}:share"] if self.query else [],
            "timeline": {
                "first": self.timeline_first.isoformat() if self.timeline_first else None,
                "last": self.timeline_last.isoformat() if self.timeline_last else None,
                "days": self.timeline_days,
            },
            "articles_added": self.articles_added,
            "windows_resumed": self.resumed,
            "windows": [w.to_dict() for w in self.windows],
        }


@dataclass(frozen=True)
class GdeltBackfillReport:
    """The whole run: the range asked, per-theme reports, warnings, calls and time."""

    since: date
    until: date
    themes: tuple[GdeltThemeReport, ...]
    warnings: tuple[str, ...]
    calls: int
    seconds: float

    @property
    def articles_added(self) -> int:
        return sum(t.articles_added for t in self.themes)

    def status_counts(self) -> dict[str, int]:
        """Windows per status over every theme (this run)."""
        counts: dict[str, int] = {}
        for theme in self.themes:
            for window in theme.windows:
                counts[window.status] = counts.get(window.status, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "warnings": list(self.warnings),
            "calls": self.calls,
            "seconds": round(self.seconds, 3),
            "articles_added": self.articles_added,
            "windows": self.status_counts(),
            "themes": [t.to_dict() for t in self.themes],
        }


def _chosen_themes(settings: Settings, names: Sequence[str]) -> list[ThemeDefinition]:
    from newsintel.themes.definitions import load_themes

    themes = load_themes(Path(settings.themes_file))
    if not names:
        return themes
    known = {t.theme_id: t for t in themes}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ThemeError(
            f"unknown theme '{unknown[0]}' (in {settings.themes_file}); known: {', '.join(known)}"
        )
    return [known[n] for n in dict.fromkeys(names)]


class _Writer:
    """Buffers what windows got and stores it in batches, one transaction each.

    A transaction per window cost ~40 ms on DuckDB, more than a loopback call. A batch
    is written once ``FLUSH_S`` has passed since the last one (so with GDELT's pacing of
    seconds per call, after every window), at the end of each theme and of the run.
    With pacing the database is opened per batch, so that the app and other jobs get
    the write lock in between; without it one connection is held.
    """

    FLUSH_S = 1.0

    def __init__(self, db: str, hold: bool) -> None:
        self._db = db
        self._hold = hold
        self._con: Connection | None = None
        self._records: list[WindowRecord] = []
        self._articles: list[list[Article]] = []
        self._outlets: dict[str, tuple[str, str, str]] = {}
        self._days: list[tuple[str, date, int, int]] = []
        self._last = time.monotonic()
        self.added = 0

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if not self._hold:
            with open_db(self._db) as con:
                yield con
            return
        if self._con is None:
            self._con = connect(self._db)
        yield self._con

    def add(
        self,
        record: WindowRecord,
        articles: Sequence[Article] = (),
        outlets: Sequence[tuple[str, str, str]] = (),
        days: Sequence[tuple[str, date, int, int]] = (),
    ) -> None:
        self._records.append(record)
        if articles:
            self._articles.append(list(articles))
        for outlet in outlets:
            self._outlets.setdefault(outlet[0], outlet)
        self._days.extend(days)
        if time.monotonic() - self._last >= self.FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self._records:
            with self.connection() as con:
                self.added += save_gdelt_batch(
                    con, self._records, self._articles, list(self._outlets.values()), self._days
                )
            self._records, self._articles, self._outlets, self._days = [], [], {}, []
        self._last = time.monotonic()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


@dataclass
class _ThemeRun:
    """One theme's backfill in progress (mutable; becomes a GdeltThemeReport)."""

    theme: ThemeDefinition
    query: str
    client: GdeltClient
    writer: _Writer
    done: dict[str, set[tuple[datetime, datetime]]]
    windows: list[GdeltWindowReport] = field(default_factory=list)
    resumed: int = 0

    def _keep(
        self,
        mode: Mode,
        window: Window,
        status: str,
        detail: str,
        rows: int,
        **data: Any,
    ) -> bool:
        """Report the window and hand its cursor row (and data) to the writer; whether
        the window is finished."""
        fetched_at = utcnow()
        final = status in _FINAL and window.end <= fetched_at - SETTLING
        record = WindowRecord(
            self.theme.theme_id,
            mode,
            window.start,
            window.end,
            status,
            detail,
            rows,
            final,
            fetched_at,
        )
        self.windows.append(
            GdeltWindowReport(
                self.theme.theme_id, mode, window.start, window.end, status, detail, rows
            )
        )
        self.writer.add(record, **data)
        return status in _FINAL

    async def timeline(self, window: Window) -> None:
        if (window.start, window.end) in self.done[TIMELINE]:
            self.resumed += 1
            return
        answer = await self.client.fetch(self.query, TIMELINE, window)
        last_day = (window.end - timedelta(seconds=1)).date()
        days = [
            (self.theme.theme_id, d.day, d.articles, d.total)
            for d in answer.days
            if window.start.date() <= d.day <= last_day
        ]
        self._keep(TIMELINE, window, answer.status, answer.detail, len(days), days=days)

    async def articles(self, window: Window, top: bool = True) -> bool:
        """One ArtList window, split while saturated; whether it is finished."""
        if (window.start, window.end) in self.done[ARTLIST]:
            self.resumed += int(top)
            return True
        answer = await self.client.fetch(self.query, ARTLIST, window)
        halves = window.halves() if answer.saturated else None
        if halves is not None:
            # The 250 are not stored: the halves list them again, with the rest.
            finished = all([await self.articles(half, top=False) for half in halves])
            detail = (
                f"{MAX_RECORDS} articles: split into {halves[0].label()} and {halves[1].label()}"
                if finished
                else f"{MAX_RECORDS} articles: split, and a half failed: re-run to finish"
            )
            return self._keep(ARTLIST, window, "split" if finished else "error", detail, 0)
        status: str = answer.status
        detail = answer.detail
        if answer.saturated:
            minutes = int((window.end - window.start).total_seconds() // 60)
            status = "capped"
            detail = (
                f"{MAX_RECORDS} articles within {minutes} minutes, GDELT's maximum: more may exist"
            )
        fetched_at = utcnow()
        stories = [a for a in (to_article(item, fetched_at) for item in answer.articles) if a]
        if len(stories) < len(answer.articles):
            # No title and no slug that reads as one (an id, a hash), or no domain:
            # skipped, not shown under a made-up headline, and counted so that no gap
            # is silent.
            skipped = len(answer.articles) - len(stories)
            note = f"{skipped} skipped (no title and no usable URL slug, or no domain)"
            detail = f"{detail}; {note}" if detail else note
        outlets = [(a.source_id, a.source_id, f"https://{a.source_id}/") for a in stories]
        return self._keep(
            ARTLIST, window, status, detail, len(answer.articles), articles=stories, outlets=outlets
        )

    def report(self, con: Connection, added: int) -> GdeltThemeReport:
        coverage = timeline_coverage(con, self.theme.theme_id)
        return GdeltThemeReport(
            theme=self.theme.theme_id,
            query=self.query,
            windows=tuple(self.windows),
            resumed=self.resumed,
            articles_added=added,
            timeline_first=coverage.first,
            timeline_last=coverage.last,
            timeline_days=coverage.days,
        )


async def _backfill(
    settings: Settings,
    themes: list[ThemeDefinition],
    since: date,
    until: date,
    progress: Progress,
) -> tuple[list[GdeltThemeReport], int]:
    timeline_windows = monthly_windows(since, until)
    article_windows = weekly_windows(since, until)
    with_query = [t for t in themes if t.gdelt_query]
    writer = _Writer(settings.db, hold=settings.gdelt_min_interval < _HOLD_CONNECTION_BELOW_S)
    reports: dict[str, GdeltThemeReport] = {
        t.theme_id: GdeltThemeReport(
            t.theme_id, None, note=f"skipped: no gdelt_query in {settings.themes_file}"
        )
        for t in themes
        if not t.gdelt_query
    }
    progress.start(
        "GDELT backfill", len(with_query) * (len(timeline_windows) + len(article_windows))
    )
    try:
        async with GdeltClient(settings) as client:
            for theme in with_query:
                assert theme.gdelt_query is not None
                with writer.connection() as con:
                    done: dict[str, set[tuple[datetime, datetime]]] = {
                        mode: done_windows(con, theme.theme_id, mode)
                        for mode in (TIMELINE, ARTLIST)
                    }
                run = _ThemeRun(theme, theme.gdelt_query, client, writer, done)
                added_before = writer.added
                for window in timeline_windows:
                    await run.timeline(window)
                    progress.advance()
                for window in article_windows:
                    await run.articles(window)
                    progress.advance()
                writer.flush()
                with writer.connection() as con:
                    reports[theme.theme_id] = run.report(con, writer.added - added_before)
            calls = client.calls
    except (asyncio.CancelledError, KeyboardInterrupt):
        # Ctrl-C: keep what the finished windows got, so the re-run does not ask again.
        writer.flush()
        raise
    finally:
        progress.finish()
        writer.close()
    return [reports[t.theme_id] for t in themes], calls


@publishes
def backfill_gdelt(
    settings: Settings,
    *,
    since: date,
    until: date | None = None,
    themes: Sequence[str] = (),
    progress: Progress | None = None,
    today: date | None = None,
) -> GdeltBackfillReport:
    """Backfill GDELT timelines and article lists for ``themes`` (default: all).

    Dates before 2017-01-01 are clamped with a warning; ``since`` after ``until`` and an
    unknown theme are errors (ConfigError, ThemeError) before any call is made. Per-
    window problems are statuses in the report, never exceptions.
    """
    started = time.perf_counter()
    chosen = _chosen_themes(settings, themes)
    first, last, warnings = clamp_range(since, until, today or utcnow().date())
    with open_db(settings.db) as con:
        migrate(con)
    reports, calls = asyncio.run(_backfill(settings, chosen, first, last, progress or NoProgress()))
    return GdeltBackfillReport(
        first, last, tuple(reports), tuple(warnings), calls, time.perf_counter() - started
    )
