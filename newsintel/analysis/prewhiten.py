"""Box-Jenkins prewhitening of a pair of stationary series.

An AR model is fitted to x (order by AIC) and the same filter is applied to both x and
y. x becomes close to white noise, and then the sample cross-correlations of the pair
have standard error about 1/sqrt(n) under "no cross-correlation" -- the usual 95% bands
are only valid after this step (Box, Jenkins & Reinsel, *Time Series Analysis*, ch. 12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsintel.errors import AnalysisError

__all__ = ["Prewhitened", "ar_filter", "prewhiten"]

# AR orders above this rarely help on weekly or monthly data and cost many observations.
MAX_AR_ORDER = 10


@dataclass(frozen=True)
class Prewhitened:
    """The filtered pair (``x`` and ``y`` have equal length) and the AR filter used."""

    x: np.ndarray
    y: np.ndarray
    order: int
    coefficients: tuple[float, ...]


def ar_filter(values: np.ndarray, coefficients: tuple[float, ...]) -> np.ndarray:
    """Apply ``e_t = v_t - sum_i phi_i v_{t-i}`` to demeaned ``values``; drops ``p`` points."""
    centred = np.asarray(values, dtype="float64") - float(np.mean(values))
    order = len(coefficients)
    n = centred.size
    out = centred[order:].copy()
    for i, phi in enumerate(coefficients, start=1):
        out -= phi * centred[order - i : n - i]
    return out


def prewhiten(x: np.ndarray, y: np.ndarray, *, max_order: int = MAX_AR_ORDER) -> Prewhitened:
    """Fit AR(p) to ``x`` with p chosen by AIC (0..max_order) and filter both series."""
    from statsmodels.tsa.ar_model import ar_select_order

    xv = np.asarray(x, dtype="float64")
    yv = np.asarray(y, dtype="float64")
    if xv.shape != yv.shape:
        raise AnalysisError("prewhitening needs two series of equal length")
    # Keep at least ~5 observations per AR coefficient so the fit is not all noise.
    limit = max(0, min(max_order, xv.size // 5))
    coefficients: tuple[float, ...] = ()
    if limit > 0:
        try:
            selection = ar_select_order(xv, maxlag=limit, ic="aic", trend="c")
            lags = selection.ar_lags or []
            if lags:
                fitted = selection.model.fit()
                # params are [const, phi_1, ..., phi_p] for trend="c".
                coefficients = tuple(float(v) for v in np.asarray(fitted.params)[1:])
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise AnalysisError(f"could not fit the prewhitening AR model: {exc}") from exc
    return Prewhitened(
        x=ar_filter(xv, coefficients),
        y=ar_filter(yv, coefficients),
        order=len(coefficients),
        coefficients=coefficients,
    )
