"""The pre-specified primary test, out-of-sample evaluation and regimes (issue 17, s. 4)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from newsintel.analysis import analyze_pair, lead_lag
from newsintel.analysis.forecast import out_of_sample
from newsintel.analysis.regimes import regimes
from newsintel.cli import main
from newsintel.config import Settings
from newsintel.errors import AnalysisError
from newsintel.jobs import import_series

INDEX = pd.date_range("2017-01-06", periods=300, freq="W-FRI")


def _planted(seed: int, strength: float = 0.5, lead: int = 3) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=300)
    y = rng.normal(size=300)
    y[lead:] += strength * x[:-lead]
    return pd.Series(x, INDEX), pd.Series(y, INDEX)


def test_out_of_sample_finds_a_planted_lead_and_not_noise() -> None:
    x, y = _planted(1)
    found = out_of_sample(x.to_numpy(), y.to_numpy(), lag=3)
    assert found.mse_ratio < 0.9 and found.clark_west_p < 0.01 and found.helps(0.05)
    assert found.n_forecasts == 300 - 3 - found.first_origin + 3
    rng = np.random.default_rng(2)
    none = out_of_sample(rng.normal(size=300), rng.normal(size=300), lag=3)
    assert none.mse_ratio > 0.98 and none.clark_west_p > 0.05
    with pytest.raises(AnalysisError, match="out-of-sample forecasts"):
        out_of_sample(np.arange(40.0), np.arange(40.0) ** 0.5, lag=3)


def test_primary_test_uses_the_criterion_lag_and_leads_the_findings() -> None:
    x, y = _planted(3)
    result = lead_lag(x, y, max_lag=8, x_name="x", y_name="y", freq="W")
    primary = result.primary
    assert primary is not None
    assert primary["x->y"]["lag"] == result.lag_order_aic == 3
    assert primary["x->y"]["criterion"] == "aic"
    assert primary["x->y"]["p_robust"] < 1e-6
    assert primary["y->x"]["p_robust"] > 0.01
    assert result.findings[0].startswith("primary test x->y (lag 3, chosen by AIC")
    assert "helps forecast y out-of-sample" in result.findings[2]
    bic = lead_lag(x, y, max_lag=8, x_name="x", y_name="y", freq="W", criterion="bic")
    assert bic.primary is not None and bic.primary["x->y"]["lag"] == bic.lag_order_bic
    with pytest.raises(AnalysisError, match="aic or bic"):
        lead_lag(x, y, max_lag=8, x_name="x", y_name="y", freq="W", criterion="hqic")


def test_regimes_detect_a_relation_that_starts_halfway() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=300), rng.normal(size=300)
    y[153:] += 0.8 * x[150:-3]
    split = INDEX[150].date()
    out = regimes(pd.Series(x, INDEX), pd.Series(y, INDEX), lag=3, breaks=[split], source="t")
    before, after = out["segments"]
    assert before["p_robust"] > 0.01 and after["p_robust"] < 1e-6
    assert after["r_at_lag"] > 0.4
    assert out["change_test"]["p"] < 1e-4
    with pytest.raises(AnalysisError, match="no break leaves two regimes"):
        regimes(
            pd.Series(x, INDEX), pd.Series(y, INDEX), lag=3, breaks=[INDEX[5].date()], source="t"
        )


def test_json_contract_keys() -> None:
    x, y = _planted(5)
    result = analyze_pair(
        x, y, max_lag=6, x_name="x", y_name="y", freq="W", split=INDEX[150].date()
    )
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert set(data["primary"]["x->y"]) >= {"lag", "criterion", "p", "p_robust"}
    assert {"p_robust"} <= set(data["granger"][0]) and {"p_robust"} <= set(data["ccf"][0])
    assert set(data["oos"]) >= {"horizon", "mse_ratio", "clark_west_p", "n_forecasts"}
    assert "min_detectable_r" in data["power"]
    assert {"fragile", "period"} <= set(data["fragile"])
    assert set(data["periods"]) == {
        "used",
        "dropped_partial",
        "partial",
        "lost_to_gaps",
        "lost_to_join",
    }
    assert data["periods"]["partial"] == "dropped"
    assert data["regimes"]["source"] == "--split"
    assert "bh_family" in data["exploratory"]


def _write(path: Path, dates: pd.DatetimeIndex, values: np.ndarray) -> Path:
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "value": values}).to_csv(path, index=False)
    return path


def test_cli_split_and_bad_split(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = _planted(6, strength=0.02)
    counts = np.round(np.exp(3 + 0.3 * x.to_numpy()))
    price = 100 * np.exp(np.cumsum(0.02 * y.to_numpy()))
    import_series(settings, _write(tmp_path / "a.csv", INDEX, counts), name="a", kind="attention")
    import_series(settings, _write(tmp_path / "p.csv", INDEX, price), name="p")
    args = ["--db", settings.db, "analyze", "series:a", "series:p", "--max-lag", "4"]
    assert main([*args, "--split", "2020-01-03"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("finding: primary test series:a->series:p")
    # Weekly labels start on Monday: the first week at or after the split.
    assert "regimes (--split; breaks 2020-01-06): change p=" in out
    assert "exploratory scan" in out
    # What happened to partial periods, and which adjustment chose the best lag.
    assert "partial first/last dropped (not scaled by coverage);" in out
    assert "best lag (robust p_adj): " in out and "; classic p_adj: " in out
    assert main([*args, "--split", "soon"]) == 1
    assert "--split must be a date YYYY-MM-DD, got 'soon'" in capsys.readouterr().err
    assert date(2020, 1, 3).weekday() == 4


def test_partial_first_and_last_periods_are_dropped() -> None:
    from newsintel.series.align import drop_partial, price_returns, resample

    # News from Thursday 2024-01-04 to Wednesday 2024-03-13: both ends are partial weeks.
    days = pd.date_range("2024-01-04", "2024-03-13", freq="D")
    weekly = resample(pd.Series(1.0, days), "W", "sum")
    kept, dropped = drop_partial(weekly, days, "W", business_days=False)
    assert dropped == 2 and kept.index[0] == pd.Timestamp("2024-01-08")
    assert kept.index[-1] == pd.Timestamp("2024-03-04")
    # Prices: a first week that starts mid-week still closes on Friday; the last,
    # unfinished week (no Friday close yet) goes.
    trading = days[days.dayofweek < 5]
    returns = price_returns(pd.Series(np.linspace(100, 120, len(trading)), trading), "W")
    kept, dropped = drop_partial(returns, trading, "W", business_days=True, check_first=False)
    assert dropped == 1 and kept.index[-1] == pd.Timestamp("2024-03-04")
    # Weekly observations cannot be judged by their days: kept as they are.
    fridays = pd.date_range("2024-01-05", periods=20, freq="W-FRI")
    assert (
        drop_partial(
            resample(pd.Series(1.0, fridays), "W", "last"), fridays, "W", business_days=True
        )[1]
        == 0
    )


def test_regimes_align_series_of_different_lengths() -> None:
    x, y = _planted(7)
    out = regimes(x.iloc[1:], y, lag=2, breaks=[INDEX[150].date()], source="t")
    assert sum(s["n"] for s in out["segments"]) == 299 - 2


def test_best_lag_follows_the_robust_adjustment_and_keeps_the_classic_beside(
    tmp_path: Path,
) -> None:
    from newsintel.jobs.digest_content import findings
    from newsintel.store import open_db
    from newsintel.store.analysis import save_results
    from newsintel.store.schema import migrate

    x, y = _planted(3)
    result = lead_lag(x, y, max_lag=4, x_name="x", y_name="y", freq="W")
    assert result.best_lag == result.best_lag_classic == 3
    # The two adjustments disagree: classic says lag -2, robust says lag +3.
    tests = len(result.ccf) + len(result.granger)
    classic = [1.0] * tests
    robust = [1.0] * tests
    classic[[c.lag for c in result.ccf].index(-2)] = 0.001
    robust[[c.lag for c in result.ccf].index(3)] = 0.002
    judged = result.with_p_adj(classic, tests).with_robust_adj(robust, tests)
    assert judged.best_lag == 3 and judged.best_lag_classic == -2
    data = judged.to_dict()
    assert (data["best_lag"], data["best_lag_classic"]) == (3, -2)
    assert {"ccf", "granger", "best_lag", "primary", "oos", "power", "fragile"} <= set(data)
    scan = [f for f in judged.findings if f.startswith("cross-correlation")]
    assert scan == [
        f"cross-correlation strongest at lag +3 (x leads y by 3 week(s)): "
        f"r={judged.ccf[[c.lag for c in judged.ccf].index(3)].r:.2f}, robust (HAC) "
        "p_adj=0.002, classic p_adj=1 (prewhitened series)"
    ]
    # The digest selects on the robust adjusted p too, and names both.
    db = str(tmp_path / "r.duckdb")
    with open_db(db) as con:
        migrate(con)
        save_results(con, judged.to_rows("run-1"))
        chosen = findings(con)
    assert [(f.test, f.lag, f.p_adj) for f in chosen] == [("ccf", 3, 0.002)]
    assert "robust p_adj=0.002, classic p_adj=1.000" in chosen[0].summary
