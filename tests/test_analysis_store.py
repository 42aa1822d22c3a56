"""Every statistic of an analysis lands in analysis_results; BH spans the whole run."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.stattools import grangercausalitytests

from newsintel.analysis.rolling import rolling_granger
from newsintel.cli import main
from newsintel.config import Settings
from newsintel.jobs import analyze, import_series, load_variable, pair_analysis
from newsintel.store import open_db

N_WEEKS = 320


def _write(path: Path, dates: pd.DatetimeIndex, values: np.ndarray) -> Path:
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "value": values})
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def planted(settings: Settings, tmp_path: Path) -> Settings:
    """Weekly attention with level shifts and spikes; a price whose returns follow the
    attention changes two weeks later."""
    rng = np.random.default_rng(7)
    weeks = pd.date_range("2015-01-05", periods=N_WEEKS, freq="7D")
    level = np.where(np.arange(N_WEEKS) < 150, 100.0, 220.0)
    counts = level * np.exp(rng.normal(0, 0.15, N_WEEKS))
    counts[rng.choice(np.arange(20, N_WEEKS - 20), 12, replace=False)] *= 3.5
    change = np.diff(np.log1p(counts), prepend=np.log1p(counts[0]))
    returns = 0.02 * rng.normal(size=N_WEEKS) + 0.03 * np.roll(change, 2)
    price = 1000 * np.exp(np.cumsum(returns))
    import_series(
        settings, _write(tmp_path / "att.csv", weeks, counts.round()), name="att", kind="attention"
    )
    import_series(settings, _write(tmp_path / "px.csv", weeks, price), name="px", unit="USD/t")
    return settings


def _rows(settings: Settings, run_id: str) -> pd.DataFrame:
    with open_db(settings.db, read_only=True) as con:
        return con.execute(
            "SELECT * FROM v_analysis_results WHERE run_id = ? ORDER BY test, direction, lag",
            [run_id],
        ).df()


def test_every_statistic_is_stored_with_run_params_and_window(planted: Settings) -> None:
    result = analyze(planted, "series:att", "series:px", freq="W", max_lag=4, run_id="run-a")
    rows = _rows(planted, "run-a")
    assert len(rows) == len(result.to_rows("run-a"))
    tests = set(rows["test"])
    assert tests == {
        "ccf",
        "granger",
        "rolling_corr",
        "rolling_granger",
        "changepoint",
        "event_car",
        "irf",
    }
    ll = result.lead_lag
    assert (rows["window_start"].dt.date == ll.window_start).all()
    assert (rows["window_end"].dt.date == ll.window_end).all()
    assert (rows["x"] == "series:att").all() and (rows["freq"] == "W").all()
    params = [json.loads(p) for p in rows["params"]]
    assert all(isinstance(p, dict) for p in params)

    rolling = rows[rows["test"] == "rolling_corr"].iloc[0]
    assert rolling["lag"] == result.rolling.window  # type: ignore[union-attr]
    p = json.loads(rolling["params"])
    assert p["n_windows"] == len(p["points"]) and p["r_min"] <= p["r_median"] <= p["r_max"]
    assert rolling["effect"] == pytest.approx(p["r_median"])

    cps = rows[rows["test"] == "changepoint"]
    summary = cps[cps["lag"] == 0].iloc[0]
    found = json.loads(summary["params"])["dates"]
    assert summary["statistic"] == len(found) == len(cps) - 1
    # The planted level shift at week 150 (2017-11-13) is among the change points.
    shift = pd.Timestamp("2015-01-05") + pd.Timedelta(weeks=150)
    assert any(abs((pd.Timestamp(d) - shift).days) <= 21 for d in found)
    first = cps[cps["lag"] == 1].iloc[0]
    assert json.loads(first["params"])["date"] == found[0]

    events = rows[rows["test"] == "event_car"]
    pre, post = result.settings["event_study"]["pre"], result.settings["event_study"]["post"]
    assert list(events["lag"]) == list(range(-pre, post + 1))
    assert (events["ci_low"] <= events["effect"]).all()
    assert (events["effect"] <= events["ci_high"]).all()
    assert (events["n_obs"] == len(json.loads(events.iloc[0]["params"])["events"])).all()

    irf = rows[rows["test"] == "irf"]
    assert set(irf["direction"]) == {"x->y", "y->x"}
    assert list(irf[irf["direction"] == "x->y"]["lag"]) == list(range(0, 5))
    # Only CCF and Granger rows are tests with p-values; the rest are estimates.
    with_p = rows[rows["p_value"].notna()]
    assert set(with_p["test"]) == {"ccf", "granger"}
    assert with_p["p_adj"].notna().all()


def test_bh_spans_every_pair_of_an_analyze_all_run(demo_db: Settings) -> None:
    with open_db(demo_db.db, read_only=True) as con:
        run_id = con.execute("SELECT max(run_id) FROM analysis_results").fetchone()[0]  # type: ignore[index]
    rows = _rows(demo_db, run_id)
    pairs = rows[["x", "y"]].drop_duplicates()
    assert len(pairs) >= 2
    tested = rows[rows["p_value"].notna()]
    _, expected, _, _ = multipletests(tested["p_value"].to_numpy(), method="fdr_bh")
    np.testing.assert_allclose(tested["p_adj"].to_numpy(), expected, rtol=1e-9)
    bh = {json.loads(p)["bh_tests"] for p in tested["params"]}
    assert bh == {len(tested)}

    x, y = pairs.iloc[0]
    alone = pair_analysis(demo_db, x, y, freq="W", max_lag=8)
    stored = tested[(tested["x"] == x) & (tested["y"] == y) & (tested["test"] == "ccf")]
    stored = stored.set_index("lag")
    # Lags with too few pairs have no p-value and no stored test row.
    lone_p = {c.lag: c.p for c in alone.lead_lag.ccf if not math.isnan(c.p)}
    lone_adj = {c.lag: c.p_adj for c in alone.lead_lag.ccf if not math.isnan(c.p)}
    assert set(lone_p) == set(stored.index)
    assert all(stored.loc[lag, "p_value"] == pytest.approx(p) for lag, p in lone_p.items())
    # Same raw p-values; adjusted over this pair only, they differ from the run's.
    assert any(stored.loc[lag, "p_adj"] != pytest.approx(p) for lag, p in lone_adj.items())
    assert alone.lead_lag.bh_tests < len(tested)


def test_cli_json_has_every_statistic_and_the_transforms(
    planted: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--db", planted.db, "analyze", "series:att", "series:px", "--max-lag", "4", "--json"]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert {"x", "y", "freq", "n_obs", "ccf", "granger", "best_lag", "warnings"} <= set(data)
    assert {"rolling", "change_points", "event_study", "irf"} <= set(data)
    assert {"n_windows", "r_min", "r_median", "r_max", "share_significant"} <= set(data["rolling"])
    assert data["rolling"]["granger"]["direction"] == "x->y"
    assert data["change_points"]["dates"]
    assert {"offset", "car", "ci"} == set(data["event_study"]["car"][0])
    assert len(data["irf"]["x_to_y"]["irf"]) == 5
    for side, made in (("x", "log(1 + sum of counts)"), ("y", "log return")):
        t = data["transforms"][side]
        assert t["input"].startswith(made)
        assert {"adf_p", "kpss_p"} <= set(t["stationarity"])
        assert {"adf_p", "kpss_p"} <= set(t["stationarity_input"])
        assert t["differences"] in (0, 1, 2)

    assert main(["--db", planted.db, "analyze", "series:att", "series:px", "--max-lag", "4"]) == 0
    text = capsys.readouterr().out
    assert "rolling r" in text and "change points in x" in text and "impulse response" in text


def test_daily_prices_keep_trading_days_only(settings: Settings, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    days = pd.date_range("2020-01-01", periods=400, freq="D")
    trading = days[days.dayofweek < 5]
    price = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, len(trading))))
    import_series(settings, _write(tmp_path / "p.csv", trading, price), name="p")
    counts = rng.poisson(30, len(days)).astype(float)
    import_series(settings, _write(tmp_path / "a.csv", days, counts), name="a", kind="attention")
    returns = load_variable(settings, "series:p", "D")
    assert len(returns) == len(trading) - 1
    assert (pd.DatetimeIndex(returns.index).dayofweek < 5).all()
    result = pair_analysis(settings, "series:a", "series:p", freq="D", max_lag=5)
    # Weekend attention has no price return to pair with: the pair keeps trading days.
    assert result.lead_lag.n_obs == len(returns)
    assert "no filling" in result.lead_lag.transforms["y"]["input"]


def test_rolling_granger_matches_statsmodels_in_each_window() -> None:
    rng = np.random.default_rng(11)
    n, window, lag = 90, 40, 2
    x = rng.normal(size=n)
    y = 0.5 * np.roll(x, 1) + rng.normal(size=n)
    index = pd.date_range("2020-01-06", periods=n, freq="7D")
    result = rolling_granger(pd.Series(x, index), pd.Series(y, index), window=window, lag=lag)
    assert len(result.p_values) == n - window + 1
    for end in (window, 60, n):
        data = np.column_stack([y[end - window : end], x[end - window : end]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels' deprecation chatter
            tests = grangercausalitytests(data, maxlag=[lag])
        expected = tests[lag][0]["ssr_ftest"][1]
        assert result.p_values.iloc[end - window] == pytest.approx(expected, rel=1e-8)
