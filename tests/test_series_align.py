"""Resampling and transforms in newsintel.series.align, checked on hand-made examples."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from newsintel.errors import SeriesError
from newsintel.series.align import align_pair, log_counts, price_returns, resample, theme_share


def _series(values: dict[str, float]) -> pd.Series:
    return pd.Series(list(values.values()), index=pd.DatetimeIndex(list(values)), dtype=float)


def _labels(points: pd.Series) -> list[str]:
    return [d.date().isoformat() for d in points.index]


# 2024-01-01 is a Monday; the 7th a Sunday; the 8th the next Monday.
PRICES = _series(
    {
        "2024-01-03": 10.0,
        "2024-01-05": 12.0,
        "2024-01-07": 11.0,
        "2024-01-08": 20.0,
        "2024-01-12": 22.0,
        "2024-01-24": 30.0,
    }
)


def test_weekly_labelled_by_monday_without_filling_empty_weeks() -> None:
    weekly = resample(PRICES, "W", "last")
    # The week of 2024-01-15 has no data and stays absent.
    assert _labels(weekly) == ["2024-01-01", "2024-01-08", "2024-01-22"]
    assert weekly.tolist() == [11.0, 22.0, 30.0]
    assert all(d.dayofweek == 0 for d in weekly.index)


def test_weekly_mean_and_sum() -> None:
    assert resample(PRICES, "W", "mean").tolist() == [11.0, 21.0, 30.0]
    assert resample(PRICES, "W", "sum").tolist() == [33.0, 42.0, 30.0]


def test_monthly_labelled_by_first_day() -> None:
    points = _series({"2024-01-31": 1.0, "2024-02-01": 2.0, "2024-02-29": 3.0})
    monthly = resample(points, "M", "mean")
    assert _labels(monthly) == ["2024-01-01", "2024-02-01"]
    assert monthly.tolist() == [1.0, 2.5]


def test_daily_keeps_trading_days_only() -> None:
    daily = resample(PRICES, "D", "last")
    assert _labels(daily) == _labels(PRICES)


def test_unknown_frequency_and_aggregation_rejected() -> None:
    with pytest.raises(SeriesError, match="unknown frequency 'Q'"):
        resample(PRICES, "Q", "last")  # type: ignore[arg-type]
    with pytest.raises(SeriesError, match="unknown aggregation 'max'"):
        resample(PRICES, "W", "max")  # type: ignore[arg-type]


def test_weekly_log_returns_exact() -> None:
    returns = price_returns(PRICES, "W")
    assert _labels(returns) == ["2024-01-08", "2024-01-22"]
    assert returns.iloc[0] == pytest.approx(math.log(22.0 / 11.0), abs=1e-15)
    assert returns.iloc[1] == pytest.approx(math.log(30.0 / 22.0), abs=1e-15)


def test_daily_log_returns_span_non_trading_days() -> None:
    returns = price_returns(_series({"2024-01-05": 100.0, "2024-01-08": 110.0}), "D")
    assert _labels(returns) == ["2024-01-08"]
    assert returns.iloc[0] == pytest.approx(math.log(1.1))


def test_returns_reject_non_positive_price() -> None:
    with pytest.raises(SeriesError, match="2024-01-08 is not positive"):
        price_returns(_series({"2024-01-05": 1.0, "2024-01-08": 0.0}), "D")


def test_theme_share_per_week_drops_zero_totals() -> None:
    counts = _series({"2024-01-01": 1.0, "2024-01-03": 2.0, "2024-01-09": 0.0})
    totals = _series(
        {
            "2024-01-01": 10.0,
            "2024-01-03": 20.0,
            "2024-01-04": 10.0,
            "2024-01-09": 5.0,
            "2024-01-15": 0.0,
        }
    )
    share = theme_share(counts, totals, "W")
    # Week of the 8th: 0 theme stories of 5; week of the 15th: no stories at all.
    assert _labels(share) == ["2024-01-01", "2024-01-08"]
    assert share.tolist() == [pytest.approx(3.0 / 40.0), 0.0]


def test_theme_share_rejects_counts_above_totals() -> None:
    with pytest.raises(SeriesError, match="exceeds"):
        theme_share(_series({"2024-01-01": 5.0}), _series({"2024-01-01": 2.0}), "D")


def test_theme_share_rejects_counts_without_totals() -> None:
    with pytest.raises(SeriesError, match="no total"):
        theme_share(_series({"2024-01-01": 1.0}), _series({"2024-01-02": 2.0}), "D")


def test_log_counts_is_log1p_of_period_sums() -> None:
    counts = _series({"2024-01-01": 3.0, "2024-01-02": 4.0, "2024-01-08": 0.0})
    logged = log_counts(counts, "W")
    assert logged.tolist() == [pytest.approx(math.log(8.0)), 0.0]


def test_align_pair_inner_join_drops_nan() -> None:
    x = _series({"2024-01-01": 1.0, "2024-01-02": float("nan"), "2024-01-03": 3.0})
    y = _series({"2024-01-02": 20.0, "2024-01-03": 30.0, "2024-01-04": 40.0})
    ax, ay = align_pair(x, y)
    assert _labels(ax) == _labels(ay) == ["2024-01-03"]
    assert ax.tolist() == [3.0]
    assert ay.tolist() == [30.0]


def test_non_date_index_rejected() -> None:
    with pytest.raises(SeriesError, match="indexed by dates"):
        resample(pd.Series([1.0, 2.0]), "D", "last")
