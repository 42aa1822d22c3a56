"""Rolling correlation, change points, event study and VAR impulse responses."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from newsintel.analysis.changepoints import detect_change_points
from newsintel.analysis.events import event_study
from newsintel.analysis.irf import var_impulse_response
from newsintel.analysis.rolling import rolling_correlation
from newsintel.errors import AnalysisError


def _weekly(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2018-01-01", periods=values.size, freq="W-MON"))


def test_rolling_correlation_matches_numpy_per_window() -> None:
    rng = np.random.default_rng(11)
    x = _weekly(rng.normal(size=60))
    y = _weekly(0.5 * x.to_numpy() + rng.normal(size=60))
    result = rolling_correlation(x, y, 20)
    assert len(result.points) == 41
    assert result.points.index[0] == x.index[19]
    expected = np.corrcoef(x.to_numpy()[10:30], y.to_numpy()[10:30])[0, 1]
    assert result.points.iloc[10] == pytest.approx(expected, abs=1e-10)
    json.dumps(result.to_dict(), allow_nan=False)


def test_rolling_correlation_flat_window_and_bad_window() -> None:
    x = _weekly(np.r_[np.ones(10), np.arange(10.0)])
    y = _weekly(np.arange(20.0))
    result = rolling_correlation(x, y, 5)
    assert np.isnan(result.points.iloc[0])
    assert result.warnings
    with pytest.raises(AnalysisError, match="at least 5"):
        rolling_correlation(x, y, 2)
    with pytest.raises(AnalysisError, match="fewer than the rolling window"):
        rolling_correlation(x, y, 50)


def test_change_points_found_near_planted_shifts() -> None:
    # A single draw can legitimately mislocate a change (noise can look like an early
    # shift), so the property is checked over many seeded draws.
    rng = np.random.default_rng(12)
    recovered = 0
    draws = 40
    for _ in range(draws):
        values = np.r_[np.zeros(60), np.full(60, 3.0), np.full(60, 1.0)] + rng.normal(size=180)
        series = _weekly(values)
        result = detect_change_points(series)
        positions = [list(series.index).index(pd.Timestamp(d)) for d in result.dates]
        if len(positions) == 2 and abs(positions[0] - 60) <= 3 and abs(positions[1] - 120) <= 3:
            recovered += 1
            assert [round(s.mean) for s in result.segments] == [0, 3, 1]
    print(f"planted change points recovered within 3 periods: {recovered}/{draws}")
    assert recovered >= 0.9 * draws
    json.dumps(result.to_dict())


def test_no_change_points_in_white_noise() -> None:
    rng = np.random.default_rng(13)
    alarms = sum(bool(detect_change_points(_weekly(rng.normal(size=200))).dates) for _ in range(40))
    assert alarms <= 2
    result = detect_change_points(_weekly(rng.normal(size=200)))
    assert len(result.segments) == len(result.dates) + 1


def test_change_points_reject_short_or_constant() -> None:
    with pytest.raises(AnalysisError, match="at least 10"):
        detect_change_points(_weekly(np.arange(6.0)))
    with pytest.raises(AnalysisError, match="constant"):
        detect_change_points(_weekly(np.ones(30)))


def test_event_study_recovers_planted_response() -> None:
    rng = np.random.default_rng(14)
    n = 400
    x = rng.normal(size=n)
    y = rng.normal(scale=0.5, size=n)
    spikes = np.arange(20, n - 20, 37)
    x[spikes] = 6.0
    y[spikes + 2] += 2.0  # y jumps two periods after each spike
    result = event_study(_weekly(x), _weekly(y), x_name="x", y_name="y", pre=2, post=5, seed=1)
    assert len(result.events) == len(spikes)
    car = dict(zip(result.offsets, result.car, strict=True))
    low = dict(zip(result.offsets, result.ci_low, strict=True))
    high = dict(zip(result.offsets, result.ci_high, strict=True))
    assert low[1] < 0 < high[1]
    assert car[2] == pytest.approx(2.0, abs=0.5)
    assert low[2] > 1.0
    again = event_study(_weekly(x), _weekly(y), x_name="x", y_name="y", pre=2, post=5, seed=1)
    assert again.ci_low == result.ci_low
    json.dumps(result.to_dict(), allow_nan=False)


def test_event_study_needs_events() -> None:
    x = _weekly(np.random.default_rng(15).normal(size=50))
    with pytest.raises(AnalysisError, match="spike"):
        event_study(x, x, x_name="x", y_name="y", threshold=10.0)


def test_var_impulse_response_of_planted_lag() -> None:
    rng = np.random.default_rng(16)
    n = 300
    x = rng.normal(size=n)
    y = np.zeros(n)
    y[1:] = 0.7 * x[:-1] + rng.normal(size=n - 1)
    result = var_impulse_response(
        _weekly(x), _weekly(y), x_name="x", y_name="y", freq="W", periods=4, order=1
    )
    assert result.x_to_y[1] == pytest.approx(0.7, abs=0.15)
    assert result.x_to_y_low[1] > 0.4
    assert result.y_to_x_low[1] < 0 < result.y_to_x_high[1]
    assert len(result.x_to_y) == 5
    json.dumps(result.to_dict(), allow_nan=False)
