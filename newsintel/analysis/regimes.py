"""Did the relation change? The x->y Granger regression per regime, and a Chow-type test.

A lead/lag over 2017-2023 pools a quiet market and a boom; a relation present in one
may be absent in the other. The sample is split at given dates (``--split DATE``) or
at the change points found in x, the x->y Granger regression (``lag`` lags of y and of
x, with a constant) is fitted in each regime, and a Chow-type F test asks whether x's
coefficients differ between regimes: restricted, every regime has its own constant and
own-lag coefficients but x's lags share one set; unrestricted, all differ.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from newsintel.analysis.calendar import complete
from newsintel.analysis.robust import robust_wald
from newsintel.errors import AnalysisError

__all__ = ["regimes"]


def _lags(values: np.ndarray, lag: int) -> np.ndarray:
    n = values.size
    return np.column_stack([values[lag - k : n - k] for k in range(1, lag + 1)])


def _rss(design: np.ndarray, target: np.ndarray) -> float:
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    resid = target - design @ coef
    return float(resid @ resid)


def regimes(
    x: pd.Series, y: pd.Series, *, lag: int, breaks: Sequence[date], source: str
) -> dict[str, Any]:
    """Per-regime x->y Granger tests and the test of change, on stationary ``x`` and
    ``y``. Breaks leaving a regime too short to fit are dropped (reported).

    Pass the pair on its full calendar (``calendar.on_calendar``, differenced there: NaN
    marks a period without a value or a difference whose either end is missing). Lags
    are then calendar lags and a regression row is used only when its value and every
    lag of it are known; ``periods.lost_to_gaps`` counts the rows a gap removed, as in
    lead/lag and the impulse response. Series on different dates are joined first.
    """
    if lag < 1:
        raise AnalysisError("the regime comparison needs a lag of at least 1")
    # Differencing may have left the two series of different lengths: common dates only
    # (NaN values stay: they mark calendar periods without a value).
    both = pd.concat([x.rename("x"), y.rename("y")], axis=1, join="inner")
    index = pd.DatetimeIndex(both.index)
    xv, yv = both["x"].to_numpy(dtype="float64"), both["y"].to_numpy(dtype="float64")
    k = 2 * lag + 1
    min_rows = max(3 * k, 20)
    if yv.size <= lag:
        raise AnalysisError(f"only {yv.size} periods: too few for lag {lag}")
    goal = yv[lag:]
    own, other = _lags(yv, lag), _lags(xv, lag)
    ones = np.ones((goal.size, 1))
    row_dates = index[lag:]
    usable = complete(goal, own, other)
    cuts: list[int] = []
    dropped: list[str] = []
    for when in sorted(breaks):
        cut = int(row_dates.searchsorted(pd.Timestamp(when)))
        previous = cuts[-1] if cuts else 0
        if usable[previous:cut].sum() < min_rows or usable[cut:].sum() < min_rows:
            dropped.append(pd.Timestamp(when).date().isoformat())
        else:
            cuts.append(cut)
    if not cuts:
        raise AnalysisError(
            f"no break leaves two regimes of at least {min_rows} complete periods "
            f"(breaks tried: {', '.join(dropped) or 'none'})"
        )
    bounds = [0, *cuts, goal.size]
    segments = []
    rss_u = 0.0
    restricted_cols = []
    for a, b in itertools.pairwise(bounds):
        rows = a + np.flatnonzero(usable[a:b])
        design = np.hstack([ones[rows], own[rows], other[rows]])
        target = goal[rows]
        rss_u += _rss(design, target)
        classic_r = _rss(np.hstack([ones[rows], own[rows]]), target)
        classic_u = _rss(design, target)
        df = rows.size - k
        f = ((classic_r - classic_u) / lag) / (classic_u / df) if classic_u > 0 else math.nan
        robust = robust_wald(target, design, slice(1 + lag, k))
        xs = other[rows, lag - 1]
        r = float(np.corrcoef(xs, target)[0, 1]) if xs.std() > 0 and target.std() > 0 else math.nan
        segments.append(
            {
                "start": row_dates[rows[0]].date().isoformat(),
                "end": row_dates[rows[-1]].date().isoformat(),
                "n": int(rows.size),
                "p": float(stats.f.sf(f, lag, df)) if math.isfinite(f) else None,
                "p_robust": robust.p if math.isfinite(robust.p) else None,
                "r_at_lag": r if math.isfinite(r) else None,
            }
        )
        # Restricted design: this regime's own constant and own lags (zeros elsewhere).
        block = np.zeros((goal.size, 1 + lag))
        block[a:b] = np.hstack([ones[a:b], own[a:b]])
        restricted_cols.append(block)
    restricted = np.hstack([*restricted_cols, other])[usable]
    rss_r = _rss(restricted, goal[usable])
    m = len(segments)
    n_used = int(usable.sum())
    df_num = lag * (m - 1)
    df_den = n_used - m * k
    chow_f = ((rss_r - rss_u) / df_num) / (rss_u / df_den) if rss_u > 0 and df_den > 0 else math.nan
    lost = goal.size - n_used
    notes = []
    if lost:
        notes.append(
            f"{lost} period(s) left out of the regime regressions: they or one of their "
            f"{lag} lag(s) fall in a period without a value (lags are calendar lags)"
        )
    return {
        "source": source,
        "breaks": [row_dates[c].date().isoformat() for c in cuts],
        "breaks_dropped": dropped,
        "lag": lag,
        "segments": segments,
        "change_test": {
            "test": "Chow-type F: x's lag coefficients equal in every regime",
            "statistic": chow_f if math.isfinite(chow_f) else None,
            "p": float(stats.f.sf(chow_f, df_num, df_den)) if math.isfinite(chow_f) else None,
            "df": [df_num, df_den],
        },
        "periods": {"used": n_used, "lost_to_gaps": lost},
        "warnings": notes,
    }
