"""Put series on a common calendar and turn them into the quantities we compare.

Every function takes and returns a float ``pd.Series`` indexed by a DatetimeIndex.
Periods are labelled by their first day: weeks start on Monday (ISO weeks, as in the
``v_theme_weekly`` view), months on the 1st. Nothing is forward-filled: a period with
no observation is simply absent, so prices keep trading days only and an empty week
never borrows last week's value.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from newsintel.errors import SeriesError

__all__ = [
    "Freq",
    "How",
    "align_pair",
    "drop_partial",
    "log_counts",
    "period_start",
    "price_returns",
    "resample",
    "theme_share",
]

Freq = Literal["D", "W", "M"]
How = Literal["mean", "last", "sum"]

_FREQS = ("D", "W", "M")
_HOWS = ("mean", "last", "sum")


def period_start(index: pd.DatetimeIndex, freq: Freq) -> pd.DatetimeIndex:
    """Label of the period (day, Monday-starting week, month) each timestamp falls in."""
    if freq not in _FREQS:
        raise SeriesError(f"unknown frequency {freq!r}; use one of D, W, M")
    days = index.normalize()
    if freq == "D":
        return days
    if freq == "W":
        return days - pd.to_timedelta(days.dayofweek, unit="D")
    return days.to_period("M").to_timestamp()


def _checked(points: pd.Series, what: str) -> pd.Series:
    if not isinstance(points.index, pd.DatetimeIndex):
        raise SeriesError(f"{what} must be indexed by dates")
    return points.astype("float64").dropna().sort_index(kind="stable")


def resample(points: pd.Series, freq: Freq, how: How) -> pd.Series:
    """Aggregate ``points`` to one value per period (``mean``, ``last`` or ``sum``).

    Periods without any observation are absent from the result (no filling).
    """
    if how not in _HOWS:
        raise SeriesError(f"unknown aggregation {how!r}; use one of mean, last, sum")
    clean = _checked(points, "series")
    labels = period_start(pd.DatetimeIndex(clean.index), freq)
    grouped = clean.groupby(labels, sort=True)
    out = grouped.mean() if how == "mean" else grouped.last() if how == "last" else grouped.sum()
    out.index = pd.DatetimeIndex(out.index, name="date")
    return out.astype("float64")


def price_returns(points: pd.Series, freq: Freq) -> pd.Series:
    """Log returns between the last prices of consecutive observed periods.

    The first period has no return and is dropped. For ``D`` consecutive trading days
    are used, so a Monday return spans the weekend.
    """
    last = resample(points, freq, "last")
    if (last <= 0).any():
        first_bad = last.index[(last <= 0).to_numpy()][0].date().isoformat()
        raise SeriesError(f"price on {first_bad} is not positive; log returns need prices > 0")
    logged = pd.Series(np.log(last.to_numpy()), index=last.index, dtype="float64")
    return logged.diff().dropna()


def theme_share(counts: pd.Series, totals: pd.Series, freq: Freq) -> pd.Series:
    """Share of all stories that belong to a theme, per period.

    ``counts`` are theme stories and ``totals`` all stories, per day. A day present in
    ``totals`` but missing in ``counts`` counts as zero theme stories. Periods whose
    total is zero are dropped, since their share is undefined.
    """
    total = resample(totals, freq, "sum")
    summed = resample(counts, freq, "sum")
    missing = summed.index.difference(total.index)
    if len(missing):
        raise SeriesError(
            f"theme counts on {missing[0].date().isoformat()} have no total story count"
        )
    theme = summed.reindex(total.index, fill_value=0.0)
    over = theme > total
    if over.any():
        day = theme.index[over.to_numpy()][0].date().isoformat()
        raise SeriesError(f"theme count exceeds the total story count in period {day}")
    keep = total > 0
    return (theme[keep] / total[keep]).astype("float64")


def log_counts(counts: pd.Series, freq: Freq) -> pd.Series:
    """``log(1 + n)`` of the story count summed per period; damps bursts of coverage."""
    summed = resample(counts, freq, "sum")
    if (summed < 0).any():
        raise SeriesError("story counts cannot be negative")
    return pd.Series(np.log1p(summed.to_numpy()), index=summed.index, dtype="float64")


def align_pair(x: pd.Series, y: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Keep the dates both series have, with a value in each (inner join, NaN dropped)."""
    cx = _checked(x, "x")
    cy = _checked(y, "y")
    both = pd.concat([cx.rename("x"), cy.rename("y")], axis=1, join="inner").dropna()
    both = both.sort_index()
    ox, oy = both["x"], both["y"]
    # Keep the callers' names: they label plots and error messages downstream.
    ox.name, oy.name = x.name, y.name
    return ox, oy


def drop_partial(
    values: pd.Series,
    observed: pd.DatetimeIndex,
    freq: Freq,
    *,
    business_days: bool,
    check_first: bool = True,
) -> tuple[pd.Series, int]:
    """``values`` (one per period) without a first or last period that the underlying
    ``observed`` days cover only in part, and how many periods were dropped.

    A week of news that starts on a Thursday, or the current, unfinished month, would
    otherwise enter as a full period with a fraction of its stories or an off-period
    close. A period is partial when the first observation comes after the period's
    first (business) day, or the last before its last one. Data observed no more often
    than the period itself (e.g. weekly prices) cannot be judged this way and is kept.
    ``check_first=False`` for returns of last closes: a first week observed from
    Wednesday still closes on Friday, so only the unfinished last period misleads.
    """
    if freq == "D" or len(values) < 3 or len(observed) < 2:
        return values, 0
    days = pd.DatetimeIndex(observed).normalize().unique().sort_values()
    step = float(np.median(np.diff(days.to_numpy()) / np.timedelta64(1, "D")))
    if step >= (6 if freq == "W" else 27):
        return values, 0
    first_label, last_label = values.index[0], values.index[-1]
    offset = pd.offsets.Week(weekday=0) if freq == "W" else pd.offsets.MonthBegin()
    period_end = last_label + offset - pd.Timedelta(days=1)
    roll = pd.offsets.BDay() if business_days else pd.offsets.Day()
    first_day = roll.rollforward(first_label) if business_days else first_label
    last_day = pd.offsets.BDay().rollback(period_end) if business_days else period_end
    drop = []
    if check_first and days[0] > first_day:
        drop.append(first_label)
    if days[-1] < last_day:
        drop.append(last_label)
    return values.drop(drop), len(drop)
