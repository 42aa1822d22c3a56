"""Impulse responses of a bivariate VAR, with asymptotic 95% intervals.

Both series are made stationary first (as in lead-lag), a VAR is fitted with its order
chosen by AIC unless given, and the response of each series to a one-unit innovation in
the other is traced for ``periods`` steps (statsmodels ``VARResults.irf``; intervals
from its analytic standard errors, Lütkepohl 2005, ch. 3.7). With ``orth=True`` the
shocks are orthogonalised by a Cholesky factor with x ordered first, which assumes x
may move y within a period but not the reverse -- an assumption, not a finding.

Lags are calendar lags, as in lead/lag: the pair is placed on the full calendar
(``calendar.on_calendar``) and differenced there, so a period without a value leaves
NaN, and the VAR is fitted on the rows whose every lag is a known period. A VAR lag
never spans a gap; ``lost_to_gaps`` counts the rows that a gap removed. Horizon h of
the response is h calendar periods after the shock.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from newsintel.analysis.calendar import complete, on_calendar
from newsintel.analysis.granger import feasible_lag, select_var_order
from newsintel.analysis.rows import RowContext
from newsintel.analysis.screen import finite_pair
from newsintel.analysis.stationarity import make_stationary
from newsintel.errors import AnalysisError

__all__ = ["ImpulseResponse", "var_impulse_response"]

_Z95 = 1.959963984540054
_MIN_OBS = 30
# statsmodels' VAR order search: up to 8 lags, and no more than a tenth of the rows.
_MAX_ORDER = 8


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
    # Calendar rows (after the differences' seeds) the VAR could not use because a
    # value or one of its ``order`` lags falls in a period without a value.
    lost_to_gaps: int = 0

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
            "periods": {"used": self.n_obs, "lost_to_gaps": self.lost_to_gaps},
            "warnings": list(self.warnings),
        }

    def to_rows(self, run_id: str, where: RowContext) -> list[dict[str, Any]]:
        """``irf`` rows, one per horizon (``lag`` = 0..periods) and direction: ``x->y``
        is y's response to a unit shock in x, ``y->x`` the reverse; ``effect`` = the
        response, ``ci_low``/``ci_high`` = its 95% interval, ``n_obs`` = rows the VAR was fitted
        on (complete at every lag; ``params.lost_to_gaps`` = rows a gap removed).
        """
        params = {
            "order": self.order,
            "orth": self.orth,
            "differences": self.differences,
            "lost_to_gaps": self.lost_to_gaps,
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


def _calendar_stationary(x: pd.Series, y: pd.Series, dx: int, dy: int, freq: str) -> np.ndarray:
    """The pair on the full calendar, each differenced ``dx``/``dy`` times there (a
    difference next to a missing period is NaN), without the rows that only seed the
    differences; columns x, y."""
    cx, cy = on_calendar(x, y, freq)
    cx, cy = cx.astype("float64"), cy.astype("float64")
    for _ in range(dx):
        cx = cx.diff()
    for _ in range(dy):
        cy = cy.diff()
    seeds = max(dx, dy)
    return np.column_stack([cx.to_numpy()[seeds:], cy.to_numpy()[seeds:]])


def _fit_var(data: np.ndarray, order: int) -> tuple[Any, int]:
    """statsmodels ``VAR(data).fit(order)`` (trend "c") on the rows complete at ``order``.

    ``VAR.fit`` needs contiguous rows; a gapped calendar has NaN rows. So the design is
    built as statsmodels builds it (constant, then both series at t-1, ..., t-order),
    the rows needing a missing period are dropped, and the least-squares fit is handed
    to statsmodels' own ``VARResults``, whose impulse responses and analytic standard
    errors then use exactly the rows fitted. On a calendar without gaps this is
    ``VAR.fit`` (a test compares them). Returns the results and the rows dropped.
    """
    from statsmodels.tsa.api import VAR
    from statsmodels.tsa.vector_ar.var_model import VARResults

    n_total, neqs = data.shape
    if order < 1 or order >= n_total:
        raise AnalysisError(f"a VAR order must be between 1 and {n_total - 1}, got {order}")
    target = data[order:]
    lags = [data[order - k : n_total - k] for k in range(1, order + 1)]
    rows = complete(target, *lags)
    target = target[rows]
    nobs = int(target.shape[0])
    df_resid = nobs - (neqs * order + 1)
    if df_resid <= neqs:
        raise AnalysisError(
            f"a VAR({order}) needs more complete periods than the {nobs} the calendar leaves"
        )
    z = np.column_stack([np.ones(nobs), *(block[rows] for block in lags)])
    params = np.linalg.lstsq(z, target, rcond=1e-15)[0]
    resid = target - z @ params
    sigma_u = resid.T @ resid / df_resid
    # VARResults reads the targets as endog[order:]; the first rows are never used.
    endog = np.vstack([np.zeros((order, neqs)), target])
    model = VAR(target)
    fitted = VARResults(
        endog, z, params, sigma_u, order, model=model, trend="c", names=model.endog_names
    )
    return fitted, int(rows.size - nobs)


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
    """Fit a VAR to the stationary pair on the calendar and return both cross impulse
    responses; the order is chosen by AIC (at least 1) unless given."""
    ax, ay = finite_pair(x, y)
    if len(ax) < _MIN_OBS:
        raise AnalysisError(f"a VAR needs at least {_MIN_OBS} common dates, got {len(ax)}")
    notes: list[str] = []
    _, dx, rx = make_stationary(ax)
    _, dy, ry = make_stationary(ay)
    for name, report in ((x_name, rx), (y_name, ry)):
        if not report.is_stationary:
            notes.append(f"{name} is still {report.verdict} after differencing")
    data = _calendar_stationary(ax, ay, dx, dy, freq)
    known = int(complete(data).sum())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if order is None:
                largest = feasible_lag(data[:, 0], data[:, 1], min(_MAX_ORDER, known // 10))
                if largest < 1:
                    raise AnalysisError(
                        f"too few complete periods ({known}) for a VAR on the calendar"
                    )
                order = max(1, select_var_order(data[:, 0], data[:, 1], largest)[0])
            fitted, lost = _fit_var(data, order)
            irf = fitted.irf(periods)
            stderr = irf.stderr(orth=orth)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise AnalysisError(f"VAR impulse response failed: {type(exc).__name__}: {exc}") from exc
    if lost:
        notes.append(
            f"{lost} period(s) left out of the VAR: they or one of their {order} lag(s) "
            "fall in a period without a value (lags are calendar lags)"
        )
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
        n_obs=int(fitted.nobs),
        x_to_y=_floats(xy),
        x_to_y_low=_floats(xy - _Z95 * se_xy),
        x_to_y_high=_floats(xy + _Z95 * se_xy),
        y_to_x=_floats(yx),
        y_to_x_low=_floats(yx - _Z95 * se_yx),
        y_to_x_high=_floats(yx + _Z95 * se_yx),
        differences={"x": dx, "y": dy},
        warnings=tuple(notes),
        lost_to_gaps=lost,
    )
