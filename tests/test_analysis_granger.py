"""granger_tests and select_var_order against statsmodels, and the per-series caches."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tools.sm_exceptions import InfeasibleTestError
from statsmodels.tsa.api import VAR
from statsmodels.tsa.stattools import grangercausalitytests

from newsintel.analysis import stationarity
from newsintel.analysis.granger import (
    complete_rows_at_lag,
    feasible_lag,
    granger_tests,
    select_var_order,
    var_criteria,
)
from newsintel.analysis.leadlag import lead_lag
from newsintel.analysis.prewhiten import _ar_coefficients, prewhiten
from newsintel.errors import AnalysisError


def _arrays(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 600))
    x = rng.normal(size=n)
    y = rng.normal(size=n)
    if seed % 2:
        y[2:] += 0.5 * x[:-2]  # a planted x->y effect: large F, tiny p
    if seed % 3 == 0:
        y = np.cumsum(y) * 1e-3  # another scale and strong autocorrelation
    return x, y


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("max_lag", [1, 4, 12])
def test_granger_ssr_ftest_matches_statsmodels(seed: int, max_lag: int) -> None:
    x, y = _arrays(seed)
    lag = min(max_lag, (x.size - 2) // 3)
    points = granger_tests(x, y, lag)
    assert len(points) == 2 * lag
    for direction, data in (
        ("x->y", np.column_stack([y, x])),
        ("y->x", np.column_stack([x, y])),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            direct = grangercausalitytests(data, maxlag=lag)
        for point in (g for g in points if g.direction == direction):
            f_stat, p, df_denom, df_num = direct[point.lag][0]["ssr_ftest"]
            assert point.statistic == pytest.approx(f_stat, rel=1e-8, abs=1e-12)
            assert point.p == pytest.approx(p, rel=1e-8, abs=1e-300)
            assert (point.df_num, point.df_denom) == (df_num, df_denom)
            assert point.n_obs == x.size - point.lag


def test_granger_rejects_perfect_fit_and_constant_lags() -> None:
    x = np.random.default_rng(0).normal(size=60)
    follows = np.concatenate([[0.0], x[:-1]])  # y_t = x_{t-1} exactly
    with pytest.raises(InfeasibleTestError):  # statsmodels refuses it too
        grangercausalitytests(np.column_stack([follows, x]), maxlag=2)
    with pytest.raises(AnalysisError, match="perfect fit"):
        granger_tests(x, follows, 2)
    flat = x.copy()
    flat[:-1] = 1.0  # every lagged value of the source is the same
    with pytest.raises(AnalysisError, match="constant"):
        granger_tests(flat, x, 1)
    assert granger_tests(x, x, 0) == []


@pytest.mark.parametrize("seed", range(6))
def test_var_order_and_criteria_match_statsmodels(seed: int) -> None:
    x, y = _arrays(seed)
    lag = min(12, (x.size - 3) // 3)
    selected = VAR(np.column_stack([x, y])).select_order(maxlags=lag)
    aic, bic = var_criteria(x, y, lag)
    assert aic == pytest.approx(list(selected.ics["aic"]), rel=1e-12, abs=1e-12)
    assert bic == pytest.approx(list(selected.ics["bic"]), rel=1e-12, abs=1e-12)
    assert select_var_order(x, y, lag) == (int(selected.aic), int(selected.bic))


def test_var_order_too_many_lags_is_an_analysis_error() -> None:
    x, y = _arrays(0)
    with pytest.raises(AnalysisError, match="VAR lag-order selection failed"):
        select_var_order(x[:14], y[:14], 4)  # statsmodels: the largest model cannot be fitted


def _weekly(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2020-01-05", periods=values.size, freq="W-SUN"))


def test_cached_preparation_gives_the_same_results() -> None:
    rng = np.random.default_rng(11)
    x = _weekly(np.cumsum(rng.normal(size=200)))
    ys = [_weekly(rng.normal(size=200)) for _ in range(3)]
    stationarity._report.cache_clear()
    _ar_coefficients.cache_clear()
    cold = [lead_lag(x, y, max_lag=6, x_name="x", y_name="y", freq="W").to_dict() for y in ys]
    warm = [lead_lag(x, y, max_lag=6, x_name="x", y_name="y", freq="W").to_dict() for y in ys]
    assert warm == cold
    # x's levels and its difference were tested once, not once per pair.
    assert stationarity._report.cache_info().hits >= 2 * len(ys) + 1
    assert _ar_coefficients.cache_info().misses == 1


def test_prewhiten_cache_is_keyed_on_values() -> None:
    rng = np.random.default_rng(12)
    a, b = rng.normal(size=120), rng.normal(size=120)
    first = prewhiten(a, b)
    other = prewhiten(np.cumsum(a) * 0.1 + a, b)
    again = prewhiten(a, b)
    assert again.coefficients == first.coefficients
    assert np.array_equal(again.x, first.x)
    assert other.coefficients != first.coefficients


def test_gapped_calendar_is_tested_up_to_the_lag_its_complete_rows_allow() -> None:
    # 60 weekly periods with every third one missing (a sparse corpus: weeks without a
    # story have no share). Lag 8 has no complete row left; lag 1 has ~20.
    rng = np.random.default_rng(7)
    x = rng.normal(size=60)
    y = rng.normal(size=60)
    y[1:] += 0.6 * x[:-1]
    x[::3] = np.nan
    assert complete_rows_at_lag(x, y, 8) == 0
    lag = feasible_lag(x, y, 8)
    assert 1 <= lag < 8
    assert complete_rows_at_lag(x, y, lag) > 2 * lag + 1
    assert complete_rows_at_lag(x, y, lag + 1) <= 2 * (lag + 1) + 1
    points = granger_tests(x, y, lag)
    assert {p.lag for p in points} == set(range(1, lag + 1))
    # Without gaps the rule is statsmodels' own: n > 3 * lag + 1 points.
    full = rng.normal(size=(2, 30))
    assert feasible_lag(full[0], full[1], 12) == (30 - 2) // 3


def test_lead_lag_on_a_gapped_calendar_still_reports_granger_tests() -> None:
    rng = np.random.default_rng(3)
    index = pd.date_range("2022-01-03", periods=160, freq="W-MON")
    x = pd.Series(rng.normal(size=160), index=index)
    y = pd.Series(rng.normal(size=160), index=index)
    # A quarter of the weeks absent in x, in runs of one or two.
    gaps = rng.choice(160, size=40, replace=False)
    x.iloc[gaps] = np.nan
    result = lead_lag(
        x, y, max_lag=8, x_name="theme:t", y_name="series:s", freq="W", prewhiten=False
    )
    assert result.granger, result.warnings
    assert any("Granger up to lag" in n for n in result.warnings)
