"""Box-Jenkins prewhitening of a pair of stationary series.

An AR model is fitted to x (order by AIC) and the same filter is applied to both x and
y. x becomes close to white noise, and then the sample cross-correlations of the pair
have standard error about 1/sqrt(n) under "no cross-correlation" -- the usual 95% bands
are only valid after this step (Box, Jenkins & Reinsel, *Time Series Analysis*, ch. 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
    # nanmean: calendar periods without a value stay NaN, and so does every filtered
    # value that would need them.
    centred = np.asarray(values, dtype="float64") - float(np.nanmean(values))
    order = len(coefficients)
    n = centred.size
    out = centred[order:].copy()
    for i, phi in enumerate(coefficients, start=1):
        out -= phi * centred[order - i : n - i]
    return out


def prewhiten(x: np.ndarray, y: np.ndarray, *, max_order: int = MAX_AR_ORDER) -> Prewhitened:
    """Fit AR(p) to ``x`` with p chosen by AIC (0..max_order) and filter both series."""
    xv = np.asarray(x, dtype="float64")
    yv = np.asarray(y, dtype="float64")
    if xv.shape != yv.shape:
        raise AnalysisError("prewhitening needs two series of equal length")
    # Keep at least ~5 observations per AR coefficient so the fit is not all noise.
    limit = max(0, min(max_order, xv.size // 5))
    # With calendar gaps (NaN) the AR fit sees the observed values joined up: an
    # approximation for the coefficients only; the filter itself never spans a gap.
    observed = xv[np.isfinite(xv)]
    limit = max(0, min(limit, observed.size // 5))
    coefficients = _ar_coefficients(observed.tobytes(), limit) if limit > 0 else ()
    return Prewhitened(
        x=ar_filter(xv, coefficients),
        y=ar_filter(yv, coefficients),
        order=len(coefficients),
        coefficients=coefficients,
    )


@lru_cache(maxsize=256)
def _ar_coefficients(raw: bytes, limit: int) -> tuple[float, ...]:
    """AR coefficients of the series in ``raw`` (float64 bytes), order by AIC up to
    ``limit``. Cached: one x is prewhitened against many y in a run, and the filter
    depends on x alone (the fit is deterministic)."""
    from statsmodels.tsa.ar_model import ar_select_order

    xv = np.frombuffer(raw, dtype="float64").copy()
    try:
        selection = ar_select_order(xv, maxlag=limit, ic="aic", trend="c")
        lags = selection.ar_lags or []
        if not lags:
            return ()
        fitted = selection.model.fit()
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise AnalysisError(f"could not fit the prewhitening AR model: {exc}") from exc
    # params are [const, phi_1, ..., phi_p] for trend="c".
    return tuple(float(v) for v in np.asarray(fitted.params)[1:])
