"""Read-only jobs: what the CLI lists and shows (themes, series, an ad-hoc SQL query).

They read the published snapshot (``open_snapshot``), like the app, so a running writer
never blocks them; they write nothing and publish nothing.
"""

from __future__ import annotations

from newsintel.config import Settings
from newsintel.errors import NewsintelError
from newsintel.store.series import SeriesDetail, SeriesSummary, series_detail, series_summaries
from newsintel.store.snapshots import open_snapshot
from newsintel.store.sql import QueryResult, SqlLimits, run_readonly_query
from newsintel.store.themes import ThemeSummary, theme_summaries


def list_themes(settings: Settings) -> list[ThemeSummary]:
    """Every stored theme with its story count, most stories first."""
    with open_snapshot(settings.db) as con:
        return theme_summaries(con)


def list_series(settings: Settings) -> list[SeriesSummary]:
    """Every stored series with its point count and date range."""
    with open_snapshot(settings.db) as con:
        return series_summaries(con)


def show_series(settings: Settings, name: str) -> SeriesDetail:
    """One series: coverage, first and last points, gaps, its latest weeks.

    An unknown series (or one without points) is an error naming the known ones.
    """
    with open_snapshot(settings.db) as con:
        detail = series_detail(con, name)
        known = [s.series_id for s in series_summaries(con)] if detail is None else []
    if detail is None:
        raise NewsintelError(
            f"unknown series '{name}' (or it has no points); known: {', '.join(known) or 'none'}"
        )
    return detail


def run_sql(settings: Settings, query: str, max_rows: int = 10_000) -> QueryResult:
    """One read-only query in the sandbox of ``store.sql``, under the settings' limits."""
    limits = SqlLimits.from_settings(settings)
    return run_readonly_query(settings.db, query, max_rows=max_rows, limits=limits)
