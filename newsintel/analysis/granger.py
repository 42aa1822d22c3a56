"""Granger tests in both directions and VAR lag-order selection, via statsmodels.

A Granger test asks whether the past of one series improves the prediction of the
other beyond that series' own past. It says nothing about cause: both may follow a
third series, or react to news at different speeds.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from newsintel.errors import AnalysisError

__all__ = ["GrangerPoint", "granger_max_lag", "granger_tests", "select_var_order"]

Direction = Literal["x->y", "y->x"]


@dataclass(frozen=True)
class GrangerPoint:
    """SSR-based F test at one lag order: does the past of the first series help?

    ``direction`` ``x->y`` tests whether lags 1..``lag`` of x improve the prediction of y.
    ``n_obs`` is the number of rows in the test regressions (the first ``lag`` points
    only serve as lagged values). ``p_adj`` is filled in by the caller after
    multiple-testing correction.
    """

    direction: Direction
    lag: int
    statistic: float
    p: float
    df_num: int
    df_denom: int
    n_obs: int
    p_adj: float = math.nan


def granger_max_lag(n_obs: int) -> int:
    """Largest lag statsmodels accepts for ``n_obs`` points (it needs n > 3*lag + 1)."""
    return max(0, (n_obs - 2) // 3)


def _one_direction(
    target: np.ndarray, source: np.ndarray, max_lag: int, direction: Direction
) -> list[GrangerPoint]:
    from statsmodels.tsa.stattools import grangercausalitytests

    # statsmodels tests whether the second column Granger-causes the first.
    data = np.column_stack([target, source])
    n = int(data.shape[0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = grangercausalitytests(data, maxlag=max_lag)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise AnalysisError(f"Granger test {direction} failed: {exc}") from exc
    points = []
    for lag in range(1, max_lag + 1):
        f_stat, p, df_denom, df_num = results[lag][0]["ssr_ftest"]
        points.append(
            GrangerPoint(
                direction, lag, float(f_stat), float(p), int(df_num), int(df_denom), n - lag
            )
        )
    return points


def granger_tests(x: np.ndarray, y: np.ndarray, max_lag: int) -> list[GrangerPoint]:
    """x->y and y->x tests for lags 1..max_lag on stationary, equal-length arrays."""
    xv = np.asarray(x, dtype="float64")
    yv = np.asarray(y, dtype="float64")
    if max_lag < 1:
        return []
    return _one_direction(yv, xv, max_lag, "x->y") + _one_direction(xv, yv, max_lag, "y->x")


def select_var_order(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[int, int]:
    """Lag order of a bivariate VAR chosen by AIC and by BIC (statsmodels select_order)."""
    from statsmodels.tsa.api import VAR

    data = np.column_stack([np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            selected = VAR(data).select_order(maxlags=max_lag)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise AnalysisError(f"VAR lag-order selection failed: {exc}") from exc
    return int(selected.aic), int(selected.bic)
