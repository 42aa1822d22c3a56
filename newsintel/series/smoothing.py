"""When weekly story bars are too sparse to read, and the trend line drawn over them.

One rule for every chart of weekly story counts (the app's Altair charts and the
digest's PNG), so a theme reads the same on a page and in the email. Pure Python: the
digest draws with matplotlib, the app with Altair, and neither needs pandas for this.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date, timedelta

__all__ = ["ROLLING_WEEKS", "SPARSE_WEEKLY", "TREND_NAME", "is_sparse", "rolling_mean", "trend"]

# Weekly bars this sparse (median stories per week) get a rolling mean line: one or
# two stories a week read as noise, their 4-week mean as a trend.
SPARSE_WEEKLY = 2
ROLLING_WEEKS = 4
TREND_NAME = f"{ROLLING_WEEKS}-week mean"


def is_sparse(counts: Sequence[float]) -> bool:
    """True when the median weekly count is at most ``SPARSE_WEEKLY`` (never when empty)."""
    return bool(counts) and statistics.median(counts) <= SPARSE_WEEKLY


def rolling_mean(
    weeks: Sequence[date], counts: Sequence[float], window: int = ROLLING_WEEKS
) -> tuple[float, ...]:
    """Trailing mean of ``counts`` over the ``window`` calendar weeks ending at each week.

    ``weeks`` are the Mondays the counts belong to, in any order; the result follows
    their order. A week absent from ``weeks`` is left out of the mean rather than
    counted as zero: the weekly views list every week that has any story at all, so an
    absent week is one the database holds nothing for, not a quiet week for the theme.
    The first weeks average what they have (as pandas' ``min_periods=1``).
    """
    if len(weeks) != len(counts):
        raise ValueError(f"{len(weeks)} weeks but {len(counts)} counts")
    by_week = sorted(zip(weeks, counts, strict=True))
    span = timedelta(weeks=window)
    means: dict[date, float] = {}
    first = 0
    total = 0.0
    for last, (week, count) in enumerate(by_week):
        total += count
        while by_week[first][0] <= week - span:
            total -= by_week[first][1]
            first += 1
        means[week] = total / (last - first + 1)
    return tuple(means[week] for week in weeks)


def trend(weeks: Sequence[date], counts: Sequence[float]) -> tuple[float, ...] | None:
    """The ``ROLLING_WEEKS``-week mean to draw over sparse weekly bars, else None."""
    return rolling_mean(weeks, counts) if is_sparse(counts) else None
