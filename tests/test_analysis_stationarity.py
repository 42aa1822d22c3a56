"""check_stationarity and make_stationary against statsmodels on seeded series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.stattools import adfuller

from newsintel.analysis.stationarity import check_stationarity, make_stationary
from newsintel.errors import AnalysisError


def _series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2020-01-06", periods=values.size, freq="W-MON"))


def test_white_noise_is_stationary_and_matches_adfuller() -> None:
    values = np.random.default_rng(1).normal(size=300)
    report = check_stationarity(_series(values))
    assert report.verdict == "stationary"
    assert report.is_stationary
    assert report.adf_p == pytest.approx(
        adfuller(values, autolag="AIC", regression="c", result_object=False)[1]
    )
    assert 0.01 <= report.kpss_p <= 0.1


def test_random_walk_is_not_stationary() -> None:
    values = np.cumsum(np.random.default_rng(2).normal(size=300))
    report = check_stationarity(_series(values))
    assert report.verdict == "non-stationary"


def test_random_walk_differenced_once() -> None:
    series = _series(np.cumsum(np.random.default_rng(3).normal(size=300)))
    out, differences, report = make_stationary(series)
    assert differences == 1
    assert report.is_stationary
    assert len(out) == 299
    assert out.iloc[0] == pytest.approx(series.iloc[1] - series.iloc[0])


def test_integrated_twice_differenced_twice() -> None:
    values = np.cumsum(np.cumsum(np.random.default_rng(4).normal(size=300)))
    _, differences, report = make_stationary(_series(values))
    assert differences == 2
    assert report.is_stationary


def test_stationary_series_left_alone() -> None:
    series = _series(np.random.default_rng(1).normal(size=300))
    assert check_stationarity(series).is_stationary
    out, differences, _ = make_stationary(series)
    assert differences == 0
    assert out.equals(series)


def test_conflicting_tests_lead_to_differencing() -> None:
    # This white-noise draw makes KPSS reject (a 5% false alarm) while ADF rejects too;
    # the rule differences unless both tests agree, preferring over- to under-differencing.
    series = _series(np.random.default_rng(5).normal(size=200))
    assert check_stationarity(series).verdict == "conflicting"
    _, differences, report = make_stationary(series)
    assert differences == 1
    assert report.is_stationary


def test_constant_and_short_series_rejected() -> None:
    with pytest.raises(AnalysisError, match="constant"):
        check_stationarity(_series(np.ones(50)))
    with pytest.raises(AnalysisError, match="at least 10"):
        check_stationarity(_series(np.arange(5.0)))


def test_report_to_dict_is_plain() -> None:
    report = check_stationarity(_series(np.random.default_rng(6).normal(size=100)))
    data = report.to_dict()
    assert data["verdict"] == report.verdict
    assert isinstance(data["adf_p"], float)
