"""Analysis benchmark: ``lead_lag`` over every theme x price pair of synthetic series.

The series look like what ``jobs.load_variable`` gives the analysis: weekly theme
shares (a persistent level between 0 and 1, some of them trending, so the
stationarity step has differencing to do) and weekly log returns of prices, a few of
which follow a theme with a lag, so that some pairs have something to find. Seeded:
every run analyses the same numbers.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from benchmarks.record import BenchResult, Figure, check

THEMES = 20
PRICES = 5
WEEKS = 520  # ten years
MAX_LAG = 12
SEED = 20240601
# Issue 17: with robust tests, out-of-sample evaluation and influence in every pair.
TARGET_S = 20.0

if TYPE_CHECKING:
    import pandas as pd


def synthetic_series(
    themes: int = THEMES, prices: int = PRICES, weeks: int = WEEKS, seed: int = SEED
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """({theme name: weekly share}, {price name: weekly log return}), seeded."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    index = pd.date_range("2015-01-04", periods=weeks, freq="W-SUN")
    theme_series: dict[str, pd.Series] = {}
    levels: list[np.ndarray] = []
    for t in range(themes):
        phi = rng.uniform(0.5, 0.98)
        noise = rng.normal(0.0, 0.25, weeks)
        latent = np.empty(weeks)
        latent[0] = noise[0]
        for i in range(1, weeks):
            latent[i] = phi * latent[i - 1] + noise[i]
        if t % 3 == 0:  # a theme that grows over the decade: non-stationary in level
            latent += np.linspace(0.0, rng.uniform(0.5, 2.0), weeks)
        share = 1.0 / (1.0 + np.exp(-(latent - 3.0)))
        levels.append(share)
        theme_series[f"theme_{t:02d}"] = pd.Series(share, index=index)
    price_series: dict[str, pd.Series] = {}
    for p in range(prices):
        returns = rng.normal(0.0, 0.03, weeks)
        leader = levels[(p * 4) % themes]
        lag = 1 + p % 4
        push = np.diff(leader, prepend=leader[0])
        returns[lag:] += 2.0 * push[:-lag] / (push.std() or 1.0) * 0.01
        price_series[f"price_{p}"] = pd.Series(returns, index=index)
    return theme_series, price_series


def run(
    themes: int = THEMES,
    prices: int = PRICES,
    *,
    weeks: int = WEEKS,
    max_lag: int = MAX_LAG,
    seed: int = SEED,
) -> BenchResult:
    """Time ``lead_lag`` over all ``themes`` x ``prices`` pairs."""
    from newsintel.analysis.leadlag import lead_lag
    from newsintel.errors import AnalysisError

    theme_series, price_series = synthetic_series(themes, prices, weeks, seed)
    first_theme, first_price = next(iter(theme_series)), next(iter(price_series))
    # One untimed call: statsmodels' first use imports and compiles a lot.
    lead_lag(
        theme_series[first_theme],
        price_series[first_price],
        max_lag=max_lag,
        x_name="warm-up",
        y_name="warm-up",
        freq="W",
    )
    per_pair: list[float] = []
    failed = significant = 0
    started = time.perf_counter()
    for theme, x in theme_series.items():
        for price, y in price_series.items():
            t0 = time.perf_counter()
            try:
                result = lead_lag(
                    x,
                    y,
                    max_lag=max_lag,
                    x_name=f"theme:{theme}",
                    y_name=f"series:{price}",
                    freq="W",
                )
            except AnalysisError:
                failed += 1
            else:
                significant += result.best_lag is not None
            per_pair.append(time.perf_counter() - t0)
    total = time.perf_counter() - started

    pairs = themes * prices
    at_size = (themes, prices, weeks, max_lag) == (THEMES, PRICES, WEEKS, MAX_LAG)
    slowest = max(per_pair) if per_pair else 0.0
    figures = (
        check(f"lead_lag over all {pairs} pairs", total, "s", f"< {TARGET_S:g} s",
              total < TARGET_S, at_target_size=at_size),
        Figure("  mean per pair", total / pairs * 1000 if pairs else 0.0, "ms"),
        Figure("  slowest pair", slowest * 1000, "ms"),
        Figure("pairs failed (AnalysisError)", failed, f"of {pairs}"),
        Figure("pairs with a significant CCF lag", significant, f"of {pairs}"),
    )  # fmt: skip
    notes = (
        f"{themes} theme-share series x {prices} price-return series, {weeks} weekly points "
        f"each, lags 1..{max_lag} (CCF -{max_lag}..{max_lag}), prewhitened, seed {seed}",
        "per pair: ADF + KPSS differencing, AR prewhitening, CCF with HC3/HAC tests, Granger F "
        "and HC3/HAC Wald tests both ways, VAR order by AIC/BIC, primary test, rolling-"
        "origin out-of-sample forecasts (Clark-West), leave-one-out influence, "
        "Benjamini-Hochberg (newsintel.analysis.leadlag)",
    )
    params: dict[str, object] = {
        "themes": themes,
        "prices": prices,
        "weeks": weeks,
        "max_lag": max_lag,
        "seed": seed,
    }
    return BenchResult("analysis", params, figures, notes)
