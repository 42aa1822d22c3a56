"""Tests of newsintel.series.smoothing: the one sparse-bars rule of the app and digest."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from newsintel.series.smoothing import SPARSE_WEEKLY, is_sparse, rolling_mean, trend

MONDAYS = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(8)]


def test_sparse_is_a_median_of_at_most_two_stories_a_week() -> None:
    assert SPARSE_WEEKLY == 2
    assert is_sparse([0, 1, 2, 9, 1])
    assert not is_sparse([3, 3, 0, 5])
    assert not is_sparse([])


def test_rolling_mean_spans_calendar_weeks_in_the_callers_order() -> None:
    counts = [4.0, 0, 2, 2, 8, 0, 0, 4]
    assert rolling_mean(MONDAYS, counts) == (4, 2, 2, 2, 3, 3, 2.5, 3)
    # Reversed input, reversed output: the mean is by date, not by position.
    assert rolling_mean(MONDAYS[::-1], counts[::-1]) == (3, 2.5, 3, 3, 2, 2, 2, 4)
    # Weeks 2 and 3 absent (nothing stored then): week 4's window holds weeks 1 and 4.
    kept = [0, 1, 4]
    assert rolling_mean([MONDAYS[i] for i in kept], [counts[i] for i in kept]) == (4, 2, 4)
    with pytest.raises(ValueError, match="3 weeks but 2 counts"):
        rolling_mean(MONDAYS[:3], [1.0, 2.0])


def test_trend_only_for_sparse_bars() -> None:
    assert trend(MONDAYS[:4], [1.0, 0, 2, 1]) == (1, 0.5, 1, 1)
    assert trend(MONDAYS[:4], [10.0, 12, 9, 11]) is None
