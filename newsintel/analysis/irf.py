"""Impulse responses of a bivariate VAR, with asymptotic 95% intervals.

Both series are made stationary first (as in lead-lag), a VAR is fitted with its order
chosen by AIC unless given, and the response of each series to a one-unit innovation in
the other is traced for ``periods`` steps (statsmodels ``VARResults.irf``; intervals
from its analytic standard errors, Lütkepohl 2005, ch. 3.7). With ``orth=True`` the
shocks are orthogonalised by a Cholesky factor with x ordered first, which assumes x
may move y within a period but not the reverse -- an assumption, not a finding.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from newsintel.analysis.rows import RowContext
from newsintel.analysis.screen import finite_pair
from newsintel.analysis.stationarity import make_stationary
from newsintel.errors import AnalysisError, SeriesError
from newsintel.series.align import align_pair

__all__ = ["ImpulseResponse", "var_impulse_response"]

_Z95 = 1.959963984540054
_MIN_OBS = 30


@dataclass(frozen=True)
class ImpulseResponse:
    """Responses at steps 0..periods: ``x_to_y[h]`` is y's response h periods after a
    unit shock to x (in the units of the transformed series), with 95% bounds."""

    x: str
    y: str
    freq: str
    order: int
    orth: bool
    n_obs: int
    x_to_y: tuple[float, ...]
    x_to_y_low: tuple[float, ...]
    x_to_y_high: tuple[float, ...]
    y_to_x: tuple[float, ...]
    y_to_x_low: tuple[float, ...]
    y_to_x_high: tuple[float, ...]
    differences: dict[str, int]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "x": self.x,
            "y": self.y,
            "freq": self.freq,
            "order": self.order,
            "orth": self.orth,
            "n_obs": self.n_obs,
            "x_to_y": {
                "irf": list(self.x_to_y),
                "ci": [list(self.x_to_y_low), list(self.x_to_y_high)],
            },
            "y_to_x": {
                "irf": list(self.y_to_x),
                "ci": [list(self.y_to_x_low), list(self.y_to_x_high)],
            },
            "differences": self.differences,
            "warnings": list(self.warnings),
        }

    def to_rows(self, run_id: str, where: RowContext) -> list[dict[str, Any]]:
        """``irf`` rows, one per horizon (``lag`` = 0..periods) and direction: ``x->y``
        is y's response to a unit shock in x, ``y->x`` the reverse; ``effect`` = the
        response, ``ci_low``/``ci_high`` = its 95% interval, ``n_obs`` = VAR points.
        """
        params = {
            "order": self.order,
            "orth": self.orth,
            "differences": self.differences,
            "shock": "one unit of the transformed (stationary) series",
        }
        rows: list[dict[str, Any]] = []
        for direction, values, low, high in (
            ("x->y", self.x_to_y, self.x_to_y_low, self.x_to_y_high),
            ("y->x", self.y_to_x, self.y_to_x_low, self.y_to_x_high),
        ):
            rows.extend(
                where.row(
                    run_id,
                    "irf",
                    horizon,
                    direction=direction,
                    n_obs=self.n_obs,
                    effect=value,
                    ci_low=lo,
                    ci_high=hi,
                    params=params,
                    warnings=self.warnings,
                )
                for horizon, (value, lo, hi) in enumerate(zip(values, low, high, strict=True))
            )
        return rows


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def var_impulse_response(
    x: pd.Series,
    y: pd.Series,
    *,
    x_name: str,
    y_name: str,
    freq: str,
    periods: int = 8,
    order: int | None = None,
    orth: bool = False,
) -> ImpulseResponse:
    """Fit a VAR to the stationary pair and return both cross impulse responses."""
    from statsmodels.tsa.api import VAR

    try:
        ax, ay = finite_pair(x, y)
    except SeriesError as exc:
        raise AnalysisError(str(exc)) from exc
    if len(ax) < _MIN_OBS:
        raise AnalysisError(f"a VAR needs at least {_MIN_OBS} common dates, got {len(ax)}")
    notes: list[str] = []
    sx, dx, rx = make_stationary(ax)
    sy, dy, ry = make_stationary(ay)
    for name, report in ((x_name, rx), (y_name, ry)):
        if not report.is_stationary:
            notes.append(f"{name} is still {report.verdict} after differencing")
    sx, sy = align_pair(sx, sy)
    data = np.column_stack([sx.to_numpy(), sy.to_numpy()])
    model = VAR(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if order is None:
                order = max(1, int(model.select_order(maxlags=min(8, len(data) // 10)).aic))
            fitted = model.fit(order)
            irf = fitted.irf(periods)
            stderr = irf.stderr(orth=orth)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise AnalysisError(f"VAR impulse response failed: {type(exc).__name__}: {exc}") from exc
    responses = irf.orth_irfs if orth else irf.irfs
    # responses[h, i, j]: response of variable i to a shock in variable j (x=0, y=1).
    xy, yx = responses[:, 1, 0], responses[:, 0, 1]
    se_xy, se_yx = stderr[:, 1, 0], stderr[:, 0, 1]
    return ImpulseResponse(
        x=x_name,
        y=y_name,
        freq=freq,
        order=order,
        orth=orth,
        n_obs=len(data),
        x_to_y=_floats(xy),
        x_to_y_low=_floats(xy - _Z95 * se_xy),
        x_to_y_high=_floats(xy + _Z95 * se_xy),
        y_to_x=_floats(yx),
        y_to_x_low=_floats(yx - _Z95 * se_yx),
        y_to_x_high=_floats(yx + _Z95 * se_yx),
        differences={"x": dx, "y": dy},
        warnings=tuple(notes),
    )
