"""Lead-lag analysis of two series: who moves first, and is it more than chance?

Steps, each reported in the result so that a reader can redo them:

1. align the two series on their common dates and place them on the full calendar
   (every week or month between the first and the last; missing periods are NaN), so
   that every lag below is a calendar lag and only rows missing a lagged value drop;
2. difference each until ADF and KPSS agree it is stationary (at most twice);
3. prewhiten: fit AR(p) to x by AIC and filter x and y with it (Box-Jenkins), so that
   the cross-correlation bands are valid;
4. cross-correlation r(k) = corr(x_t, y_{t+k}) for k = -K..K (positive k: x leads y);
5. Granger F tests in both directions for lags 1..K on the stationary series, and the
   VAR lag order chosen by AIC and BIC;
6. Benjamini-Hochberg adjustment over every p-value computed in the call.

Nothing here claims causation. A significant result says only that one series' past
carries information about the other's future in this window.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from newsintel.analysis.calendar import complete, on_calendar
from newsintel.analysis.ccf import CcfPoint, cross_correlation, null_band
from newsintel.analysis.forecast import out_of_sample
from newsintel.analysis.granger import (
    GrangerPoint,
    feasible_lag,
    granger_max_lag,
    granger_tests,
    select_var_order,
)
from newsintel.analysis.multiple import benjamini_hochberg
from newsintel.analysis.prewhiten import prewhiten as prewhiten_pair
from newsintel.analysis.robust import min_detectable_r, robust_corr_p_leave_one_out
from newsintel.analysis.screen import screen_pair
from newsintel.analysis.stationarity import make_stationary
from newsintel.analysis.threads import one_blas_thread
from newsintel.errors import AnalysisError, SeriesError

__all__ = ["MIN_OBS", "LeadLagResult", "lead_lag"]

MIN_OBS = 10
# Below these sizes the tests run but deserve a warning.
_SMALL_N = 30
_OBS_PER_LAG = 4
# Each CCF lag keeps at least this many pairs, so r is not computed on a handful.
_MIN_PAIRS = 10
_UNITS = {"D": "day(s)", "W": "week(s)", "M": "month(s)"}


@dataclass(frozen=True)
class LeadLagResult:
    """Everything one ``lead_lag`` call computed; maps onto ``analysis_results`` rows.

    ``n_obs`` counts the aligned dates of the inputs (``window_start``..``window_end``);
    ``n_stationary`` the points left after differencing (used by the Granger tests),
    ``n_used`` those left after prewhitening too (used by the CCF). ``ccf_band`` is the
    half-width of the 95% white-noise band, 1.96/sqrt(n_used). ``findings`` are plain
    sentences about the adjusted-significant results, worded without causal claims.
    ``best_lag`` follows the robust adjusted p-values (the test the issue asks to
    trust); ``best_lag_classic`` is the same choice on the classic ``p_adj``.
    """

    x: str
    y: str
    freq: str
    n_obs: int
    window_start: date
    window_end: date
    ccf: tuple[CcfPoint, ...]
    granger: tuple[GrangerPoint, ...]
    best_lag: int | None
    lag_order_aic: int | None
    lag_order_bic: int | None
    transforms: dict[str, Any]
    warnings: tuple[str, ...]
    max_lag: int
    prewhitened: bool
    n_stationary: int
    n_used: int
    ccf_band: float
    alpha: float
    findings: tuple[str, ...]
    # How many p-values the Benjamini-Hochberg adjustment ran over (the whole run's).
    bh_tests: int = 0
    # Leave-one-period-out p-values of the strongest CCF lag (see ``_influence``).
    influence: dict[str, Any] | None = None
    # The robust family's size (HC3/HAC Granger and HAC CCF p-values of the run).
    robust_tests: int = 0
    # The pre-specified test per direction (see ``_primary``) and the out-of-sample
    # forecast comparison of y with and without x's lags (None: too few points).
    primary: dict[str, Any] | None = None
    oos: dict[str, Any] | None = None
    # Calendar accounting (used, dropped_partial, lost_to_gaps, lost_to_join), filled
    # in by ``analyse_pair``, which sees the inputs before they are joined.
    periods: dict[str, Any] | None = None
    best_lag_classic: int | None = None

    def p_values(self) -> list[float]:
        """Unadjusted p-values of every test, CCF lags first, then Granger tests."""
        return [c.p for c in self.ccf] + [g.p for g in self.granger]

    def robust_p_values(self) -> list[float]:
        """Robust p-values in the same order (their own BH family)."""
        return [c.p_robust for c in self.ccf] + [g.p_robust for g in self.granger]

    def with_robust_adj(self, adjusted: Sequence[float], tests: int) -> LeadLagResult:
        """A copy with robust adjusted p-values over a family of ``tests``; the
        influence verdict (``fragile``) follows the new adjustment."""
        if len(adjusted) != len(self.ccf) + len(self.granger):
            raise AnalysisError("adjusted p-values do not match the tests of this result")
        ccf = tuple(
            replace(c, p_robust_adj=p)
            for c, p in zip(self.ccf, adjusted[: len(self.ccf)], strict=True)
        )
        granger = tuple(
            replace(g, p_robust_adj=p)
            for g, p in zip(self.granger, adjusted[len(self.ccf) :], strict=True)
        )
        influence = _judge(self.influence, ccf, self.alpha)
        best_lag = _best_lag(ccf, self.alpha)
        return replace(
            self,
            ccf=ccf,
            granger=granger,
            influence=influence,
            robust_tests=tests,
            best_lag=best_lag,
            findings=_headline(self.primary, self.oos, self.x, self.y, self.alpha)
            + _findings(ccf, granger, best_lag, self.x, self.y, self.freq, self.alpha),
        )

    def power(self) -> dict[str, Any]:
        """The smallest |r| the CCF could detect (80% power) at ``n_used`` points, at
        the per-test level the run's adjustment leaves (alpha over the family size)."""
        tests = max(self.robust_tests, self.bh_tests, 1)
        return {
            "min_detectable_r": _num(min_detectable_r(self.n_used, self.alpha, tests)),
            "n": self.n_used,
            "alpha": self.alpha,
            "tests": tests,
            "power": 0.8,
        }

    def fragile(self) -> dict[str, Any]:
        """Whether one period makes or breaks the strongest result, and which."""
        if self.influence is None:
            return {"fragile": None, "period": None, "reason": "no CCF lag to test"}
        return {
            "fragile": self.influence.get("fragile"),
            "period": self.influence.get("period"),
            "test": "ccf",
            "lag": self.influence["lag"],
            "p_robust": self.influence["p_robust"],
            "p_range": self.influence["p_range"],
        }

    def with_p_adj(self, adjusted: Sequence[float], bh_tests: int) -> LeadLagResult:
        """A copy with ``adjusted`` p-values (in ``p_values()`` order) from an
        adjustment over ``bh_tests`` tests; ``best_lag_classic`` follows them (the
        robust ``best_lag`` and the findings follow ``with_robust_adj``)."""
        if len(adjusted) != len(self.ccf) + len(self.granger):
            raise AnalysisError("adjusted p-values do not match the tests of this result")
        ccf = [
            replace(c, p_adj=p) for c, p in zip(self.ccf, adjusted[: len(self.ccf)], strict=True)
        ]
        granger = [
            replace(g, p_adj=p)
            for g, p in zip(self.granger, adjusted[len(self.ccf) :], strict=True)
        ]
        return replace(
            self,
            ccf=tuple(ccf),
            granger=tuple(granger),
            best_lag_classic=_best_lag(ccf, self.alpha, robust=False),
            findings=_headline(self.primary, self.oos, self.x, self.y, self.alpha)
            + _findings(ccf, granger, self.best_lag, self.x, self.y, self.freq, self.alpha),
            bh_tests=bh_tests,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (dates as ISO strings, NaN as None)."""
        return {
            "x": self.x,
            "y": self.y,
            "freq": self.freq,
            "n_obs": self.n_obs,
            "n_stationary": self.n_stationary,
            "n_used": self.n_used,
            "window": [self.window_start.isoformat(), self.window_end.isoformat()],
            "max_lag": self.max_lag,
            "prewhitened": self.prewhitened,
            "ccf_band": self.ccf_band,
            "ccf": [
                {
                    "lag": c.lag,
                    "r": _num(c.r),
                    "ci": [_num(c.ci_low), _num(c.ci_high)],
                    "p": _num(c.p),
                    "p_adj": _num(c.p_adj),
                    "p_robust": _num(c.p_robust),
                    "p_robust_adj": _num(c.p_robust_adj),
                    "n_pairs": c.n_pairs,
                }
                for c in self.ccf
            ],
            "granger": [
                {
                    "direction": g.direction,
                    "lag": g.lag,
                    "statistic": _num(g.statistic),
                    "p": _num(g.p),
                    "p_adj": _num(g.p_adj),
                    "p_robust": _num(g.p_robust),
                    "p_robust_adj": _num(g.p_robust_adj),
                    "robust": g.robust,
                }
                for g in self.granger
            ],
            "best_lag": self.best_lag,
            "best_lag_classic": self.best_lag_classic,
            "best_lag_rule": "largest |r| among CCF lags with p_robust_adj < alpha "
            "(best_lag_classic: the same on p_adj)",
            "lag_order": {"aic": self.lag_order_aic, "bic": self.lag_order_bic},
            "transforms": self.transforms,
            "alpha": self.alpha,
            "bh_tests": self.bh_tests,
            "robust_tests": self.robust_tests,
            "families": {
                "p_adj": "Benjamini-Hochberg over every classic CCF and Granger p of the run",
                "p_robust_adj": (
                    "Benjamini-Hochberg over every robust (HAC CCF, HC3/HAC Granger) p of the run"
                ),
            },
            "primary": self.primary,
            "exploratory": {
                "tests": "every CCF lag and every Granger lag order in the scan",
                "bh_family": "p_adj: every classic p of the run; p_robust_adj: every "
                "robust p of the run",
            },
            "oos": self.oos,
            "power": self.power(),
            "fragile": self.fragile(),
            "periods": self.periods,
            "findings": list(self.findings),
            "warnings": list(self.warnings),
        }

    def params(self) -> dict[str, Any]:
        """The run's settings and derived choices, stored with every row."""
        return {
            "max_lag": self.max_lag,
            "prewhiten": self.prewhitened,
            "alpha": self.alpha,
            "n_stationary": self.n_stationary,
            "n_used": self.n_used,
            "ccf_band": self.ccf_band,
            "best_lag": self.best_lag,
            "best_lag_classic": self.best_lag_classic,
            "lag_order_aic": self.lag_order_aic,
            "lag_order_bic": self.lag_order_bic,
            "transforms": self.transforms,
            "bh_tests": self.bh_tests,
            "robust_tests": self.robust_tests,
            "power": self.power(),
            "fragile": self.fragile(),
            "primary": self.primary,
            "oos": self.oos,
            "periods": self.periods,
        }

    def to_rows(self, run_id: str) -> list[dict[str, Any]]:
        """One ``analysis_results`` row per CCF lag and per Granger test.

        CCF rows: ``effect`` = r, ``statistic`` = its t value, CI = Fisher-z interval,
        ``direction`` = ''. Granger rows: ``statistic`` = F, ``direction`` = x->y or
        y->x, ``lag`` = number of lags in the test. ``n_obs`` is the number of
        observations that test used; ``params`` is a JSON string.
        """
        params = self.params()
        base = {
            "run_id": run_id,
            "x": self.x,
            "y": self.y,
            "freq": self.freq,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "warnings": list(self.warnings),
        }
        rows: list[dict[str, Any]] = []
        for c in self.ccf:
            rows.append(
                base
                | {
                    "test": "ccf",
                    "direction": "",
                    "lag": c.lag,
                    "statistic": _num(c.statistic),
                    "p_value": _num(c.p),
                    "p_adj": _num(c.p_adj),
                    "effect": _num(c.r),
                    "ci_low": _num(c.ci_low),
                    "ci_high": _num(c.ci_high),
                    "n_obs": c.n_pairs,
                    "params": json.dumps(
                        params
                        | {"p_robust": _num(c.p_robust), "p_robust_adj": _num(c.p_robust_adj)}
                    ),
                }
            )
        for g in self.granger:
            rows.append(
                base
                | {
                    "test": "granger",
                    "direction": g.direction,
                    "lag": g.lag,
                    "statistic": _num(g.statistic),
                    "p_value": _num(g.p),
                    "p_adj": _num(g.p_adj),
                    "effect": None,
                    "ci_low": None,
                    "ci_high": None,
                    "n_obs": g.n_obs,
                    "params": json.dumps(
                        params
                        | {
                            "p_robust": _num(g.p_robust),
                            "p_robust_adj": _num(g.p_robust_adj),
                            "robust": g.robust,
                        }
                    ),
                }
            )
        return rows


def _num(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _influence(
    xw: np.ndarray, yw: np.ndarray, ccf: Sequence[CcfPoint], dates: pd.DatetimeIndex
) -> dict[str, Any] | None:
    """Leave-one-period-out robust p-values of the CCF lag with the smallest robust p.

    Each overlapping pair (x_t, y_t+k) is dropped in turn and the robust p refitted
    (``robust_corr_p_leave_one_out``); ``dates[i]`` labels pair i by x's period.
    ``p_range`` is the smallest and largest of those p; ``fragile`` is decided once
    the run's adjustment is known (``_judge``).
    """
    tested = [c for c in ccf if not math.isnan(c.p_robust)]
    if not tested:
        return None
    best = min(tested, key=lambda c: c.p_robust)
    a, b = _pair_arrays(xw, yw, best.lag)
    labels = dates[-best.lag :] if best.lag < 0 else dates[: a.size]
    # Calendar periods without a value make no pair (as in the CCF itself).
    keep = np.isfinite(a) & np.isfinite(b)
    if not keep.all():
        a, b, labels = a[keep], b[keep], labels[keep]
    # Every period left out in turn, the robust p of the same lag refitted.
    values = robust_corr_p_leave_one_out(a, b)
    if np.isnan(values).all():
        return None
    lo, hi = int(np.nanargmin(values)), int(np.nanargmax(values))
    return {
        "lag": best.lag,
        "p_robust": best.p_robust,
        "p_range": [float(values[lo]), float(values[hi])],
        "period_min": labels[lo].date().isoformat(),
        "period_max": labels[hi].date().isoformat(),
        "fragile": None,
        "period": None,
    }


def _pair_arrays(x: np.ndarray, y: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    n = x.size
    if lag >= 0:
        return x[: n - lag], y[lag:]
    return x[-lag:], y[: n + lag]


def _judge(
    influence: dict[str, Any] | None, ccf: Sequence[CcfPoint], alpha: float
) -> dict[str, Any] | None:
    """Fragile: leaving one period out flips the adjusted decision at ``alpha``.

    The adjusted p of the left-out fits is read with the same factor the run's BH
    adjustment applied to the full-sample p (p_robust_adj / p_robust).
    """
    if influence is None:
        return None
    point = next((c for c in ccf if c.lag == influence["lag"]), None)
    if point is None or math.isnan(point.p_robust_adj) or point.p_robust <= 0:
        return influence
    factor = point.p_robust_adj / point.p_robust
    significant = point.p_robust_adj < alpha
    lo, hi = influence["p_range"]
    if significant:
        flips = min(1.0, hi * factor) >= alpha
        period = influence["period_max"]
    else:
        flips = min(1.0, lo * factor) < alpha
        period = influence["period_min"]
    return influence | {"fragile": bool(flips), "period": period if flips else None}


def _best_lag(ccf: Sequence[CcfPoint], alpha: float, *, robust: bool = True) -> int | None:
    """The lag with the largest |r| among CCF lags whose robust adjusted p (or, with
    ``robust=False``, classic adjusted p) is below ``alpha``."""
    significant = [
        c for c in ccf if not math.isnan(p := c.p_robust_adj if robust else c.p_adj) and p < alpha
    ]
    return max(significant, key=lambda c: abs(c.r)).lag if significant else None


def _checked_pair(
    x: pd.Series, y: pd.Series, x_name: str, y_name: str, notes: list[str]
) -> tuple[pd.Series, pd.Series]:
    try:
        ax, ay, screened = screen_pair(x, y, x_name=x_name, y_name=y_name, min_obs=MIN_OBS)
    except SeriesError as exc:
        raise AnalysisError(str(exc)) from exc
    notes.extend(screened)
    return ax, ay


def _stationary(
    series: pd.Series, name: str, alpha: float, notes: list[str]
) -> tuple[pd.Series, dict[str, Any]]:
    out, differences, report = make_stationary(series, alpha=alpha)
    if not report.is_stationary:
        notes.append(
            f"{name} is still {report.verdict} after {differences} difference(s) "
            f"(ADF p={report.adf_p:.3g}, KPSS p={report.kpss_p:.3g}); results may be spurious"
        )
    return out, {"differences": differences, "stationarity": report.to_dict()}


def _calendar_differences(series: pd.Series, times: int) -> pd.Series:
    """``times`` differences on the calendar: a difference next to a gap is NaN."""
    out = series.astype("float64")
    for _ in range(times):
        out = out.diff()
    return out


def _primary(
    granger: Sequence[GrangerPoint], order: int | None, criterion: str
) -> dict[str, Any] | None:
    """Per direction, the one Granger test at the VAR order the criterion chose.

    Chosen before looking at any p-value, so its p needs no adjustment over lags (the
    scan beside it is exploratory). An order of 0 (no lags help the VAR) is tested at
    lag 1, the smallest test there is.
    """
    if order is None or not granger:
        return None
    lag = min(max(order, 1), max(g.lag for g in granger))
    out: dict[str, Any] = {}
    for direction in ("x->y", "y->x"):
        point = next((g for g in granger if g.direction == direction and g.lag == lag), None)
        if point is not None:
            out[direction] = {
                "lag": lag,
                "criterion": criterion,
                "order_chosen": order,
                "p": _num(point.p),
                "p_robust": _num(point.p_robust),
                "robust": point.robust,
            }
    return out or None


def _headline(
    primary: dict[str, Any] | None,
    oos: dict[str, Any] | None,
    x_name: str,
    y_name: str,
    alpha: float,
) -> tuple[str, ...]:
    """Primary tests first, then the out-of-sample verdict, then (elsewhere) the scan."""
    lines = []
    for direction, (src, dst) in (("x->y", (x_name, y_name)), ("y->x", (y_name, x_name))):
        test = (primary or {}).get(direction)
        if test is None or test["p_robust"] is None:
            continue
        verdict = "significant" if test["p_robust"] < alpha else "not significant"
        lines.append(
            f"primary test {src}->{dst} (lag {test['lag']}, chosen by "
            f"{test['criterion'].upper()} before testing): robust p={test['p_robust']:.3g}, "
            f"classic p={test['p']:.3g}, {verdict} at {alpha:g} (in-sample)"
        )
    if oos is not None and oos["mse_ratio"] is not None and oos["clark_west_p"] is not None:
        if oos["mse_ratio"] < 1 and oos["clark_west_p"] < alpha:
            lines.append(
                f"{x_name}'s past helps forecast {y_name} out-of-sample: MSE ratio "
                f"{oos['mse_ratio']:.3f}, Clark-West p={oos['clark_west_p']:.3g} over "
                f"{oos['n_forecasts']} one-step forecasts"
            )
        else:
            lines.append(
                f"out-of-sample, adding {x_name}'s past did not significantly lower the "
                f"forecast error of {y_name}: MSE ratio {oos['mse_ratio']:.3f}, Clark-West "
                f"p={oos['clark_west_p']:.3g} over {oos['n_forecasts']} forecasts"
            )
    return tuple(lines)


def _findings(
    result_ccf: Sequence[CcfPoint],
    granger: Sequence[GrangerPoint],
    best_lag: int | None,
    x_name: str,
    y_name: str,
    freq: str,
    alpha: float,
) -> tuple[str, ...]:
    unit = _UNITS.get(freq, "period(s)")
    lines: list[str] = []
    if best_lag is not None:
        best = next(c for c in result_ccf if c.lag == best_lag)
        if best_lag > 0:
            when = f"{x_name} leads {y_name} by {best_lag} {unit}"
        elif best_lag < 0:
            when = f"{y_name} leads {x_name} by {-best_lag} {unit}"
        else:
            when = "same period"
        lines.append(
            f"cross-correlation strongest at lag {best_lag:+d} ({when}): r={best.r:.2f}, "
            f"robust (HAC) p_adj={best.p_robust_adj:.3g}, classic p_adj={best.p_adj:.3g} "
            "(prewhitened series)"
        )
    for direction, (src, dst) in (("x->y", (x_name, y_name)), ("y->x", (y_name, x_name))):
        # NaN compares False: a test without a robust p is never reported as significant.
        tested = [g for g in granger if g.direction == direction and g.p_robust_adj < alpha]
        if tested:
            g = min(tested, key=lambda point: point.p_robust_adj)
            lines.append(
                f"{src}->{dst} Granger test at lag {g.lag}: robust ({g.robust or 'n/a'}) "
                f"p_adj={g.p_robust_adj:.3g}, classic p_adj={g.p_adj:.3g} "
                f"(in this sample, {src}'s past adds information about {dst} beyond "
                f"{dst}'s own past; not a forecast test)"
            )
    if not lines:
        lines.append(
            f"no cross-correlation or Granger test is significant on its robust p-value "
            f"after Benjamini-Hochberg adjustment (alpha={alpha:g})"
        )
    return tuple(lines)


@one_blas_thread()
def lead_lag(
    x: pd.Series,
    y: pd.Series,
    *,
    max_lag: int,
    x_name: str,
    y_name: str,
    freq: str,
    prewhiten: bool = True,
    alpha: float = 0.05,
    criterion: str = "aic",
) -> LeadLagResult:
    """Cross-correlations and Granger tests of ``x`` and ``y`` at lags -max_lag..max_lag.

    ``x`` and ``y`` are already at frequency ``freq`` (e.g. weekly returns and weekly
    theme share). Raises AnalysisError, and nothing else, when the data cannot carry
    the analysis: fewer than ``MIN_OBS`` shared dates, a (nearly) constant series,
    infinite values (see ``screen_pair``), or a numerical step that fails.
    """
    try:
        with np.errstate(all="ignore"):
            return _lead_lag(
                x,
                y,
                max_lag=max_lag,
                x_name=x_name,
                y_name=y_name,
                freq=freq,
                prewhiten=prewhiten,
                alpha=alpha,
                criterion=criterion,
            )
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        raise AnalysisError(f"lead/lag failed: {type(exc).__name__}: {exc}") from exc


def _lead_lag(
    x: pd.Series,
    y: pd.Series,
    *,
    max_lag: int,
    x_name: str,
    y_name: str,
    freq: str,
    prewhiten: bool,
    alpha: float,
    criterion: str,
) -> LeadLagResult:
    if max_lag < 1:
        raise AnalysisError(f"max_lag must be at least 1, got {max_lag}")
    if criterion not in ("aic", "bic"):
        raise AnalysisError(f"the lag criterion must be aic or bic, got {criterion!r}")
    notes: list[str] = []
    ax, ay = _checked_pair(x, y, x_name, y_name, notes)
    n_obs = len(ax)
    if n_obs < _SMALL_N:
        notes.append(
            f"only {n_obs} aligned observations (fewer than {_SMALL_N}): too small to trust"
        )
    if n_obs < _OBS_PER_LAG * max_lag:
        notes.append(
            f"{n_obs} observations is fewer than {_OBS_PER_LAG} x max_lag "
            f"= {_OBS_PER_LAG * max_lag}; long-lag results rest on few points"
        )

    _, x_info = _stationary(ax, x_name, alpha, notes)
    _, y_info = _stationary(ay, y_name, alpha, notes)
    # The tests judged the observed values; the differences and every lag are taken on
    # the full calendar, so neither spans a period without a value (NaN there).
    sx, sy = on_calendar(ax, ay, freq)
    sx = _calendar_differences(sx, int(x_info["differences"]))
    sy = _calendar_differences(sy, int(y_info["differences"]))
    start = max(int(x_info["differences"]), int(y_info["differences"]))
    sx, sy = sx.iloc[start:], sy.iloc[start:]
    xs = sx.to_numpy(dtype="float64")
    ys = sy.to_numpy(dtype="float64")
    n_stationary = int(complete(xs, ys).sum())
    if n_stationary < MIN_OBS:
        raise AnalysisError(f"only {n_stationary} observations left after differencing")

    pw_info: dict[str, Any]
    filtered = None
    if prewhiten:
        try:
            filtered = prewhiten_pair(xs, ys)
        except AnalysisError as exc:
            notes.append(f"{exc}; the CCF is computed on the unfiltered series")
    if filtered is not None:
        xw, yw = filtered.x, filtered.y
        pw_info = {
            "applied": True,
            "ar_order": filtered.order,
            "coefficients": list(filtered.coefficients),
        }
    else:
        xw, yw = xs - np.nanmean(xs), ys - np.nanmean(ys)
        pw_info = {"applied": False}
        if not prewhiten:
            notes.append(
                "not prewhitened: the CCF bands assume white noise and may overstate significance"
            )
    n_used = int(complete(xw, yw).sum())

    ccf_lag = min(max_lag, n_used - _MIN_PAIRS)
    # Calendar gaps cost each lag its own rows: test up to the largest lag that fits.
    granger_lag = feasible_lag(xs, ys, min(max_lag, granger_max_lag(n_stationary)))
    if ccf_lag < max_lag or granger_lag < max_lag:
        notes.append(
            f"too few complete periods for lag {max_lag}: CCF computed up to lag "
            f"{max(ccf_lag, 0)}, Granger up to lag {granger_lag}"
        )
    ccf = cross_correlation(xw, yw, max(ccf_lag, 0))
    try:
        granger = granger_tests(xs, ys, granger_lag)
    except AnalysisError as exc:
        # Lagged columns that are constant or fit perfectly (sparse data): the CCF
        # still says something, so report it without Granger tests.
        granger = []
        notes.append(f"{exc}; no Granger test reported")
    try:
        aic, bic = select_var_order(xs, ys, granger_lag) if granger_lag >= 1 else (None, None)
    except AnalysisError as exc:
        aic, bic = None, None
        notes.append(str(exc))

    order = aic if criterion == "aic" else bic
    primary = _primary(granger, order, criterion)
    oos: dict[str, Any] | None = None
    if primary is not None and "x->y" in primary:
        try:
            oos = out_of_sample(xs, ys, lag=int(primary["x->y"]["lag"])).to_dict()
        except AnalysisError as exc:
            notes.append(f"no out-of-sample evaluation: {exc}")

    raw = [c.p for c in ccf] + [g.p for g in granger]
    adjusted = benjamini_hochberg(raw)
    ccf = [replace(c, p_adj=p) for c, p in zip(ccf, adjusted[: len(ccf)], strict=True)]
    granger = [replace(g, p_adj=p) for g, p in zip(granger, adjusted[len(ccf) :], strict=True)]
    robust_raw = [c.p_robust for c in ccf] + [g.p_robust for g in granger]
    robust_adj = benjamini_hochberg(robust_raw)
    ccf = [replace(c, p_robust_adj=p) for c, p in zip(ccf, robust_adj[: len(ccf)], strict=True)]
    granger = [
        replace(g, p_robust_adj=p) for g, p in zip(granger, robust_adj[len(ccf) :], strict=True)
    ]
    best_lag = _best_lag(ccf, alpha)
    # Prewhitening drops the AR order's first points; pair i of each lag is then
    # labelled by x's period.
    dates = pd.DatetimeIndex(sx.index)[len(xs) - xw.size :]
    influence = _judge(_influence(xw, yw, ccf, dates), ccf, alpha)

    return LeadLagResult(
        x=x_name,
        y=y_name,
        freq=freq,
        n_obs=n_obs,
        window_start=ax.index[0].date(),
        window_end=ax.index[-1].date(),
        ccf=tuple(ccf),
        granger=tuple(granger),
        best_lag=best_lag,
        best_lag_classic=_best_lag(ccf, alpha, robust=False),
        lag_order_aic=aic,
        lag_order_bic=bic,
        transforms={"x": x_info, "y": y_info, "prewhiten": pw_info},
        warnings=tuple(notes),
        max_lag=max_lag,
        prewhitened=filtered is not None,
        n_stationary=n_stationary,
        n_used=n_used,
        ccf_band=null_band(n_used),
        alpha=alpha,
        findings=_headline(primary, oos, x_name, y_name, alpha)
        + _findings(ccf, granger, best_lag, x_name, y_name, freq, alpha),
        primary=primary,
        oos=oos,
        bh_tests=sum(1 for p in raw if not math.isnan(p)),
        influence=influence,
        robust_tests=sum(1 for p in robust_raw if not math.isnan(p)),
    )
