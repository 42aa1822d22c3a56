"""Backfill bookkeeping: the GDELT cursor (one row per theme, mode and window) and the
GDELT timelines behind the ``gdelt:<theme>`` attention series."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa

from newsintel.models import Article
from newsintel.store.connect import Connection, transaction
from newsintel.store.feeds import insert_article_batches, upsert_outlets

# Series made from GDELT timelines: matching articles per day, and their share of all
# articles GDELT monitored that day in parts per million (a share survives GDELT's own
# growth and shrinkage; per million keeps ``log_counts`` away from log(1 + 0.0001)).
COUNT_UNIT = "articles/day"
SHARE_UNIT = "per million monitored articles"
SERIES_ORIGIN = "GDELT DOC 2.0 API, TimelineVolRaw (GDELT Project)"


def count_series(theme: str) -> str:
    """The series of matching articles per day of a theme's GDELT query."""
    return f"gdelt:{theme}"


def share_series(theme: str) -> str:
    """The series of a theme's share of everything GDELT monitored, per million."""
    return f"{count_series(theme)}:share"


@dataclass(frozen=True)
class WindowRecord:
    """One cursor row: what one window of one mode got."""

    theme: str
    mode: str
    start: datetime
    end: datetime
    status: str
    detail: str
    n_rows: int
    done: bool
    fetched_at: datetime


@dataclass(frozen=True)
class TimelineCoverage:
    """The days of a theme's GDELT timeline stored so far."""

    first: date | None
    last: date | None
    days: int


def done_windows(con: Connection, theme: str, mode: str) -> set[tuple[datetime, datetime]]:
    """(start, end) of every window of ``theme`` and ``mode`` that needs no new call."""
    rows = con.execute(
        "SELECT window_start, window_end FROM gdelt_windows WHERE theme = ? AND mode = ? AND done",
        [theme, mode],
    ).fetchall()
    return {(start, end) for start, end in rows}


_RECORD_SCHEMA = pa.schema(
    [
        ("theme", pa.string()),
        ("mode", pa.string()),
        ("window_start", pa.timestamp("us")),
        ("window_end", pa.timestamp("us")),
        ("status", pa.string()),
        ("detail", pa.string()),
        ("n_rows", pa.int32()),
        ("done", pa.bool_()),
        ("fetched_at", pa.timestamp("us")),
    ]
)


def _save_records(con: Connection, records: Sequence[WindowRecord]) -> None:
    columns = [
        [getattr(r, name) for r in records]
        for name in ("theme", "mode", "start", "end", "status", "detail", "n_rows", "done")
    ]
    columns.append([r.fetched_at for r in records])
    con.register("incoming_gdelt_windows", pa.table(columns, schema=_RECORD_SCHEMA))
    con.execute(
        """
        INSERT INTO gdelt_windows SELECT * FROM incoming_gdelt_windows
        ON CONFLICT (theme, mode, window_start, window_end) DO UPDATE SET
            status = excluded.status, detail = excluded.detail, n_rows = excluded.n_rows,
            done = excluded.done, fetched_at = excluded.fetched_at
        """
    )
    con.unregister("incoming_gdelt_windows")


def _save_days(con: Connection, days: Sequence[tuple[str, date, int, int]]) -> None:
    table = pa.table(
        {
            "theme": pa.array([t for t, _d, _a, _n in days], pa.string()),
            "day": pa.array([d for _t, d, _a, _n in days], pa.date32()),
            "articles": pa.array([a for _t, _d, a, _n in days], pa.int64()),
            "total": pa.array([n for _t, _d, _a, n in days], pa.int64()),
        }
    )
    con.register("incoming_gdelt_days", table)
    con.execute(
        """
        INSERT INTO series (series_id, kind, unit, currency, origin)
        SELECT DISTINCT 'gdelt:' || theme, 'attention', ?, '', ? FROM incoming_gdelt_days
        UNION ALL
        SELECT DISTINCT 'gdelt:' || theme || ':share', 'attention', ?, '', ?
        FROM incoming_gdelt_days
        ON CONFLICT (series_id) DO UPDATE SET kind = excluded.kind, unit = excluded.unit,
            origin = excluded.origin, imported_at = now()::TIMESTAMP
        """,
        [COUNT_UNIT, SERIES_ORIGIN, SHARE_UNIT, SERIES_ORIGIN],
    )
    con.execute(
        """
        INSERT INTO gdelt_timeline SELECT theme, day, articles, total FROM incoming_gdelt_days
        ON CONFLICT (theme, day) DO UPDATE SET articles = excluded.articles, total = excluded.total
        """
    )
    con.execute(
        """
        INSERT INTO series_points
        SELECT 'gdelt:' || theme, day, articles FROM incoming_gdelt_days
        UNION ALL
        SELECT 'gdelt:' || theme || ':share', day, articles * 1e6 / total
        FROM incoming_gdelt_days WHERE total > 0
        ON CONFLICT (series_id, date) DO UPDATE SET value = excluded.value
        """
    )
    con.unregister("incoming_gdelt_days")


def save_gdelt_batch(
    con: Connection,
    records: Sequence[WindowRecord],
    articles: Sequence[Sequence[Article]],
    outlets: Sequence[tuple[str, str, str]],
    days: Sequence[tuple[str, date, int, int]],
) -> int:
    """Store a batch of windows in one transaction; the number of articles added.

    ``articles`` holds one list per window, stored in order through the same id and
    near-duplicate path as ``save_articles`` (a window's stories see the windows
    before it). ``days`` are (theme, day, articles, total) of TimelineVolRaw: they
    replace stored days and their points in ``gdelt:<theme>`` and
    ``gdelt:<theme>:share`` (a day without monitored articles has no share). The cursor
    rows go in last, so a kill leaves either the whole batch or none of it, and a
    window is never marked done without its data.
    """
    with transaction(con):
        upsert_outlets(con, outlets)
        added = insert_article_batches(con, articles)
        if days:
            _save_days(con, days)
        if records:
            _save_records(con, records)
    return added


def timeline_coverage(con: Connection, theme: str) -> TimelineCoverage:
    """First and last day of the theme's stored GDELT timeline, and its number of days."""
    row = con.execute(
        "SELECT min(day), max(day), count(*) FROM gdelt_timeline WHERE theme = ?", [theme]
    ).fetchone()
    if row is None:
        return TimelineCoverage(None, None, 0)
    return TimelineCoverage(row[0], row[1], int(row[2]))


def window_records(con: Connection, theme: str | None = None) -> list[WindowRecord]:
    """Every cursor row (of one theme or all), in theme, mode and time order."""
    rows = con.execute(
        """
        SELECT theme, mode, window_start, window_end, status, detail, n_rows, done, fetched_at
        FROM gdelt_windows WHERE ? IS NULL OR theme = ?
        ORDER BY theme, mode, window_start, window_end
        """,
        [theme, theme],
    ).fetchall()
    return [WindowRecord(*row) for row in rows]
