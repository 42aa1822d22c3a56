"""What makes a pair not analysable, checked before any statistic, and the result saying so.

Real windows are often degenerate: a theme that is zero in all but a week or two, a
spot price that barely moves, a join that leaves a handful of dates. The statistics
below this package either fail on such input (statsmodels' KPSS overflows on a series
that is constant but for two steps) or return numbers that mean nothing. ``screen_pair``
names the problem first; ``NotAnalysable`` is what a pair becomes then: a stored row
and a warning, with the reason, instead of an exception that stops a run of many pairs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from newsintel.errors import AnalysisError

__all__ = ["HUGE", "MIN_VARYING", "NotAnalysable", "finite_pair", "finite_series", "screen_pair"]

# Squares of values beyond this overflow float64 (1e308), so variances become inf.
HUGE = 1e150
# A series that sits at one value in all but this many periods has nothing to correlate:
# a single spike (or a price that moved twice) decides every statistic alone.
MIN_VARYING = 5
# Above this share of periods at one value, results are reported with a warning.
_SPARSE_SHARE = 0.5


@dataclass(frozen=True)
class NotAnalysable:
    """A pair whose data cannot carry the analysis, and why (``reason``, one line).

    It has the shape of a ``PairAnalysis`` where callers need it (names, warnings, no
    p-values, ``to_dict``/``to_rows``), so a run stores and reports it beside the others.
    """

    x: str
    y: str
    freq: str
    reason: str
    n_obs: int = 0
    window_start: date | None = None
    window_end: date | None = None
    notes: tuple[str, ...] = ()

    analysable = False
    best_lag = None

    @property
    def warnings(self) -> tuple[str, ...]:
        """``not analysable: <reason>`` first, then what screening noticed on the way."""
        return (f"not analysable: {self.reason}", *self.notes)

    def p_values(self) -> list[float]:
        """No test ran, so nothing enters the run's adjustment."""
        return []

    def with_p_adj(self, adjusted: Sequence[float], bh_tests: int) -> NotAnalysable:
        """Unchanged: there is nothing to adjust."""
        if adjusted:
            raise AnalysisError("a pair that was not analysed has no p-values to adjust")
        return self

    def robust_p_values(self) -> list[float]:
        """No robust test either."""
        return []

    def with_robust_adj(self, adjusted: Sequence[float], tests: int) -> NotAnalysable:
        """Unchanged: there is nothing to adjust."""
        return self.with_p_adj(adjusted, tests)

    def to_dict(self) -> dict[str, Any]:
        """``analysable`` false, the ``reason`` and the pair's keys; no statistics."""
        window = (
            [self.window_start.isoformat(), self.window_end.isoformat()]
            if self.window_start and self.window_end
            else None
        )
        return {
            "x": self.x,
            "y": self.y,
            "freq": self.freq,
            "analysable": False,
            "reason": self.reason,
            "n_obs": self.n_obs,
            "window": window,
            "findings": [],
            "warnings": list(self.warnings),
        }

    def to_rows(self, run_id: str) -> list[dict[str, Any]]:
        """One ``not_analysable`` row (lag 0, ``n_obs`` = common dates, the reason in
        ``params`` and ``warnings``), so the app and SQL users see why a pair is empty."""
        return [
            {
                "run_id": run_id,
                "x": self.x,
                "y": self.y,
                "freq": self.freq,
                "test": "not_analysable",
                "direction": "",
                "lag": 0,
                "statistic": None,
                "p_value": None,
                "p_adj": None,
                "effect": None,
                "ci_low": None,
                "ci_high": None,
                "n_obs": self.n_obs,
                "window_start": self.window_start,
                "window_end": self.window_end,
                "params": json.dumps({"reason": self.reason}),
                "warnings": list(self.warnings),
            }
        ]


def _one(series: pd.Series, name: str, notes: list[str]) -> pd.Series:
    """``series`` as sorted finite floats, or AnalysisError naming what is wrong."""
    if not isinstance(series.index, pd.DatetimeIndex):
        raise AnalysisError(f"{name} is not indexed by dates")
    duplicated = series.index.duplicated()
    if duplicated.any():
        first = pd.DatetimeIndex(series.index)[duplicated][0].date().isoformat()
        raise AnalysisError(
            f"{name} has {int(duplicated.sum())} duplicated date(s) (first {first}); "
            "one value per period is needed"
        )
    try:
        values = series.astype("float64")
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{name} has values that are not numbers: {exc}") from None
    raw = values.to_numpy()
    infinite = np.isinf(raw)
    if infinite.any():
        raise AnalysisError(f"{name} has infinite values in {int(infinite.sum())} period(s)")
    missing = int(np.isnan(raw).sum())
    if missing:
        notes.append(f"{name}: {missing} period(s) without a value were left out")
    clean = values.dropna().sort_index()
    if clean.size and float(np.abs(clean.to_numpy()).max()) > HUGE:
        raise AnalysisError(
            f"{name} has values beyond {HUGE:g} in magnitude; their squares overflow"
        )
    return clean


def _varying(values: np.ndarray, name: str, notes: list[str]) -> None:
    """Raise when all but a few periods share one value; warn when most do."""
    if np.ptp(values) == 0:
        raise AnalysisError(f"{name} is constant over the common window; nothing to correlate")
    _, counts = np.unique(values, return_counts=True)
    off_mode = int(values.size - counts.max())
    if off_mode < MIN_VARYING:
        raise AnalysisError(
            f"{name} differs from its most common value in only {off_mode} of "
            f"{values.size} periods (fewer than {MIN_VARYING}); a few points would "
            "decide every statistic"
        )
    share = counts.max() / values.size
    if share > _SPARSE_SHARE:
        notes.append(
            f"{name} sits at one value in {share:.0%} of periods: sparse data, "
            "results rest on the other periods"
        )


def screen_pair(
    x: pd.Series, y: pd.Series, *, x_name: str, y_name: str, min_obs: int
) -> tuple[pd.Series, pd.Series, list[str]]:
    """The aligned, finite pair and notes; AnalysisError with the reason when the pair
    is degenerate (dates, infinities, magnitudes, too few common dates, constant or
    nearly constant series, x identical to y or an exact linear function of it)."""
    notes: list[str] = []
    cx = _one(x, x_name, notes)
    cy = _one(y, y_name, notes)
    both = pd.concat([cx.rename("x"), cy.rename("y")], axis=1, join="inner").dropna()
    if len(both) < min_obs:
        raise AnalysisError(
            f"{x_name} and {y_name} share only {len(both)} dates with values; "
            f"at least {min_obs} are needed"
        )
    ax, ay = both["x"], both["y"]
    xv, yv = ax.to_numpy(), ay.to_numpy()
    _varying(xv, x_name, notes)
    _varying(yv, y_name, notes)
    if np.array_equal(xv, yv):
        raise AnalysisError(f"{x_name} and {y_name} are identical over the common window")
    # Standardise before the correlation, so huge magnitudes cannot overflow it.
    zx = (xv - xv.mean()) / xv.std()
    zy = (yv - yv.mean()) / yv.std()
    if abs(float(np.mean(zx * zy))) > 1 - 1e-12:
        raise AnalysisError(
            f"{x_name} is an exact linear function of {y_name} over the common window"
        )
    ax.name, ay.name = x.name, y.name
    return ax, ay, notes


def finite_series(series: pd.Series, name: str = "the series") -> pd.Series:
    """``series`` sorted, NaN dropped; AnalysisError for duplicated dates, infinite or
    overflowing values (what each statistic checks before its arithmetic)."""
    return _one(series, name, [])


def finite_pair(
    x: pd.Series, y: pd.Series, x_name: str = "x", y_name: str = "y"
) -> tuple[pd.Series, pd.Series]:
    """The common dates of two ``finite_series`` (inner join), names kept.

    The one align-and-check step of every statistic here: it raises AnalysisError
    with the reason itself, so callers need no wrapper translating another error.
    """
    cx = finite_series(x, x_name)
    cy = finite_series(y, y_name)
    both = pd.concat([cx.rename("x"), cy.rename("y")], axis=1, join="inner")
    ax, ay = both["x"], both["y"]
    ax.name, ay.name = x.name, y.name
    return ax, ay
