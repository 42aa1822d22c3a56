"""Price and attention series and their dated points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from newsintel.models import SeriesMeta
from newsintel.store.connect import Connection, transaction


@dataclass(frozen=True)
class SeriesSummary:
    """A stored series with its coverage."""

    series_id: str
    kind: str
    unit: str
    currency: str
    origin: str
    points: int
    first_date: object
    last_date: object


def save_series(con: Connection, meta: SeriesMeta, points: pd.Series) -> int:
    """Create or replace a series and all its points in one transaction."""
    frame = pd.DataFrame(
        {"date": pd.to_datetime(points.index).date, "value": points.to_numpy(dtype=float)}
    )
    with transaction(con):
        con.execute("DELETE FROM series_points WHERE series_id = ?", [meta.series_id])
        con.execute(
            """
            INSERT INTO series (series_id, kind, unit, currency, origin) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (series_id) DO UPDATE SET kind = excluded.kind, unit = excluded.unit,
                currency = excluded.currency, origin = excluded.origin,
                imported_at = now()::TIMESTAMP
            """,
            [meta.series_id, meta.kind, meta.unit, meta.currency, meta.origin],
        )
        con.register("incoming_points", frame)
        con.execute(
            "INSERT INTO series_points SELECT ?, date, value FROM incoming_points",
            [meta.series_id],
        )
        con.unregister("incoming_points")
    return len(frame)


def series_summaries(con: Connection, kind: str | None = None) -> list[SeriesSummary]:
    """Every series (or those of one kind) with point counts and date range."""
    rows = con.execute(
        """
        SELECT s.series_id, s.kind, s.unit, s.currency, s.origin,
               count(p.date), min(p.date), max(p.date)
        FROM series s LEFT JOIN series_points p USING (series_id)
        WHERE ? IS NULL OR s.kind = ?
        GROUP BY ALL ORDER BY s.series_id
        """,
        [kind, kind],
    ).fetchall()
    return [SeriesSummary(*row) for row in rows]


def series_meta(con: Connection, series_id: str) -> SeriesMeta | None:
    """Metadata of one series, or None if unknown."""
    row = con.execute(
        "SELECT series_id, kind, unit, currency, origin FROM series WHERE series_id = ?",
        [series_id],
    ).fetchone()
    return SeriesMeta(*row) if row else None


def series_points(con: Connection, series_id: str) -> pd.Series:
    """Points of a series as a float Series indexed by date (DatetimeIndex)."""
    frame = con.execute(
        "SELECT date, value FROM series_points WHERE series_id = ? ORDER BY date", [series_id]
    ).df()
    return pd.Series(
        frame["value"].to_numpy(dtype=float), index=pd.to_datetime(frame["date"]), name=series_id
    )


@dataclass(frozen=True)
class SeriesGap:
    """A stretch with no points: ``days`` between two consecutive points."""

    after: date
    before: date
    days: int


@dataclass(frozen=True)
class SeriesWeek:
    """One week (labelled by its Monday) of a series, as in ``v_series_weekly``."""

    week: date
    value_mean: float
    value_last: float
    n_points: int


@dataclass(frozen=True)
class SeriesDetail:
    """One series: metadata, coverage, first/last points, gaps and its latest weeks.

    A gap is a step between consecutive points longer than ``gap_days`` (the larger of
    10 days and three times the median step), so weekends and holidays of a daily price
    series or the months of a monthly one are not reported.
    """

    meta: SeriesMeta
    imported_at: datetime
    points: int
    first_date: date
    first_value: float
    last_date: date
    last_value: float
    median_step_days: float
    gap_days: float
    gaps: tuple[SeriesGap, ...]
    weeks: tuple[SeriesWeek, ...]

    @property
    def warnings(self) -> list[str]:
        """One sentence per gap, longest first."""
        ordered = sorted(self.gaps, key=lambda g: (-g.days, g.after))
        return [
            f"no points for {g.days} days between {g.after.isoformat()} and {g.before.isoformat()}"
            for g in ordered
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (dates as ISO strings)."""
        return {
            "series": self.meta.series_id,
            "kind": self.meta.kind,
            "unit": self.meta.unit,
            "currency": self.meta.currency,
            "origin": self.meta.origin,
            "imported_at": self.imported_at.isoformat(),
            "points": self.points,
            "first": {"date": self.first_date.isoformat(), "value": self.first_value},
            "last": {"date": self.last_date.isoformat(), "value": self.last_value},
            "median_step_days": self.median_step_days,
            "gap_days": self.gap_days,
            "gaps": [
                {"after": g.after.isoformat(), "before": g.before.isoformat(), "days": g.days}
                for g in self.gaps
            ],
            "weekly": [
                {
                    "week": w.week.isoformat(),
                    "value_mean": w.value_mean,
                    "value_last": w.value_last,
                    "n_points": w.n_points,
                }
                for w in self.weeks
            ],
            "warnings": self.warnings,
        }


# Steps up to this many days are never gaps (long weekends, holidays).
_MIN_GAP_DAYS = 10


def series_detail(con: Connection, series_id: str, weeks: int = 8) -> SeriesDetail | None:
    """Metadata, coverage, gaps and the last ``weeks`` weeks of one series, or None."""
    meta = series_meta(con, series_id)
    if meta is None:
        return None
    head = con.execute(
        """
        SELECT s.imported_at, count(p.date),
               arg_min(p.date, p.date), arg_min(p.value, p.date),
               arg_max(p.date, p.date), arg_max(p.value, p.date)
        FROM series s JOIN series_points p USING (series_id)
        WHERE s.series_id = ? GROUP BY s.imported_at
        """,
        [series_id],
    ).fetchone()
    if head is None:
        return None
    imported_at, points, first_date, first_value, last_date, last_value = head
    steps = """
        SELECT lag(date) OVER (ORDER BY date) AS after, date AS before,
               date_diff('day', lag(date) OVER (ORDER BY date), date) AS days
        FROM series_points WHERE series_id = ?
    """
    median_row = con.execute(
        f"SELECT coalesce(median(days), 0) FROM ({steps}) WHERE days IS NOT NULL", [series_id]
    ).fetchone()
    median_step = float(median_row[0]) if median_row else 0.0
    gap_days = max(float(_MIN_GAP_DAYS), 3 * median_step)
    gaps = con.execute(
        f"SELECT after, before, days FROM ({steps}) WHERE days > ? ORDER BY after",
        [series_id, gap_days],
    ).fetchall()
    week_rows = con.execute(
        """
        SELECT week, value_mean, value_last, n_points FROM v_series_weekly
        WHERE series = ? ORDER BY week DESC LIMIT ?
        """,
        [series_id, weeks],
    ).fetchall()
    return SeriesDetail(
        meta=meta,
        imported_at=imported_at,
        points=int(points),
        first_date=first_date,
        first_value=float(first_value),
        last_date=last_date,
        last_value=float(last_value),
        median_step_days=median_step,
        gap_days=gap_days,
        gaps=tuple(SeriesGap(a, b, int(d)) for a, b, d in gaps),
        weeks=tuple(
            SeriesWeek(w, float(m), float(last), int(n)) for w, m, last, n in reversed(week_rows)
        ),
    )
