"""Calendar lags (issue 17, s. 3): no lag spans a gap, and the lost periods are counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from newsintel.analysis import analyze_pair, lead_lag
from newsintel.analysis.calendar import on_calendar
from newsintel.analysis.screen import NotAnalysable
from newsintel.errors import AnalysisError

WEEKS = pd.date_range("2017-01-06", periods=300, freq="W-FRI")
GAP = slice(150, 157)  # seven weeks without a value in either series


def _gapped(seed: int) -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray]:
    """White noise with y_t = 0.6 x_{t-1} on the calendar, a 7-week gap, and one
    extreme pair that only the old observed-period lag joins: x just before the gap
    and y just after it."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=300)
    y = rng.normal(size=300)
    y[1:] += 0.6 * x[:-1]
    x[149], y[157] = 12.0, -12.0
    keep = np.ones(300, dtype=bool)
    keep[GAP] = False
    return pd.Series(x[keep], WEEKS[keep]), pd.Series(y[keep], WEEKS[keep]), x, y


def test_lag_one_never_pairs_across_the_gap() -> None:
    x, y, full_x, full_y = _gapped(3)
    result = lead_lag(x, y, max_lag=2, x_name="x", y_name="y", freq="W", prewhiten=False)
    assert result.transforms["x"]["differences"] == 0
    assert result.transforms["y"]["differences"] == 0
    lag1 = next(c for c in result.ccf if c.lag == 1)
    # Calendar lag 1: pairs (x_t, y_t+1) with both weeks observed, i.e. not t = 149
    # (y_150 is in the gap) and not t = 156 (x_156 is).
    t = np.array([i for i in range(299) if not (149 <= i <= 156)])
    expected = np.corrcoef(full_x[t], full_y[t + 1])[0, 1]
    # Observed-period lag 1 (the old behaviour) adds the pair (x_149, y_157).
    xo, yo = x.to_numpy(), y.to_numpy()
    old = np.corrcoef(xo[:-1], yo[1:])[0, 1]
    assert lag1.n_pairs == t.size == 291
    assert abs(lag1.r - expected) < 1e-12
    assert expected > 0.4 and old < 0.2  # the one cross-gap pair hides the relation
    # Granger regressions drop only the rows whose own or lagged values are missing.
    g1 = next(g for g in result.granger if g.direction == "x->y" and g.lag == 1)
    assert g1.n_obs == 291 and g1.p_robust < 1e-10
    g2 = next(g for g in result.granger if g.direction == "x->y" and g.lag == 2)
    assert g2.n_obs == 298 - 9  # rows t=2..299 but t in 150..158 (t, t-1 or t-2 missing)
    assert result.n_stationary == 293 and result.n_used == 293


def test_periods_count_the_gap_and_the_differences_lost_to_it() -> None:
    x, y, _, _ = _gapped(5)
    white = analyze_pair(x, y, max_lag=3, x_name="x", y_name="y", freq="W")
    assert white.lead_lag.periods == {
        "used": 293,
        "dropped_partial": 0,
        "partial": "dropped",
        "lost_to_gaps": 7,
        "lost_to_join": 0,
    }
    # Rolling Granger windows are calendar windows that drop the rows next to the gap.
    rolling = white.rolling_granger
    assert rolling is not None and rolling.lag == 1
    assert rolling.n_obs == 291 + 1  # complete rows at lag 1, plus the lag's seed
    assert len(rolling.p_values) == 300 - rolling.window + 1
    # Levels that need one difference: the week after the gap has no one-week change.
    rng = np.random.default_rng(6)
    level_x = pd.Series(np.cumsum(rng.normal(size=293)), x.index)
    level_y = pd.Series(np.cumsum(rng.normal(size=293)), x.index)
    level_y = pd.concat([level_y, pd.Series([0.0], [WEEKS[0] - pd.Timedelta(days=7)])])
    walked = analyze_pair(
        level_x, level_y.sort_index(), max_lag=3, x_name="a", y_name="b", freq="W"
    )
    ll = walked.lead_lag
    assert ll.transforms["x"]["differences"] == 1 and ll.transforms["y"]["differences"] == 1
    assert ll.n_stationary == 291
    assert ll.periods == {
        "used": 293,
        "dropped_partial": 0,
        "partial": "dropped",
        "lost_to_gaps": 8,
        "lost_to_join": 1,
    }
    assert any("calendar lags" in note for note in walked.warnings)


def test_monthly_and_daily_calendars() -> None:
    months = pd.to_datetime(["2020-01-31", "2020-02-29", "2020-05-31", "2020-06-30"])
    a, b = on_calendar(pd.Series([1.0, 2, 3, 4], months), pd.Series([5.0, 6, 7, 8], months), "M")
    assert list(a.index.strftime("%Y-%m")) == [f"2020-0{m}" for m in range(1, 7)]
    assert a.isna().tolist() == [False, False, True, True, False, False]
    assert b.iloc[-1] == 8.0
    days = pd.to_datetime(["2024-01-05", "2024-01-08", "2024-01-10"])  # Fri, Mon, Wed
    c, _ = on_calendar(pd.Series([1.0, 2, 3], days), pd.Series([1.0, 2, 3], days), "D")
    assert len(c) == 4 and c.isna().sum() == 1  # the weekend is no gap, Tuesday is
    # Dates off one calendar (mixed weekdays) are left as they are.
    mixed = pd.to_datetime(["2024-01-05", "2024-01-13", "2024-01-19"])
    d, _ = on_calendar(pd.Series([1.0, 2, 3], mixed), pd.Series([1.0, 2, 3], mixed), "W")
    assert len(d) == 3


def _every_fourth_week_missing(seed: int, effect: float) -> tuple[pd.Series, pd.Series]:
    """y_t = ``effect`` * x_{t-2} + noise on the calendar, with weeks 1, 5, 9, ...
    missing in both series. Of the calendar-lag-2 pairs with both weeks observed, half
    are one observed period apart (the week between is missing), so a lag counted in
    observed periods would split the effect between lags 1 and 2."""
    rng = np.random.default_rng(seed)
    n = 320
    x = rng.normal(size=n)
    y = rng.normal(scale=0.5, size=n)
    y[2:] += effect * x[:-2]
    weeks = pd.date_range("2017-01-06", periods=n, freq="W-FRI")
    keep = np.arange(n) % 4 != 1
    return pd.Series(x[keep], weeks[keep]), pd.Series(y[keep], weeks[keep])


def test_impulse_response_lags_are_calendar_lags() -> None:
    from statsmodels.tsa.api import VAR

    from newsintel.analysis.irf import var_impulse_response

    x, y = _every_fourth_week_missing(21, 0.8)
    result = var_impulse_response(x, y, x_name="x", y_name="y", freq="W", periods=4)
    assert result.differences == {"x": 0, "y": 0}
    # Rows needing lag 3 always hit a missing week here, so the order search stops at 2.
    assert result.order == 2
    # The planted effect at calendar lag 2, and nothing significant at lag 1.
    assert result.x_to_y[2] == pytest.approx(0.8, abs=0.2)
    assert result.x_to_y_low[2] > 0.4
    assert result.x_to_y_low[1] < 0 < result.x_to_y_high[1]
    # A VAR(2) row needs weeks t, t-1 and t-2: only t = 0 mod 4 has all three.
    assert result.n_obs == 79
    assert result.lost_to_gaps == 318 - 79
    assert result.to_dict()["periods"] == {"used": 79, "lost_to_gaps": 239}
    assert any("left out of the VAR" in w for w in result.warnings)
    # On the observed periods (what the VAR did before calendar lags) the effect
    # leaks into lag 1: the test above would have failed.
    observed = VAR(np.column_stack([x.to_numpy(), y.to_numpy()])).fit(2).irf(4).irfs[:, 1, 0]
    assert observed[1] > 0.2
    assert observed[2] < 0.4


def test_impulse_response_without_gaps_is_statsmodels_var() -> None:
    from statsmodels.tsa.api import VAR

    from newsintel.analysis.irf import var_impulse_response

    rng = np.random.default_rng(22)
    x = rng.normal(size=200)
    y = rng.normal(size=200)
    y[1:] += 0.5 * x[:-1]
    result = var_impulse_response(
        pd.Series(x, WEEKS[:200]),
        pd.Series(y, WEEKS[:200]),
        x_name="x",
        y_name="y",
        freq="W",
        periods=3,
        orth=True,
    )
    model = VAR(np.column_stack([x, y]))
    order = max(1, int(model.select_order(maxlags=8).aic))
    irf = model.fit(order).irf(3)
    se = irf.stderr(orth=True)
    assert result.order == order
    assert result.lost_to_gaps == 0
    np.testing.assert_allclose(result.x_to_y, irf.orth_irfs[:, 1, 0], atol=1e-12)
    np.testing.assert_allclose(
        result.y_to_x_high, irf.orth_irfs[:, 0, 1] + 1.959963984540054 * se[:, 0, 1], atol=1e-12
    )


def test_event_study_offsets_are_calendar_periods() -> None:
    from newsintel.analysis.events import EventStudy, event_study

    rng = np.random.default_rng(23)
    n = 400
    x = rng.normal(size=n)
    y = rng.normal(scale=0.5, size=n)
    spikes = np.arange(20, n - 20, 37)
    x[spikes] = 6.0
    y[spikes + 2] += 2.0  # y moves two calendar weeks after each spike
    keep = np.ones(n, dtype=bool)
    keep[spikes[::2] + 1] = False  # in every other event, the week between is missing
    weeks = pd.date_range("2017-01-06", periods=n, freq="W-FRI")
    xs, ys = pd.Series(x[keep], weeks[keep]), pd.Series(y[keep], weeks[keep])

    def study(freq: str | None) -> EventStudy:
        return event_study(xs, ys, x_name="x", y_name="y", pre=2, post=5, seed=1, freq=freq)

    result = study("W")
    assert len(result.events) == spikes.size
    car = dict(zip(result.offsets, result.car, strict=True))
    low = dict(zip(result.offsets, result.ci_low, strict=True))
    high = dict(zip(result.offsets, result.ci_high, strict=True))
    assert low[1] < 0 < high[1]
    assert car[2] - car[1] == pytest.approx(2.0, abs=0.5)
    assert low[2] > 1.0
    # Every other event misses offset +1, and all other cells are known.
    assert result.lost_to_gaps == (spikes.size + 1) // 2
    assert result.to_dict()["lost_to_gaps"] == result.lost_to_gaps
    # Counting observed periods instead puts half the response at offset +1.
    observed = study(None)
    assert dict(zip(observed.offsets, observed.car, strict=True))[1] > 0.6


def _calendar_changes(levels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """One-period changes on the full calendar: NaN where either end is missing."""
    full = np.where(keep, levels, np.nan)
    return np.concatenate([[np.nan], np.diff(full)])


def test_rolling_and_regimes_never_difference_across_the_holiday_gap() -> None:
    """Both levels jump by 200 inside a seven-week gap: a difference across the gap
    would be one coincident 200-unit 'change' that makes every window holding it read
    r ~ 1. On the calendar it is missing, and the periods it costs are counted."""
    from newsintel.analysis.rolling import rolling_correlation

    rng = np.random.default_rng(31)
    n = 300
    keep = np.ones(n, dtype=bool)
    keep[GAP] = False
    jump = np.where(np.arange(n) >= GAP.start, 200.0, 0.0)
    level_x = np.cumsum(rng.normal(size=n)) + jump
    level_y = np.cumsum(rng.normal(size=n)) + jump
    x, y = pd.Series(level_x[keep], WEEKS[keep]), pd.Series(level_y[keep], WEEKS[keep])
    result = analyze_pair(
        x, y, max_lag=3, x_name="x", y_name="y", freq="W", split=WEEKS[100].date()
    )
    assert not isinstance(result, NotAnalysable)
    ll = result.lead_lag
    assert ll.transforms["x"]["differences"] == ll.transforms["y"]["differences"] == 1
    rolling = result.rolling
    assert rolling is not None
    # Seven missing weeks and the change into the first week after them.
    assert rolling.lost_to_gaps == ll.periods["lost_to_gaps"] == 8
    assert rolling.n_obs == ll.n_stationary == n - 1 - 8
    assert rolling.to_dict()["periods"] == {"used": n - 9, "lost_to_gaps": 8}
    assert any("calendar period(s) have no complete pair" in w for w in rolling.warnings)
    # Every window's r is the correlation of its own one-week changes, nothing else.
    dx, dy = _calendar_changes(level_x, keep)[1:], _calendar_changes(level_y, keep)[1:]
    w = rolling.window
    expected = []
    for end in range(w, dx.size + 1):
        a, b = dx[end - w : end], dy[end - w : end]
        ok = np.isfinite(a) & np.isfinite(b)
        expected.append(np.corrcoef(a[ok], b[ok])[0, 1])
    np.testing.assert_allclose(rolling.points.to_numpy(), expected, atol=1e-9)
    assert rolling.points.abs().max() < 0.6
    # Observed periods taken as consecutive (the old input) put the jump in one change.
    observed = rolling_correlation(x.diff().dropna(), y.diff().dropna(), w)
    assert observed.points.max() > 0.99
    # Regimes: each regression row needs its change and `lag` earlier ones, all known.
    split = result.regimes
    assert split is not None and split["source"] == "--split"
    lag = split["lag"]
    assert split["periods"] == {"used": n - 1 - lag - (8 + lag), "lost_to_gaps": 8 + lag}
    assert sum(s["n"] for s in split["segments"]) == split["periods"]["used"]
    assert split["change_test"]["df"][1] == split["periods"]["used"] - 2 * (2 * lag + 1)
    assert any("left out of the regime regressions" in w for w in split["warnings"])


def test_rolling_and_regimes_with_every_third_week_missing() -> None:
    """Weeks 2, 5, 8, ... are missing and both levels jump by 50 in each: only the
    change from week 0 to week 1 of every three is a one-week change. Rolling windows
    use exactly those; the regime regression, whose rows need two consecutive changes,
    has none (a lag counted in observed periods would have made rows of jumps)."""
    from newsintel.analysis.regimes import regimes
    from newsintel.analysis.rolling import rolling_correlation

    rng = np.random.default_rng(32)
    n = 240
    keep = np.arange(n) % 3 != 2
    jumps = np.cumsum(~keep) * 50.0
    level_x = np.cumsum(rng.normal(size=n)) + jumps
    level_y = np.cumsum(rng.normal(size=n)) + jumps
    dx, dy = _calendar_changes(level_x, keep), _calendar_changes(level_y, keep)
    cx, cy = pd.Series(dx[1:], WEEKS[1:n]), pd.Series(dy[1:], WEEKS[1:n])
    assert int(np.isfinite(dx).sum()) == n // 3  # one change in three weeks
    rolling = rolling_correlation(cx, cy, 30, calendar=True)
    assert rolling.n_obs == n // 3 and rolling.lost_to_gaps == n - 1 - n // 3
    expected = []
    for end in range(30, n):
        a, b = dx[1:][end - 30 : end], dy[1:][end - 30 : end]
        ok = np.isfinite(a)
        expected.append(np.corrcoef(a[ok], b[ok])[0, 1])
    np.testing.assert_allclose(rolling.points.to_numpy(), expected, atol=1e-9)
    assert rolling.points.abs().max() < 0.7
    # The summary judges each window by its own pairs (10 of 30: a wider band).
    assert rolling.summary()["share_significant"] == pytest.approx(
        float(np.mean(np.abs(expected) > 1.959963984540054 / np.sqrt(10))), abs=0.02
    )
    with pytest.raises(AnalysisError, match="no break leaves two regimes"):
        regimes(cx, cy, lag=1, breaks=[WEEKS[120].date()], source="t")
    # Stationary values with the same gaps: a lag-1 row needs weeks t and t-1, i.e.
    # t = 1 mod 3; y_t = 0.8 x_{t-1} there, while a cross-gap pair is pure noise.
    x = np.where(keep, rng.normal(size=n), np.nan)
    y = np.where(keep, rng.normal(size=n), np.nan)
    y[1:] += 0.8 * np.nan_to_num(x[:-1])
    out = regimes(
        pd.Series(x, WEEKS[:n]),
        pd.Series(y, WEEKS[:n]),
        lag=1,
        breaks=[WEEKS[120].date()],
        source="t",
    )
    assert out["periods"] == {"used": n // 3, "lost_to_gaps": n - 1 - n // 3}
    assert [s["n"] for s in out["segments"]] == [40, 40]
    t = np.arange(1, n)[np.arange(1, n) % 3 == 1]
    for segment, rows in zip(out["segments"], (t[t < 120], t[t >= 120]), strict=True):
        assert segment["r_at_lag"] == pytest.approx(np.corrcoef(x[rows - 1], y[rows])[0, 1])
