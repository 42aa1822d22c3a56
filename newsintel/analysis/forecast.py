"""Out-of-sample evaluation: does x's past lower the error of a real forecast of y?

An in-sample Granger test re-uses the data it was fitted on; only a forecast made
before seeing the value it predicts can support "helps forecast". At each origin t
from ``start`` on, two OLS models are fitted on data before t (expanding window):
y's own ``lag`` lags (restricted) and those plus x's ``lag`` lags (unrestricted); each
forecasts y_t (horizon 1). Reported: the ratio of mean squared errors (below 1: x's
lags helped) and the Clark-West (2007) test, which corrects the MSE difference for
the noise that estimating the extra, nested parameters adds: its statistic
f_t = e_r^2 - (e_u^2 - (yhat_r - yhat_u)^2) is regressed on a constant and the
one-sided p-value taken from the normal distribution, with a Newey-West standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from newsintel.analysis.calendar import complete
from newsintel.analysis.robust import hac_bandwidth
from newsintel.errors import AnalysisError

__all__ = ["OutOfSample", "out_of_sample"]

# Fewer forecasts than this make the Clark-West statistic meaningless.
_MIN_FORECASTS = 20


@dataclass(frozen=True)
class OutOfSample:
    """Rolling-origin forecast comparison of y with and without x's lags."""

    direction: str
    lag: int
    horizon: int
    n_forecasts: int
    mse_ratio: float
    clark_west_p: float
    first_origin: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (the contract's ``oos`` key)."""
        return {
            "direction": self.direction,
            "lag": self.lag,
            "horizon": self.horizon,
            "mse_ratio": self.mse_ratio if math.isfinite(self.mse_ratio) else None,
            "clark_west_p": self.clark_west_p if math.isfinite(self.clark_west_p) else None,
            "n_forecasts": self.n_forecasts,
            "scheme": "expanding window, one-step-ahead, refitted at every origin",
        }

    def helps(self, alpha: float) -> bool:
        """True when x's lags lowered the forecast error significantly (Clark-West)."""
        return self.mse_ratio < 1 and self.clark_west_p < alpha


def _lags(values: np.ndarray, lag: int) -> np.ndarray:
    n = values.size
    return np.column_stack([values[lag - k : n - k] for k in range(1, lag + 1)])


def out_of_sample(
    x: np.ndarray,
    y: np.ndarray,
    *,
    lag: int,
    start: int | None = None,
    direction: str = "x->y",
) -> OutOfSample:
    """One-step forecasts of ``y`` from origin ``start`` (default: half the sample,
    at least 30 rows of fit) to the end; stationary, equal-length inputs."""
    xv = np.asarray(x, dtype="float64")
    yv = np.asarray(y, dtype="float64")
    if lag < 1:
        raise AnalysisError(f"the forecast lag must be at least 1, got {lag}")
    goal = yv[lag:]
    ones = np.ones((goal.size, 1))
    restricted = np.hstack([ones, _lags(yv, lag)])
    full = np.hstack([restricted, _lags(xv, lag)])
    # Calendar NaN: forecast only the periods whose own and lagged values exist; the
    # origins stay in time order, so each fit still sees only the past.
    keep = complete(goal, full)
    if not keep.all():
        goal, restricted, full = goal[keep], restricted[keep], full[keep]
    rows = goal.size
    first = start if start is not None else max(rows // 2, 3 * full.shape[1], 30)
    if rows - first < _MIN_FORECASTS:
        raise AnalysisError(
            f"only {max(rows - first, 0)} out-of-sample forecasts possible "
            f"(at least {_MIN_FORECASTS} needed)"
        )
    err_r, err_u, gap = [], [], []
    for t in range(first, rows):
        coef_r = np.linalg.lstsq(restricted[:t], goal[:t], rcond=None)[0]
        coef_u = np.linalg.lstsq(full[:t], goal[:t], rcond=None)[0]
        pred_r = float(restricted[t] @ coef_r)
        pred_u = float(full[t] @ coef_u)
        err_r.append(goal[t] - pred_r)
        err_u.append(goal[t] - pred_u)
        gap.append(pred_r - pred_u)
    er, eu, dg = np.asarray(err_r), np.asarray(err_u), np.asarray(gap)
    mse_r = float(np.mean(er**2))
    ratio = float(np.mean(eu**2)) / mse_r if mse_r > 0 else math.nan
    f = er**2 - (eu**2 - dg**2)
    n = f.size
    centred = f - f.mean()
    variance = float(centred @ centred) / n
    for k in range(1, hac_bandwidth(n) + 1):
        variance += 2 * (1 - k / (hac_bandwidth(n) + 1)) * float(centred[k:] @ centred[:-k]) / n
    p = math.nan
    if variance > 0:
        p = float(stats.norm.sf(f.mean() / math.sqrt(variance / n)))
    return OutOfSample(direction, lag, 1, n, ratio, p, first + lag)
