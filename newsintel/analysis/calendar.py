"""Calendar lags: place a pair on every period of its window before anything is lagged.

Lags count calendar periods, not observations. A series with a seven-week holiday gap
keeps seven empty (NaN) weeks on the calendar, so "lag 1" pairs a week with the week
before it, never with the last week before the gap. Every lagged statistic then drops
only the rows whose (lagged) values are missing (``complete``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["complete", "on_calendar", "periods_between"]

# Weekly series keep the weekday their dates fall on (news weeks may end on Friday).
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _period_alias(first: pd.Timestamp, freq: str) -> str | None:
    if freq == "W":
        return f"W-{_WEEKDAYS[first.weekday()]}"
    if freq == "M":
        return "M"
    return None


def on_calendar(x: pd.Series, y: pd.Series, freq: str) -> tuple[pd.Series, pd.Series]:
    """``x`` and ``y`` (aligned, sorted, on the same dates) reindexed to every period
    from their first to their last date; periods without a value are NaN.

    Weekly: every 7 days from the first date; monthly: every calendar month; daily:
    every business day (weekends are no gap for prices). Dates that do not fall on
    that calendar (mixed weekdays, two dates in one month) leave the pair as it is:
    such input has no single calendar to lag on.
    """
    index = pd.DatetimeIndex(x.index)
    if index.empty:
        return x, y
    first, last = index[0], index[-1]
    if freq == "D":
        calendar = pd.bdate_range(first, last)
        if not index.isin(calendar).all():
            return x, y
    else:
        alias = _period_alias(first, freq)
        if alias is None:
            return x, y
        observed = index.to_period(alias)
        if observed.has_duplicates:
            return x, y
        full = pd.period_range(observed[0], observed[-1], freq=alias)
        if freq == "W":
            calendar = pd.date_range(first, last, freq="7D")
            if not index.isin(calendar).all():
                return x, y
        else:
            # Label each month by its observed date, or its last day when it has none.
            dates = dict(zip(observed, index, strict=True))
            calendar = pd.DatetimeIndex([dates.get(p, p.end_time.normalize()) for p in full])
            return _reindexed(x, y, observed, full, calendar)
    return x.reindex(calendar), y.reindex(calendar)


def _reindexed(
    x: pd.Series,
    y: pd.Series,
    observed: pd.PeriodIndex,
    full: pd.PeriodIndex,
    calendar: pd.DatetimeIndex,
) -> tuple[pd.Series, pd.Series]:
    out = []
    for series in (x, y):
        values = pd.Series(series.to_numpy(), index=observed).reindex(full)
        out.append(pd.Series(values.to_numpy(), index=calendar, name=series.name))
    return out[0], out[1]


def periods_between(first: pd.Timestamp, last: pd.Timestamp, freq: str) -> int:
    """Periods from ``first`` to ``last`` inclusive on the calendar ``on_calendar`` uses."""
    if freq == "W":
        return (last - first).days // 7 + 1
    if freq == "M":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return int(np.busday_count(first.date(), last.date())) + 1


def complete(*columns: np.ndarray) -> np.ndarray:
    """Rows where every column (1-D or 2-D, same length) has a finite value."""
    mask = np.ones(columns[0].shape[0], dtype=bool)
    for column in columns:
        values = np.asarray(column, dtype="float64")
        mask &= np.isfinite(values) if values.ndim == 1 else np.isfinite(values).all(axis=1)
    return mask
