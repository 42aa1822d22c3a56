"""What a digest says: its content read from the store and built by the digest step.

A read-only job on an open connection, so that each face reads it its own way: the
digest job opens the newest snapshot (``jobs.digest_source``), the app's Overview
page passes the connection of its read slot (``ui.data.digest``). Both get the same
content from the same code.
"""

from __future__ import annotations

from datetime import date, datetime

from newsintel.digest import build
from newsintel.digest.build import Period, PeriodTotals, PeriodWindow
from newsintel.digest.content import ChartSeries, DigestContent, Finding, ThemeMove
from newsintel.store import digest as queries
from newsintel.store.connect import Connection


def theme_moves(
    con: Connection, window: PeriodWindow, stories_per_theme: int = 3
) -> list[ThemeMove]:
    """Every theme's count in ``window`` against the last period and its own history."""
    start = build.history_start(window)
    counts = queries.theme_period_counts(con, window.unit, start, window.end)
    top = queries.top_stories_by_theme(con, window.start, window.end, stories_per_theme)
    return build.theme_moves(counts, top, window)


def findings(con: Connection, limit: int = 5) -> list[Finding]:
    """Lead/lag results of the latest run that survive adjustment, strongest first."""
    return build.findings(queries.significant_results(con), limit)


def chart(con: Connection, window: PeriodWindow, theme: str, series: str) -> ChartSeries | None:
    """Weekly stories of ``theme`` against the weekly mean of ``series`` over a year."""
    label = queries.theme_label(con, theme)
    if label is None:
        return None
    start = build.chart_start(window)
    counts = queries.weekly_theme_counts(con, theme, start, window.end)
    if counts.empty:
        return None
    prices = queries.weekly_series_values(con, series, start, window.end)
    unit = queries.series_unit(con, series) or ""
    return build.chart(theme, label, series, unit, counts, prices)


def build_digest(
    con: Connection,
    period: Period,
    on_date: date | None,
    *,
    price_series: str,
    now: datetime,
) -> DigestContent:
    """Everything one digest says, for the period containing ``on_date`` (default: latest)."""
    day = on_date or queries.latest_article_day(con) or now.date()
    window = build.period_window(period, day)
    moves = theme_moves(con, window)
    found = findings(con)
    chart_theme = build.chart_theme(moves, found)
    return build.digest_content(
        window,
        now=now,
        totals=PeriodTotals(*queries.period_totals(con, window.start, window.end)),
        moves=moves,
        prices=build.price_moves(queries.price_points_until(con, window.end), window),
        found=found,
        chart=chart(con, window, chart_theme, price_series) if chart_theme else None,
        sample_only=queries.sample_only(con),
    )
