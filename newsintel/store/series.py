"""Price and attention series and their dated points."""

from __future__ import annotations

from dataclasses import dataclass

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
