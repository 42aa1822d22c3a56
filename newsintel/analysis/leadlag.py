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

import math
from collections.abc import Sequence
from dataclasses import replace
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
from newsintel.analysis.leadlag_result import LeadLagResult, best_lag_of, judge_fragile, num
from newsintel.analysis.leadlag_words import findings_lines, headline
from newsintel.analysis.multiple import benjamini_hochberg
from newsintel.analysis.prewhiten import prewhiten as prewhiten_pair
from newsintel.analysis.robust import robust_corr_p_leave_one_out
from newsintel.analysis.screen import screen_pair
from newsintel.analysis.stationarity import make_stationary
from newsintel.analysis.threads import one_blas_thread
from newsintel.errors import AnalysisError

__all__ = ["MIN_OBS", "LeadLagResult", "lead_lag"]

MIN_OBS = 10
# Below these sizes the tests run but deserve a warning.
_SMALL_N = 30
_OBS_PER_LAG = 4
# Each CCF lag keeps at least this many pairs, so r is not computed on a handful.
_MIN_PAIRS = 10


def _influence(
    xw: np.ndarray, yw: np.ndarray, ccf: Sequence[CcfPoint], dates: pd.DatetimeIndex
) -> dict[str, Any] | None:
    """Leave-one-period-out robust p-values of the CCF lag with the smallest robust p.

    Each overlapping pair (x_t, y_t+k) is dropped in turn and the robust p refitted
    (``robust_corr_p_leave_one_out``); ``dates[i]`` labels pair i by x's period.
    ``p_range`` is the smallest and largest of those p; ``fragile`` is decided once
    the run's adjustment is known (``judge_fragile``).
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


def _checked_pair(
    x: pd.Series, y: pd.Series, x_name: str, y_name: str, notes: list[str]
) -> tuple[pd.Series, pd.Series]:
    ax, ay, screened = screen_pair(x, y, x_name=x_name, y_name=y_name, min_obs=MIN_OBS)
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
                "p": num(point.p),
                "p_robust": num(point.p_robust),
                "robust": point.robust,
            }
    return out or None


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
    best_lag = best_lag_of(ccf, alpha)
    # Prewhitening drops the AR order's first points; pair i of each lag is then
    # labelled by x's period.
    dates = pd.DatetimeIndex(sx.index)[len(xs) - xw.size :]
    influence = judge_fragile(_influence(xw, yw, ccf, dates), ccf, alpha)

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
        best_lag_classic=best_lag_of(ccf, alpha, robust=False),
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
        findings=headline(primary, oos, x_name, y_name, alpha)
        + findings_lines(ccf, granger, best_lag, x_name, y_name, freq, alpha),
        primary=primary,
        oos=oos,
        bh_tests=sum(1 for p in raw if not math.isnan(p)),
        influence=influence,
        robust_tests=sum(1 for p in robust_raw if not math.isnan(p)),
    )
