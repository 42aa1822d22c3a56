"""Rolling correlation of two series: has their co-movement changed over time?"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from newsintel.errors import AnalysisError, SeriesError
from newsintel.series.align import align_pair

__all__ = ["RollingCorrelation", "rolling_correlation"]

_Z95 = 1.959963984540054
_MIN_WINDOW = 5


@dataclass(frozen=True)
class RollingCorrelation:
    """Pearson r over a trailing window, labelled by the window's last date.

    ``band`` is the 95% half-width for r under white noise, 1.96/sqrt(window): a guide
    only, since neighbouring windows share most of their points and autocorrelated
    inputs widen the true band.
    """

    points: pd.Series
    window: int
    n_obs: int
    band: float
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; windows with an undefined r (a flat stretch) are None."""
        return {
            "window": self.window,
            "n_obs": self.n_obs,
            "band": self.band,
            "points": [
                {"date": d.date().isoformat(), "r": None if math.isnan(r) else float(r)}
                for d, r in zip(
                    pd.DatetimeIndex(self.points.index), self.points.to_numpy(), strict=True
                )
            ],
            "warnings": list(self.warnings),
        }


def rolling_correlation(x: pd.Series, y: pd.Series, window: int) -> RollingCorrelation:
    """Correlation of ``x`` and ``y`` over each run of ``window`` common dates.

    Pass stationary inputs (returns, shares, differences): rolling correlations of
    trending levels are mostly spurious.
    """
    if window < _MIN_WINDOW:
        raise AnalysisError(f"rolling window must be at least {_MIN_WINDOW}, got {window}")
    try:
        ax, ay = align_pair(x, y)
    except SeriesError as exc:
        raise AnalysisError(str(exc)) from exc
    if len(ax) < window:
        raise AnalysisError(
            f"only {len(ax)} common dates, fewer than the rolling window of {window}"
        )
    r = ax.rolling(window).corr(ay).iloc[window - 1 :]
    # A window where one series is flat has no correlation; pandas may give +-inf or a
    # rounding artefact there, so set those to NaN explicitly.
    flat = (ax.rolling(window).std().iloc[window - 1 :] == 0) | (
        ay.rolling(window).std().iloc[window - 1 :] == 0
    )
    r = r.mask(flat | ~np.isfinite(r)).clip(-1.0, 1.0)
    notes = []
    if int(flat.sum()):
        notes.append(f"{int(flat.sum())} window(s) with a flat series have no correlation")
    return RollingCorrelation(
        points=r.astype("float64"),
        window=window,
        n_obs=len(ax),
        band=_Z95 / math.sqrt(window),
        warnings=tuple(notes),
    )
