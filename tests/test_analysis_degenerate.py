"""Degenerate input never crashes a statistic (issue 17, section 1).

Every step either gives a result or raises AnalysisError with a reason, and a whole
pair either gives an analysis or a ``NotAnalysable`` with the reason: never another
exception. Hypothesis generates the shapes real windows take: constant, all zero but
one spike, very sparse counts, fewer points than lags, NaN/inf, huge magnitudes, x
identical to y, duplicated dates.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsintel.analysis import (
    analyze_pair,
    detect_change_points,
    event_study,
    lead_lag,
    rolling_correlation,
    rolling_granger,
    var_impulse_response,
)
from newsintel.analysis.calendar import on_calendar
from newsintel.analysis.screen import NotAnalysable, finite_pair
from newsintel.errors import AnalysisError

FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _weekly(values: np.ndarray, *, duplicate: bool = False) -> pd.Series:
    index = pd.date_range("2005-01-07", periods=values.size, freq="W-FRI")
    if duplicate and values.size > 2:
        index = index.delete(1).insert(1, index[0])
    return pd.Series(values, index=index, dtype="float64")


SHAPES = ("noise", "constant", "spike", "sparse", "steps", "nan_inf", "huge", "tiny")


@st.composite
def shaped(draw: st.DrawFn, n: int, shape: str | None = None) -> np.ndarray:
    """One series of length ``n`` in one of the degenerate shapes (or noise)."""
    kind = shape or draw(st.sampled_from(SHAPES))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if kind == "constant":
        return np.full(n, draw(st.sampled_from([0.0, 1.0, -3.5, 1e12])))
    if kind == "spike":
        out = np.zeros(n)
        out[draw(st.integers(0, n - 1))] = draw(st.sampled_from([1.0, 1e6, -2.0]))
        return out
    if kind == "sparse":
        return rng.poisson(draw(st.sampled_from([0.05, 0.2, 0.5])), size=n).astype(float)
    if kind == "steps":
        # The issue's reproduction: a price constant but for two 1-unit steps.
        out = np.full(n, 100.0)
        a, b = sorted(draw(st.lists(st.integers(1, n - 1), min_size=2, max_size=2)))
        out[a:] += 1
        out[b:] += 1
        return out
    if kind == "nan_inf":
        out = rng.normal(size=n)
        k = draw(st.integers(1, max(1, n // 4)))
        out[rng.choice(n, size=k, replace=False)] = draw(
            st.sampled_from([math.nan, math.inf, -math.inf])
        )
        return out
    if kind == "huge":
        return rng.normal(size=n) * draw(st.sampled_from([1e100, 1e160, 1e300]))
    if kind == "tiny":
        return rng.normal(size=n) * 1e-300
    return rng.normal(size=n).cumsum() if draw(st.booleans()) else rng.normal(size=n)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[pd.Series, pd.Series]:
    n = draw(st.sampled_from([3, 9, 12, 30, 60, 90]))
    x = draw(shaped(n))
    same = draw(st.integers(0, 5)) == 0
    y = x.copy() if same else draw(shaped(n))
    duplicate = draw(st.integers(0, 8)) == 0
    return _weekly(x, duplicate=duplicate), _weekly(y)


def _only_analysis_errors(call: object) -> None:
    try:
        call()  # type: ignore[operator]
    except AnalysisError as exc:
        assert str(exc)  # a reason, never an empty message


@FAST
@given(pair=pairs(), max_lag=st.sampled_from([1, 4, 12]))
def test_analyze_pair_never_raises(pair: tuple[pd.Series, pd.Series], max_lag: int) -> None:
    x, y = pair
    result = analyze_pair(x, y, max_lag=max_lag, x_name="theme:t", y_name="series:p", freq="W")
    data = result.to_dict()
    json.dumps(data, allow_nan=False, default=str)
    rows = result.to_rows("run")
    assert rows
    if isinstance(result, NotAnalysable):
        assert result.warnings[0].startswith("not analysable: ")
        assert [r["test"] for r in rows] == ["not_analysable"]
        assert data["analysable"] is False


@FAST
@given(pair=pairs(), max_lag=st.sampled_from([1, 3, 12]))
def test_lead_lag_raises_only_analysis_error(
    pair: tuple[pd.Series, pd.Series], max_lag: int
) -> None:
    x, y = pair
    _only_analysis_errors(lambda: lead_lag(x, y, max_lag=max_lag, x_name="x", y_name="y", freq="W"))


@FAST
@given(pair=pairs(), window=st.sampled_from([5, 12, 40]), lag=st.sampled_from([1, 3]))
def test_rolling_raises_only_analysis_error(
    pair: tuple[pd.Series, pd.Series], window: int, lag: int
) -> None:
    x, y = pair
    _only_analysis_errors(lambda: rolling_correlation(x, y, window))
    _only_analysis_errors(lambda: rolling_granger(x, y, window=window, lag=lag))

    def on_the_calendar() -> None:
        """As analyze_pair calls them: on a calendar, NaN for missing periods."""
        cx, cy = on_calendar(*finite_pair(x, y), "W")
        _only_analysis_errors(lambda: rolling_correlation(cx, cy, window, calendar=True))
        rolling_granger(cx, cy, window=window, lag=lag, calendar=True)

    _only_analysis_errors(on_the_calendar)


@FAST
@given(pair=pairs())
def test_irf_raises_only_analysis_error(pair: tuple[pd.Series, pd.Series]) -> None:
    x, y = pair
    _only_analysis_errors(
        lambda: var_impulse_response(x, y, x_name="x", y_name="y", freq="W", periods=4)
    )


@FAST
@given(pair=pairs())
def test_events_and_change_points_raise_only_analysis_error(
    pair: tuple[pd.Series, pd.Series],
) -> None:
    x, y = pair
    _only_analysis_errors(
        lambda: event_study(x, y, x_name="x", y_name="y", pre=2, post=3, n_boot=50)
    )
    _only_analysis_errors(lambda: detect_change_points(x, min_size=4))


def test_issue_reproduction_two_step_price_is_not_analysable() -> None:
    """A 30-week price constant but for two 1-unit steps: KPSS overflowed on it."""
    price = np.full(30, 100.0)
    price[10:] += 1
    price[20:] += 1
    returns = _weekly(np.log(price)).diff().dropna()
    attention = _weekly(np.random.default_rng(0).random(30))
    result = analyze_pair(
        attention, returns, max_lag=8, x_name="theme:a", y_name="series:p", freq="W"
    )
    assert isinstance(result, NotAnalysable)
    assert "series:p differs from its most common value in only 2" in result.reason


@pytest.mark.parametrize(
    ("x", "y", "reason"),
    [
        (np.ones(40), np.arange(40.0), "constant"),
        (np.arange(40.0), np.arange(40.0), "identical"),
        (np.arange(40.0), 3 * np.arange(40.0) + 1, "exact linear function"),
        (np.r_[np.arange(39.0), math.inf], np.arange(40.0) ** 0.5, "infinite values"),
        (np.arange(40.0) * 1e200, np.sin(np.arange(40.0)), "beyond"),
        (np.arange(5.0), np.arange(5.0) ** 2, "share only 5 dates"),
    ],
)
def test_reasons_name_the_problem(x: np.ndarray, y: np.ndarray, reason: str) -> None:
    result = analyze_pair(_weekly(x), _weekly(y), max_lag=4, x_name="x", y_name="y", freq="W")
    assert isinstance(result, NotAnalysable)
    assert reason in result.reason


def test_duplicated_dates_and_nan_are_reported() -> None:
    rng = np.random.default_rng(3)
    x = _weekly(rng.normal(size=50), duplicate=True)
    y = _weekly(rng.normal(size=50))
    result = analyze_pair(x, y, max_lag=4, x_name="x", y_name="y", freq="W")
    assert isinstance(result, NotAnalysable)
    assert "duplicated date" in result.reason
    holes = rng.normal(size=50)
    holes[[3, 17]] = math.nan
    analysed = analyze_pair(_weekly(holes), y, max_lag=4, x_name="x", y_name="y", freq="W")
    assert analysed.analysable
    assert any("2 period(s) without a value" in w for w in analysed.warnings)


def test_every_statistic_names_bad_dates_the_same_way() -> None:
    """One align-and-check step (``screen.finite_pair``/``screen_pair``) behind them all."""
    index = pd.date_range("2020-01-03", periods=60, freq="W-FRI")
    rng = np.random.default_rng(4)
    x = pd.Series(rng.normal(size=60), index.insert(5, index[5])[:60])
    y = pd.Series(rng.normal(size=60), index)
    calls = [
        lambda: lead_lag(x, y, max_lag=2, x_name="x", y_name="y", freq="W"),
        lambda: rolling_correlation(x, y, 20),
        lambda: rolling_granger(x, y, window=20, lag=1),
        lambda: var_impulse_response(x, y, x_name="x", y_name="y", freq="W"),
        lambda: event_study(x, y, x_name="x", y_name="y", n_boot=10),
    ]
    for call in calls:
        with pytest.raises(AnalysisError, match=r"has 1 duplicated date\(s\) \(first 2020-02-07\)"):
            call()
