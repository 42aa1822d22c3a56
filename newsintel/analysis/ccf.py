"""Cross-correlation at leads and lags, with a p-value and confidence interval per lag.

Convention used everywhere in newsintel: a positive lag k means x leads y by k
periods, r(k) = corr(x_t, y_{t+k}). Each r(k) is the Pearson correlation of the
overlapping pairs only (n - |k| of them), so r(0) is exactly ``np.corrcoef(x, y)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from newsintel.analysis.robust import robust_corr_test

__all__ = ["CcfPoint", "cross_correlation", "null_band"]

_Z95 = 1.959963984540054


@dataclass(frozen=True)
class CcfPoint:
    """Correlation at one lag.

    ``p`` is the two-sided t-test of r = 0 with ``n_pairs - 2`` degrees of freedom (the
    same as ``scipy.stats.pearsonr``); ``ci_low``/``ci_high`` is the 95% Fisher-z
    interval for r; ``p_adj`` is filled in by the caller after multiple-testing
    correction (NaN until then). ``p_robust`` is the HAC t-test of the same r (valid
    under heteroskedastic, autocorrelated products; see ``robust_corr_p``) and
    ``p_robust_adj`` its adjustment over the run's robust family.
    """

    lag: int
    r: float
    ci_low: float
    ci_high: float
    p: float
    n_pairs: int
    statistic: float
    p_adj: float = math.nan
    p_robust: float = math.nan
    p_robust_adj: float = math.nan
    # Which robust variance gave p_robust ("HC3", "HAC(3)"), or why there is none
    # ("none: one period carries the fit"): a NaN p_robust is "not testable", not "no".
    robust: str = ""


def null_band(n: int) -> float:
    """Half-width of the 95% band for r under white noise, 1.96/sqrt(n)."""
    return _Z95 / math.sqrt(n)


def _pair(x: np.ndarray, y: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping (x_t, y_{t+lag}) pairs."""
    n = x.size
    if lag >= 0:
        return x[: n - lag], y[lag:]
    return x[-lag:], y[: n + lag]


def _point(lag: int, a: np.ndarray, b: np.ndarray) -> CcfPoint:
    # On a calendar, a pair with a missing period on either side is no pair.
    keep = np.isfinite(a) & np.isfinite(b)
    if not keep.all():
        a, b = a[keep], b[keep]
    m = a.size
    nan = math.nan
    if m < 4 or np.ptp(a) == 0 or np.ptp(b) == 0:
        why = "none: fewer than 4 pairs" if m < 4 else "none: a series is constant"
        return CcfPoint(lag, nan, nan, nan, nan, m, nan, robust=why)
    r = float(np.corrcoef(a, b)[0, 1])
    r_clipped = max(min(r, 1 - 1e-15), -1 + 1e-15)
    t = r_clipped * math.sqrt((m - 2) / (1 - r_clipped**2))
    p = float(2 * stats.t.sf(abs(t), m - 2))
    z = math.atanh(r_clipped)
    half = _Z95 / math.sqrt(m - 3)
    p_robust, kind = robust_corr_test(a, b)
    return CcfPoint(
        lag, r, math.tanh(z - half), math.tanh(z + half), p, m, t, p_robust=p_robust, robust=kind
    )


def cross_correlation(x: np.ndarray, y: np.ndarray, max_lag: int) -> list[CcfPoint]:
    """r(k) = corr(x_t, y_{t+k}) for k = -max_lag..max_lag on equal-length arrays.

    The arrays may hold NaN for calendar periods without a value (see
    ``newsintel.analysis.calendar``): each lag uses only its complete pairs.
    """
    xv = np.asarray(x, dtype="float64")
    yv = np.asarray(y, dtype="float64")
    if xv.shape != yv.shape:
        raise ValueError("cross_correlation needs two arrays of equal length")
    return [_point(k, *_pair(xv, yv, k)) for k in range(-max_lag, max_lag + 1)]
