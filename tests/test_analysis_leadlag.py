"""lead_lag: planted signals are found, noise is not, and the figures are statsmodels'."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.stattools import grangercausalitytests

from newsintel.analysis.leadlag import LeadLagResult, lead_lag
from newsintel.analysis.prewhiten import prewhiten
from newsintel.analysis.stationarity import make_stationary
from newsintel.errors import AnalysisError
from newsintel.series.align import align_pair, log_counts, price_returns
from newsintel.series.csv_import import read_series_csv

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PRICES = SHARED / "prices" / "cn_li2co3_lioh_spot_daily_wind_2005-2023.csv"
ATTENTION = SHARED / "attention" / "gdelt_lithium_news_daily_volume_tone_2016-2023.csv"

ANALYSIS_COLUMNS = {
    "run_id",
    "x",
    "y",
    "freq",
    "test",
    "direction",
    "lag",
    "statistic",
    "p_value",
    "p_adj",
    "effect",
    "ci_low",
    "ci_high",
    "n_obs",
    "window_start",
    "window_end",
    "params",
    "warnings",
}


def _weekly(values: np.ndarray) -> pd.Series:
    index = pd.date_range("2018-01-01", periods=values.size, freq="W-MON")
    return pd.Series(values, index=index)


def planted_pair(n: int = 300, k: int = 3, seed: int = 7) -> tuple[pd.Series, pd.Series]:
    """x white noise, y_t = 0.8 x_{t-k} + noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n + k)
    y = 0.8 * x[:n] + rng.normal(size=n)
    return _weekly(x[k:]), _weekly(y)


@pytest.fixture(scope="module")
def planted() -> tuple[pd.Series, pd.Series, LeadLagResult]:
    x, y = planted_pair()
    return x, y, lead_lag(x, y, max_lag=8, x_name="x", y_name="y", freq="W")


def test_planted_lead_is_found(planted: tuple[pd.Series, pd.Series, LeadLagResult]) -> None:
    _, _, result = planted
    assert result.best_lag == 3
    at3 = next(c for c in result.ccf if c.lag == 3)
    assert at3.p_adj < 0.01
    assert at3.r == pytest.approx(0.8 / math.sqrt(1.64), abs=0.1)
    assert at3.ci_low < at3.r < at3.ci_high
    x_to_y = [g for g in result.granger if g.direction == "x->y"]
    assert [g.lag for g in x_to_y] == list(range(1, 9))
    assert all(g.p < 0.01 for g in x_to_y if g.lag >= 3)
    assert all(g.p_adj < 0.01 for g in x_to_y if g.lag >= 3)
    assert result.transforms["x"]["differences"] == 0
    assert result.warnings == ()
    assert any("x->y Granger test" in line for line in result.findings)
    # The pre-specified primary tests come first, the scan's strongest lag after them.
    assert result.findings[0].startswith("primary test x->y (lag 3")
    assert any("x leads y by 3 week(s)" in line for line in result.findings)


def test_swapped_pair_gives_negative_lag() -> None:
    x, y = planted_pair()
    result = lead_lag(y, x, max_lag=8, x_name="y", y_name="x", freq="W")
    assert result.best_lag == -3
    assert any(g.direction == "y->x" and g.p_adj < 0.01 for g in result.granger)


def test_figures_match_statsmodels_and_scipy(
    planted: tuple[pd.Series, pd.Series, LeadLagResult],
) -> None:
    x, y, result = planted
    ax, ay = align_pair(x, y)
    sx, _, _ = make_stationary(ax)
    sy, _, _ = make_stationary(ay)
    sx, sy = align_pair(sx, sy)
    xs, ys = sx.to_numpy(), sy.to_numpy()

    for direction, data in (
        ("x->y", np.column_stack([ys, xs])),
        ("y->x", np.column_stack([xs, ys])),
    ):
        direct = grangercausalitytests(data, maxlag=8)
        for point in (g for g in result.granger if g.direction == direction):
            f_stat, p, _, _ = direct[point.lag][0]["ssr_ftest"]
            assert point.p == pytest.approx(p, rel=1e-12, abs=1e-300)
            assert point.statistic == pytest.approx(f_stat, rel=1e-12)

    filtered = prewhiten(xs, ys)
    assert result.transforms["prewhiten"]["ar_order"] == filtered.order
    at0 = next(c for c in result.ccf if c.lag == 0)
    assert at0.r == pytest.approx(np.corrcoef(filtered.x, filtered.y)[0, 1], abs=1e-12)
    at3 = next(c for c in result.ccf if c.lag == 3)
    ref = stats.pearsonr(filtered.x[:-3], filtered.y[3:])
    assert at3.r == pytest.approx(ref.statistic, abs=1e-12)
    assert at3.p == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)

    raw = [c.p for c in result.ccf] + [g.p for g in result.granger]
    _, expected, _, _ = multipletests(raw, method="fdr_bh")
    got = [c.p_adj for c in result.ccf] + [g.p_adj for g in result.granger]
    assert got == pytest.approx(list(expected), rel=1e-12, abs=1e-300)


def test_independent_random_walks_rarely_significant() -> None:
    rng = np.random.default_rng(20240601)
    pairs = 200
    hits = 0
    for _ in range(pairs):
        x = _weekly(np.cumsum(rng.normal(size=200)))
        y = _weekly(np.cumsum(rng.normal(size=200)))
        result = lead_lag(x, y, max_lag=8, x_name="x", y_name="y", freq="W")
        if any(c.p_adj < 0.05 for c in result.ccf) or any(g.p_adj < 0.05 for g in result.granger):
            hits += 1
    share = hits / pairs
    print(f"independent random walks with any adjusted-significant result: {share:.3f}")
    assert share <= 0.05


def test_random_walk_levels_are_differenced() -> None:
    rng = np.random.default_rng(3)
    x = _weekly(np.cumsum(rng.normal(size=150)))
    y = _weekly(rng.normal(size=150))
    result = lead_lag(x, y, max_lag=4, x_name="x", y_name="y", freq="W")
    assert result.transforms["x"]["differences"] >= 1
    assert result.transforms["x"]["stationarity"]["verdict"] == "stationary"


def test_small_sample_warnings() -> None:
    x, y = planted_pair(n=24)
    result = lead_lag(x, y, max_lag=8, x_name="x", y_name="y", freq="W")
    assert any("too small" in w for w in result.warnings)
    assert any("4 x max_lag = 32" in w for w in result.warnings)


def test_too_few_observations_rejected() -> None:
    x, y = planted_pair(n=9)
    with pytest.raises(AnalysisError, match="share only 9 dates"):
        lead_lag(x, y, max_lag=2, x_name="x", y_name="y", freq="W")


def test_constant_series_rejected() -> None:
    x, _ = planted_pair(n=50)
    flat = pd.Series(5.0, index=x.index)
    with pytest.raises(AnalysisError, match="flat is constant"):
        lead_lag(x, flat, max_lag=2, x_name="x", y_name="flat", freq="W")


def test_bad_max_lag_rejected() -> None:
    x, y = planted_pair(n=50)
    with pytest.raises(AnalysisError, match="max_lag"):
        lead_lag(x, y, max_lag=0, x_name="x", y_name="y", freq="W")


def test_without_prewhitening_warns() -> None:
    x, y = planted_pair(n=120)
    result = lead_lag(x, y, max_lag=4, x_name="x", y_name="y", freq="W", prewhiten=False)
    assert result.transforms["prewhiten"] == {"applied": False}
    assert any("not prewhitened" in w for w in result.warnings)
    assert result.best_lag == 3


def test_to_dict_is_json_ready(planted: tuple[pd.Series, pd.Series, LeadLagResult]) -> None:
    _, _, result = planted
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["window"] == ["2018-01-01", result.window_end.isoformat()]
    assert len(data["ccf"]) == 17
    assert set(data["ccf"][0]) >= {"lag", "r", "ci", "p", "p_adj"}
    assert set(data["granger"][0]) == {
        "direction",
        "lag",
        "statistic",
        "p",
        "p_adj",
        "p_robust",
        "p_robust_adj",
        "robust",
    }
    assert data["best_lag"] == 3
    # The planted 3-week lead survives the robust test and leaving any week out.
    best = next(c for c in data["ccf"] if c["lag"] == 3)
    assert best["p_robust_adj"] < 0.01
    assert data["fragile"]["lag"] == 3 and data["fragile"]["fragile"] is False
    assert 0 < data["power"]["min_detectable_r"] < 0.5


def test_to_rows_map_onto_analysis_results(
    planted: tuple[pd.Series, pd.Series, LeadLagResult],
) -> None:
    _, _, result = planted
    rows = result.to_rows("run-1")
    assert len(rows) == 17 + 16
    assert all(set(row) == ANALYSIS_COLUMNS for row in rows)
    keys = {(r["test"], r["direction"], r["lag"]) for r in rows}
    assert len(keys) == len(rows)
    assert {r["direction"] for r in rows if r["test"] == "ccf"} == {""}
    assert {r["direction"] for r in rows if r["test"] == "granger"} == {"x->y", "y->x"}
    assert json.loads(rows[0]["params"])["max_lag"] == 8
    granger_lag2 = next(r for r in rows if r["test"] == "granger" and r["lag"] == 2)
    assert granger_lag2["n_obs"] == result.n_stationary - 2


def test_wording_makes_no_causal_claim(
    planted: tuple[pd.Series, pd.Series, LeadLagResult],
) -> None:
    _, _, result = planted
    text = " ".join(result.findings + result.warnings).lower()
    for word in ("cause", "drive", "because"):
        assert word not in text


@pytest.mark.skipif(
    not (PRICES.exists() and ATTENTION.exists()), reason="shared real data not present"
)
def test_real_lithium_prices_against_news_volume_weekly() -> None:
    prices = read_series_csv(PRICES, value_col="li2co3_99_cny_per_t").points
    news = read_series_csv(ATTENTION, value_col="num_news", kind="attention").points
    window = slice("2017-01-01", "2023-12-31")
    returns = price_returns(prices[window], "W")
    attention = log_counts(news[window], "W")
    result = lead_lag(
        attention,
        returns,
        max_lag=8,
        x_name="series:gdelt_lithium",
        y_name="series:li2co3",
        freq="W",
    )
    assert result.n_obs > 250
    assert result.window_start.year == 2017
    assert len(result.ccf) == 17
    assert len(result.granger) == 16
    json.dumps(result.to_dict(), allow_nan=False)
    print(result.findings, result.warnings)
