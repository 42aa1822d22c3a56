"""Granger tests in both directions and VAR lag-order selection, as statsmodels does them.

A Granger test asks whether the past of one series improves the prediction of the
other beyond that series' own past. It says nothing about cause: both may follow a
third series, or react to news at different speeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from newsintel.analysis.calendar import complete
from newsintel.analysis.robust import RobustWald, robust_wald
from newsintel.errors import AnalysisError

__all__ = [
    "GrangerPoint",
    "complete_rows_at_lag",
    "feasible_lag",
    "granger_max_lag",
    "granger_tests",
    "select_var_order",
    "var_criteria",
]

Direction = Literal["x->y", "y->x"]


@dataclass(frozen=True)
class GrangerPoint:
    """SSR-based F test at one lag order: does the past of the first series help?

    ``direction`` ``x->y`` tests whether lags 1..``lag`` of x improve the prediction of y.
    ``n_obs`` is the number of rows in the test regressions (the first ``lag`` points
    only serve as lagged values). ``p_adj`` is filled in by the caller after
    multiple-testing correction. ``p_robust`` is the Wald test of the same restriction
    with HC3 covariance, or HAC where the residuals are autocorrelated (``robust``
    names which); ``p_robust_adj`` its adjustment over the run's robust family.
    """

    direction: Direction
    lag: int
    statistic: float
    p: float
    df_num: int
    df_denom: int
    n_obs: int
    p_adj: float = math.nan
    p_robust: float = math.nan
    robust: str = ""
    p_robust_adj: float = math.nan


def granger_max_lag(n_obs: int) -> int:
    """Largest lag statsmodels accepts for ``n_obs`` points (it needs n > 3*lag + 1)."""
    return max(0, (n_obs - 2) // 3)


def complete_rows_at_lag(x: np.ndarray, y: np.ndarray, lag: int) -> int:
    """Rows t = lag..n-1 where both series and all their ``lag`` past values are known.

    On a calendar with gaps (NaN periods) this, not the count of known points, is how
    many rows a lag-``lag`` regression can use: each gap removes up to ``lag + 1`` rows.
    """
    xv = np.asarray(x, dtype="float64")
    yv = np.asarray(y, dtype="float64")
    if lag < 1 or xv.size <= lag:
        return 0 if lag >= 1 else int(complete(xv, yv).sum())
    columns = [xv[lag:], yv[lag:], _lag_columns(xv, lag), _lag_columns(yv, lag)]
    return int(complete(*columns).sum())


def feasible_lag(x: np.ndarray, y: np.ndarray, max_lag: int) -> int:
    """Largest lag <= ``max_lag`` that the Granger tests and the VAR order selection can
    fit on the complete rows of a gapped calendar (0 when not even lag 1 fits).

    Both need more than ``2 * lag + 1`` complete rows (on a gap-free calendar that is
    statsmodels' ``n > 3 * lag + 1`` points, see ``granger_max_lag``), so a series whose
    periods are often missing is tested up to a shorter lag instead of not at all.
    """
    for lag in range(max_lag, 0, -1):
        if complete_rows_at_lag(x, y, lag) > 2 * lag + 1:
            return lag
    return 0


def _lag_columns(values: np.ndarray, lag: int) -> np.ndarray:
    """Columns values[t-1], ..., values[t-lag] for t = lag..n-1."""
    n = values.size
    return np.column_stack([values[lag - k : n - k] for k in range(1, lag + 1)])


def _rss(design: np.ndarray, target: np.ndarray) -> tuple[float, int]:
    """Residual sum of squares of the least-squares fit, and the design's rank."""
    coef, _, rank, _ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ coef
    return float(resid @ resid), int(rank)


def _one_direction(
    target: np.ndarray, source: np.ndarray, max_lag: int, direction: Direction
) -> list[GrangerPoint]:
    """statsmodels ``grangercausalitytests(column_stack([target, source]))``'s ssr F test.

    grangercausalitytests fits every lag and computes four tests per lag through OLS
    result objects (an SVD-based pseudo-inverse each); only the SSR F test is used here,
    so it is computed directly on the same regressions: rows ``lag..n-1``, restricted =
    ``lag`` own lags + constant, unrestricted = plus ``lag`` lags of the source,
    F = ((RSS_r - RSS_u) / lag) / (RSS_u / df_resid) with df_resid = rows - rank (the
    rank is 2*lag + 1 unless the design is degenerate, as statsmodels counts it).
    """
    from scipy import stats

    if np.isinf(target).any() or np.isinf(source).any():
        raise AnalysisError(f"Granger test {direction} failed: x contains inf values.")
    if int(complete(target, source).sum()) <= 3 * max_lag + 1:
        raise AnalysisError(
            f"Granger test {direction} failed: insufficient observations for lag {max_lag}"
        )
    stats_f: list[float] = []
    df_denoms: list[int] = []
    used: list[int] = []
    robust: list[RobustWald] = []
    for lag in range(1, max_lag + 1):
        goal = target[lag:]
        own = _lag_columns(target, lag)
        other = _lag_columns(source, lag)
        # Calendar NaN (a missing period): drop the rows that need it, only those.
        rows = complete(goal, own, other)
        if not rows.all():
            goal, own, other = goal[rows], own[rows], other[rows]
        if goal.size <= 2 * lag + 1:
            raise AnalysisError(
                f"Granger test {direction} failed: insufficient observations for lag {lag}"
            )
        ones = np.ones((goal.size, 1))
        # Same column order as statsmodels (own lags, source lags, constant last).
        joint = np.hstack([own, other, ones])
        if (np.ptp(joint, axis=0) == 0).sum() != 1:
            raise AnalysisError(
                f"Granger test {direction} failed: a lagged column is constant, so the "
                "test statistic cannot be computed"
            )
        rss_r, _ = _rss(np.hstack([own, ones]), goal)
        rss_u, rank = _rss(joint, goal)
        centred = goal - goal.mean()
        tss = float(centred @ centred)
        if tss == 0 or rss_u == 0 or rss_u / tss < np.finfo(float).eps:
            raise AnalysisError(
                f"Granger test {direction} failed: the VAR has a perfect fit of the data"
            )
        df_resid = goal.size - rank
        robust.append(robust_wald(goal, joint, slice(lag, 2 * lag)))
        stats_f.append((rss_r - rss_u) / rss_u / lag * df_resid)
        df_denoms.append(df_resid)
        used.append(int(goal.size))
    lags = np.arange(1, max_lag + 1)
    # One vectorised call: the same ufunc (fdtrc) element by element as per-lag calls.
    p_values = stats.f.sf(np.asarray(stats_f), lags, np.asarray(df_denoms, dtype="float64"))
    return [
        GrangerPoint(direction, lag, float(f), float(p), lag, df, rows, p_robust=w.p, robust=w.kind)
        for lag, f, p, df, w, rows in zip(
            lags.tolist(), stats_f, p_values, df_denoms, robust, used, strict=True
        )
    ]


def granger_tests(x: np.ndarray, y: np.ndarray, max_lag: int) -> list[GrangerPoint]:
    """x->y and y->x tests for lags 1..max_lag on stationary, equal-length arrays."""
    xv = np.asarray(x, dtype="float64")
    yv = np.asarray(y, dtype="float64")
    if max_lag < 1:
        return []
    return _one_direction(yv, xv, max_lag, "x->y") + _one_direction(xv, yv, max_lag, "y->x")


def select_var_order(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[int, int]:
    """Lag order of a bivariate VAR chosen by AIC and by BIC.

    The computation of statsmodels ``VAR(data).select_order(maxlags=max_lag)`` (trend
    "c"), step for step: VAR(p) for p = 0..max_lag, each fitted by ``lstsq`` on the
    same last ``n - max_lag`` rows, AIC/BIC from the log-determinant of the ML residual
    covariance with ``4p + 2`` free parameters. statsmodels builds each design matrix
    row by row in Python and wraps every fit in a results object; that was most of the
    time of a lead/lag call.
    """
    aic, bic = var_criteria(x, y, max_lag)
    return int(np.array(aic).argmin()), int(np.array(bic).argmin())


def var_criteria(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[list[float], list[float]]:
    """AIC and BIC of VAR(0)..VAR(max_lag) (statsmodels ``select_order``'s ``ics``)."""
    from statsmodels.tools.linalg import logdet_symm

    data = np.column_stack([np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")])
    n_total, neqs = data.shape
    if max_lag > (n_total - neqs - 1) // (1 + neqs):
        raise AnalysisError(
            "VAR lag-order selection failed: maxlags is too large for the number of "
            "observations and the number of equations. The largest model cannot be estimated."
        )
    if max_lag < 0 or np.isinf(data).any():
        raise AnalysisError("VAR lag-order selection failed: needs finite data and max_lag >= 0")
    y_sample = data[max_lag:]
    aic: list[float] = []
    bic: list[float] = []
    # Column block k: both series at t-k, on the rows t = max_lag..n-1.
    blocks = [data[max_lag - k : n_total - k] for k in range(1, max_lag + 1)]
    # Calendar NaN: every order is fitted on the rows complete at the largest one.
    rows = complete(y_sample, *blocks)
    if not rows.all():
        y_sample = y_sample[rows]
        blocks = [b[rows] for b in blocks]
    nobs = int(y_sample.shape[0])
    if nobs <= neqs * max_lag + 1:
        raise AnalysisError(
            "VAR lag-order selection failed: too few complete periods for the largest model"
        )
    # statsmodels refuses a design that already has a (non-zero) constant column.
    if any(((np.ptp(b, axis=0) == 0) & (b[0] != 0)).any() for b in blocks):
        raise AnalysisError("VAR lag-order selection failed: a lagged series is constant")
    try:
        for p in range(max_lag + 1):
            # Columns: constant, then y_{t-1} (both series), ..., y_{t-p}, as statsmodels.
            z = np.column_stack([np.ones(nobs), *blocks[:p]])
            params = np.linalg.lstsq(z, y_sample, rcond=1e-15)[0]
            resid = y_sample - np.dot(z, params)
            df_resid = nobs - (neqs * p + 1)
            free_params = p * neqs**2 + neqs
            if df_resid:
                sse = np.dot(resid.T, resid)
                # statsmodels' sigma_u_mle: the unbiased estimate rescaled to /nobs.
                ld = logdet_symm(sse / df_resid * df_resid / nobs)
            else:
                ld = -np.inf
            aic.append(ld + (2.0 / nobs) * free_params)
            bic.append(ld + (np.log(nobs) / nobs) * free_params)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise AnalysisError(f"VAR lag-order selection failed: {exc}") from exc
    return aic, bic
