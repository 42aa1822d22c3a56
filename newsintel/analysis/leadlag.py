"""Lead-lag analysis of two series: who moves first, and is it more than chance?

Steps, each reported in the result so that a reader can redo them:

1. align the two series on their common dates;
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

from newsintel.analysis.ccf import CcfPoint, cross_correlation, null_band
from newsintel.analysis.granger import (
    GrangerPoint,
    granger_max_lag,
    granger_tests,
    select_var_order,
)
from newsintel.analysis.multiple import benjamini_hochberg
from newsintel.analysis.prewhiten import prewhiten as prewhiten_pair
from newsintel.analysis.screen import screen_pair
from newsintel.analysis.stationarity import make_stationary
from newsintel.analysis.threads import one_blas_thread
from newsintel.errors import AnalysisError, SeriesError
from newsintel.series.align import align_pair

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

    def p_values(self) -> list[float]:
        """Unadjusted p-values of every test, CCF lags first, then Granger tests."""
        return [c.p for c in self.ccf] + [g.p for g in self.granger]

    def with_p_adj(self, adjusted: Sequence[float], bh_tests: int) -> LeadLagResult:
        """A copy with ``adjusted`` p-values (in ``p_values()`` order) from an
        adjustment over ``bh_tests`` tests; best lag and findings follow them."""
        if len(adjusted) != len(self.ccf) + len(self.granger):
            raise AnalysisError("adjusted p-values do not match the tests of this result")
        ccf = [
            replace(c, p_adj=p) for c, p in zip(self.ccf, adjusted[: len(self.ccf)], strict=True)
        ]
        granger = [
            replace(g, p_adj=p)
            for g, p in zip(self.granger, adjusted[len(self.ccf) :], strict=True)
        ]
        best_lag = _best_lag(ccf, self.alpha)
        return replace(
            self,
            ccf=tuple(ccf),
            granger=tuple(granger),
            best_lag=best_lag,
            findings=_findings(ccf, granger, best_lag, self.x, self.y, self.freq, self.alpha),
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
                }
                for g in self.granger
            ],
            "best_lag": self.best_lag,
            "lag_order": {"aic": self.lag_order_aic, "bic": self.lag_order_bic},
            "transforms": self.transforms,
            "alpha": self.alpha,
            "bh_tests": self.bh_tests,
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
            "lag_order_aic": self.lag_order_aic,
            "lag_order_bic": self.lag_order_bic,
            "transforms": self.transforms,
            "bh_tests": self.bh_tests,
        }

    def to_rows(self, run_id: str) -> list[dict[str, Any]]:
        """One ``analysis_results`` row per CCF lag and per Granger test.

        CCF rows: ``effect`` = r, ``statistic`` = its t value, CI = Fisher-z interval,
        ``direction`` = ''. Granger rows: ``statistic`` = F, ``direction`` = x->y or
        y->x, ``lag`` = number of lags in the test. ``n_obs`` is the number of
        observations that test used; ``params`` is a JSON string.
        """
        base = {
            "run_id": run_id,
            "x": self.x,
            "y": self.y,
            "freq": self.freq,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "params": json.dumps(self.params()),
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
                }
            )
        return rows


def _num(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _best_lag(ccf: Sequence[CcfPoint], alpha: float) -> int | None:
    """The lag with the largest |r| among adjusted-significant CCF lags."""
    significant = [c for c in ccf if not math.isnan(c.p_adj) and c.p_adj < alpha]
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


def _findings(
    result_ccf: list[CcfPoint],
    granger: list[GrangerPoint],
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
            f"p_adj={best.p_adj:.3g} (prewhitened series)"
        )
    for direction, (src, dst) in (("x->y", (x_name, y_name)), ("y->x", (y_name, x_name))):
        tested = [g for g in granger if g.direction == direction and g.p_adj < alpha]
        if tested:
            g = min(tested, key=lambda point: point.p_adj)
            lines.append(
                f"{src}->{dst} Granger test at lag {g.lag}: p_adj={g.p_adj:.3g} "
                f"(in this sample, {src}'s past adds information about {dst} beyond "
                f"{dst}'s own past; not a forecast test)"
            )
    if not lines:
        lines.append(
            f"no cross-correlation or Granger test is significant after Benjamini-Hochberg "
            f"adjustment (alpha={alpha:g})"
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
) -> LeadLagResult:
    if max_lag < 1:
        raise AnalysisError(f"max_lag must be at least 1, got {max_lag}")
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

    sx, x_info = _stationary(ax, x_name, alpha, notes)
    sy, y_info = _stationary(ay, y_name, alpha, notes)
    sx, sy = align_pair(sx, sy)
    if len(sx) < MIN_OBS:
        raise AnalysisError(f"only {len(sx)} observations left after differencing")
    xs = sx.to_numpy()
    ys = sy.to_numpy()

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
        xw, yw = xs - xs.mean(), ys - ys.mean()
        pw_info = {"applied": False}
        if not prewhiten:
            notes.append(
                "not prewhitened: the CCF bands assume white noise and may overstate significance"
            )
    n_used = int(xw.size)

    ccf_lag = min(max_lag, n_used - _MIN_PAIRS)
    granger_lag = min(max_lag, granger_max_lag(len(xs)))
    if ccf_lag < max_lag or granger_lag < max_lag:
        notes.append(
            f"too few observations for lag {max_lag}: CCF computed up to lag {max(ccf_lag, 0)}, "
            f"Granger up to lag {granger_lag}"
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

    raw = [c.p for c in ccf] + [g.p for g in granger]
    adjusted = benjamini_hochberg(raw)
    ccf = [replace(c, p_adj=p) for c, p in zip(ccf, adjusted[: len(ccf)], strict=True)]
    granger = [replace(g, p_adj=p) for g, p in zip(granger, adjusted[len(ccf) :], strict=True)]
    best_lag = _best_lag(ccf, alpha)

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
        lag_order_aic=aic,
        lag_order_bic=bic,
        transforms={"x": x_info, "y": y_info, "prewhiten": pw_info},
        warnings=tuple(notes),
        max_lag=max_lag,
        prewhitened=filtered is not None,
        n_stationary=len(xs),
        n_used=n_used,
        ccf_band=null_band(n_used),
        alpha=alpha,
        findings=_findings(ccf, granger, best_lag, x_name, y_name, freq, alpha),
        bh_tests=sum(1 for p in raw if not math.isnan(p)),
    )
