"""Every statistic of one x/y pair in one result, and the run-wide p-value adjustment.

``analyze_pair`` runs lead/lag (CCF and Granger tests) and, beside it, the descriptive
statistics: rolling correlation and rolling Granger p-values (is the relation stable?),
change points in x (did attention shift level?), an event study of y around x spikes
and the VAR impulse responses. A statistic that cannot be computed on the data (too
few points, no spikes) is left out with a warning saying why; lead/lag itself must run.

Only CCF and Granger tests carry p-values that enter the Benjamini-Hochberg adjustment;
``adjust_run`` applies it once over every such p-value of a run (all pairs), so a
result's ``p_adj`` reflects everything tested together with it. The other statistics
are estimates with intervals (event study, impulse response) or descriptions
(rolling, change points); their intervals are not adjusted for multiplicity.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from newsintel.analysis.calendar import on_calendar, periods_between
from newsintel.analysis.changepoints import ChangePoints, detect_change_points
from newsintel.analysis.events import EventStudy, event_study
from newsintel.analysis.irf import ImpulseResponse, var_impulse_response
from newsintel.analysis.leadlag import MIN_OBS, LeadLagResult, lead_lag
from newsintel.analysis.multiple import benjamini_hochberg
from newsintel.analysis.regimes import regimes
from newsintel.analysis.rolling import (
    RollingCorrelation,
    RollingGranger,
    rolling_correlation,
    rolling_granger,
)
from newsintel.analysis.rows import RowContext
from newsintel.analysis.screen import NotAnalysable, screen_pair
from newsintel.analysis.stationarity import check_stationarity
from newsintel.analysis.threads import one_blas_thread
from newsintel.errors import AnalysisError, NewsintelError
from newsintel.series.align import align_pair

__all__ = ["PairAnalysis", "PairResult", "adjust_run", "analyze_pair"]

T = TypeVar("T")

# What numerical code raises on degenerate data (statsmodels' KPSS: OverflowError;
# singular designs: LinAlgError; shape checks: ValueError). Caught per statistic and
# per pair, so one pair's data never stops a run; anything else is a bug and surfaces.
NUMERIC_FAILURES: tuple[type[Exception], ...] = (
    NewsintelError,
    ArithmeticError,
    ValueError,
    np.linalg.LinAlgError,
)

# Per frequency: rolling window, event window (pre, post) and change-point minimum
# segment, in periods. About a year of weeks or two of months per rolling window; an
# event window of a month before and two after for weekly data.
_ROLLING_WINDOW = {"D": 120, "W": 52, "M": 24}
_EVENT_WINDOW = {"D": (5, 20), "W": (4, 8), "M": (2, 6)}
_MIN_SEGMENT = {"D": 20, "W": 8, "M": 4}
_SPIKE_SD = 2.0
_N_BOOT = 2000
# Fewer windows than this make a rolling summary meaningless.
_MIN_WINDOWS = 5
# Resampling fewer events than this gives a handful of possible means, not an interval.
_MIN_EVENTS = 5
_MIN_ROLLING = 12


@dataclass(frozen=True)
class PairAnalysis:
    """Lead/lag of one pair plus the descriptive statistics computed on the same data.

    ``None`` marks a statistic that could not be computed; ``skipped`` says why. ``inputs``
    names the transform behind each variable (e.g. weekly log returns).
    """

    lead_lag: LeadLagResult
    rolling: RollingCorrelation | None
    rolling_granger: RollingGranger | None
    change_points: ChangePoints | None
    event_study: EventStudy | None
    irf: ImpulseResponse | None
    settings: dict[str, Any]
    skipped: tuple[str, ...]
    # What screening the inputs noticed (left-out periods, sparse series).
    notes: tuple[str, ...] = ()
    # The x->y relation per regime and the test of change (``regimes.regimes``).
    regimes: dict[str, Any] | None = None

    analysable = True

    @property
    def x(self) -> str:
        return self.lead_lag.x

    @property
    def y(self) -> str:
        return self.lead_lag.y

    @property
    def best_lag(self) -> int | None:
        return self.lead_lag.best_lag

    @property
    def warnings(self) -> tuple[str, ...]:
        """Screening notes, lead/lag warnings, then why any statistic was left out."""
        return self.notes + self.lead_lag.warnings + self.skipped

    def p_values(self) -> list[float]:
        """The p-values that enter the run's adjustment (CCF, then Granger)."""
        return self.lead_lag.p_values()

    def with_p_adj(self, adjusted: Sequence[float], bh_tests: int) -> PairAnalysis:
        """A copy with run-wide adjusted p-values (see ``adjust_run``)."""
        return replace(self, lead_lag=self.lead_lag.with_p_adj(adjusted, bh_tests))

    def robust_p_values(self) -> list[float]:
        """The robust p-values, the run's second BH family (see ``adjust_run``)."""
        return self.lead_lag.robust_p_values()

    def with_robust_adj(self, adjusted: Sequence[float], tests: int) -> PairAnalysis:
        """A copy with run-wide adjusted robust p-values."""
        return replace(self, lead_lag=self.lead_lag.with_robust_adj(adjusted, tests))

    def to_dict(self) -> dict[str, Any]:
        """Lead/lag keys (x, y, freq, n_obs, ccf, granger, best_lag, warnings, ...) plus
        ``rolling``, ``change_points``, ``event_study`` and ``irf`` (null when skipped)."""
        data = self.lead_lag.to_dict()
        data["analysable"] = True
        data["warnings"] = list(self.warnings)
        rolling: dict[str, Any] | None = None
        if self.rolling is not None:
            rolling = self.rolling.summary() | {
                "lag": 0,
                "points": self.rolling.to_dict()["points"],
                "granger": self.rolling_granger.to_dict() if self.rolling_granger else None,
                "warnings": list(self.rolling.warnings),
            }
        data["rolling"] = rolling
        data["change_points"] = self.change_points.to_dict() if self.change_points else None
        data["event_study"] = self.event_study.to_dict() if self.event_study else None
        data["irf"] = self.irf.to_dict() if self.irf else None
        data["regimes"] = self.regimes
        data["settings"] = self.settings
        return data

    def to_rows(self, run_id: str) -> list[dict[str, Any]]:
        """Every ``analysis_results`` row of this pair: ccf, granger, rolling_corr,
        rolling_granger, changepoint, event_car and irf."""
        ll = self.lead_lag
        where = RowContext(ll.x, ll.y, ll.freq, ll.window_start, ll.window_end)
        rows = ll.to_rows(run_id)
        for part in (
            self.rolling,
            self.rolling_granger,
            self.change_points,
            self.event_study,
            self.irf,
        ):
            if part is not None:
                rows.extend(part.to_rows(run_id, where))
        return rows


# A pair's result: the analysis, or the reason its data could not carry one.
PairResult = PairAnalysis | NotAnalysable


def adjust_run(analyses: Sequence[PairResult]) -> list[PairResult]:
    """Benjamini-Hochberg once over every p-value of every pair in a run, in two
    families: the classic p-values, and the robust ones (HAC CCF, HC3/HAC Granger)."""
    pvalues = [p for a in analyses for p in a.p_values()]
    adjusted = benjamini_hochberg(pvalues)
    tested = sum(1 for p in pvalues if not math.isnan(p))  # a test not run is NaN
    robust = [p for a in analyses for p in a.robust_p_values()]
    robust_adj = benjamini_hochberg(robust)
    robust_tested = sum(1 for p in robust if not math.isnan(p))
    out: list[PairResult] = []
    start = 0
    for analysis in analyses:
        size = len(analysis.p_values())
        one = analysis.with_p_adj(adjusted[start : start + size], tested)
        out.append(one.with_robust_adj(robust_adj[start : start + size], robust_tested))
        start += size
    return out


def _calendar_diff(series: pd.Series, times: int) -> pd.Series:
    """``times`` differences on the calendar (NaN next to a period without a value)."""
    out = series.astype("float64")
    for _ in range(times):
        out = out.diff()
    return out


def _attempt(what: str, skipped: list[str], compute: Callable[[], T]) -> T | None:
    """Run one descriptive statistic; when the data defeat it, record why and go on."""
    try:
        return compute()
    except NUMERIC_FAILURES as exc:
        skipped.append(f"{what} skipped: {_reason(exc)}")
        return None


def _reason(exc: Exception) -> str:
    """Our errors carry user-facing messages; a library's gets its type named."""
    return str(exc) if isinstance(exc, NewsintelError) else f"{type(exc).__name__}: {exc}"


def _window(x: pd.Series, y: pd.Series) -> tuple[int, Any, Any]:
    """Common dates and their first and last day, as far as the input allows."""
    try:
        common = pd.DatetimeIndex(x.index).intersection(pd.DatetimeIndex(y.index))
    except (TypeError, ValueError):
        return 0, None, None
    if common.empty:
        return 0, None, None
    return len(common), common.min().date(), common.max().date()


def _best_granger_lag(result: LeadLagResult) -> int | None:
    tests = [g for g in result.granger if g.direction == "x->y" and not math.isnan(g.p)]
    return min(tests, key=lambda g: g.p).lag if tests else None


def analyze_pair(
    x: pd.Series,
    y: pd.Series,
    *,
    max_lag: int,
    x_name: str,
    y_name: str,
    freq: str,
    x_input: str = "",
    y_input: str = "",
    seed: int = 0,
    criterion: str = "aic",
    split: date | None = None,
) -> PairResult:
    """Lead/lag of ``x`` and ``y`` (already at ``freq``) plus the descriptive statistics.

    ``x_input``/``y_input`` describe how each series was made (reported with the
    transforms). Never raises on the data: a pair that screening rejects, or on which
    lead/lag itself fails, comes back as ``NotAnalysable`` with the reason.
    """
    if max_lag < 1:
        raise AnalysisError(f"max_lag must be at least 1, got {max_lag}")
    try:
        ax, ay, notes = screen_pair(x, y, x_name=x_name, y_name=y_name, min_obs=MIN_OBS)
    except AnalysisError as exc:
        n, start, end = _window(x, y)
        return NotAnalysable(x_name, y_name, freq, str(exc), n, start, end)
    try:
        # Degenerate windows make numpy warn (0/0, overflow) where the result is then
        # discarded or flagged; the warnings list says what matters, not stderr.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = _analyze(
                ax,
                ay,
                max_lag=max_lag,
                x_name=x_name,
                y_name=y_name,
                freq=freq,
                x_input=x_input,
                y_input=y_input,
                seed=seed,
                criterion=criterion,
                split=split,
            )
    except NUMERIC_FAILURES as exc:
        return NotAnalysable(
            x_name,
            y_name,
            freq,
            _reason(exc),
            len(ax),
            ax.index[0].date(),
            ax.index[-1].date(),
            tuple(notes),
        )
    periods, gap_note = _periods(x, y, ax, freq, result.lead_lag)
    notes.extend(gap_note)
    return replace(result, notes=tuple(notes), lead_lag=replace(result.lead_lag, periods=periods))


# Partial first/last periods are dropped, never scaled by coverage: a price's partial
# period has no period close to take a return from (scaling cannot make one), and
# scaling a partial week's story share assumes stories spread evenly over the days.
PARTIAL_RULE = "dropped"


def _periods(
    x: pd.Series, y: pd.Series, joined: pd.Series, freq: str, result: LeadLagResult
) -> tuple[dict[str, Any], list[str]]:
    """How many periods the tests used and where the others went.

    ``partial`` says what happened to the partial first/last periods counted in
    ``dropped_partial``: "dropped" (they are never scaled by coverage).

    ``lost_to_gaps``: calendar periods of the common window with no stationary pair,
    i.e. the periods missing in either series plus the differences next to them (a
    difference across a gap is no one-period change); the first periods that only
    seed the differences are not counted. Each test's own count (``n_pairs``,
    ``n_obs``) further drops the rows whose lagged values fall in a gap.
    """
    union = pd.DatetimeIndex(x.dropna().index).union(pd.DatetimeIndex(y.dropna().index))
    index = pd.DatetimeIndex(joined.index)
    calendar = periods_between(index[0], index[-1], freq)
    seeds = max(int(result.transforms[side]["differences"]) for side in ("x", "y"))
    missing = max(0, calendar - len(index))
    gaps = max(0, calendar - seeds - result.n_stationary)
    dropped = int(x.attrs.get("dropped_partial", 0)) + int(y.attrs.get("dropped_partial", 0))
    periods: dict[str, Any] = {
        "used": len(index),
        "dropped_partial": dropped,
        "partial": PARTIAL_RULE,
        "lost_to_gaps": gaps,
        "lost_to_join": len(union) - len(index),
    }
    notes = []
    if dropped:
        notes.append(
            f"{dropped} partial first or last period(s) (covered by the data only in part) "
            "were dropped, not scaled by coverage"
        )
    if missing:
        notes.append(
            f"{missing} calendar period(s) inside the common window have no value in one "
            f"of the series; lags are calendar lags, so no lag spans them, and {gaps} "
            "period(s) of the differenced pair are lost to them"
        )
    return periods, notes


@one_blas_thread()
def _analyze(
    x: pd.Series,
    y: pd.Series,
    *,
    max_lag: int,
    x_name: str,
    y_name: str,
    freq: str,
    x_input: str,
    y_input: str,
    seed: int,
    criterion: str,
    split: date | None,
) -> PairAnalysis:
    result = lead_lag(
        x, y, max_lag=max_lag, x_name=x_name, y_name=y_name, freq=freq, criterion=criterion
    )
    ax, ay = align_pair(x, y)
    # State both tests before and after differencing, so a reader sees why it was done.
    transforms = dict(result.transforms)
    for side, series, described in (("x", ax, x_input), ("y", ay, y_input)):
        transforms[side] = {
            "input": described,
            "stationarity_input": check_stationarity(series).to_dict(),
            **transforms[side],
        }
    result = replace(result, transforms=transforms)

    n_stationary = result.n_stationary
    skipped: list[str] = []
    # The stationary pair lead/lag tested (rolling statistics, regimes and the event
    # study on trending levels would mostly measure the trends), on the full calendar:
    # NaN where a period has no value or a difference would span a gap, so no
    # difference and no lag of any statistic below reaches across a gap.
    cx, cy = on_calendar(ax, ay, freq)
    seeds = max(int(transforms[s]["differences"]) for s in ("x", "y"))
    cx = _calendar_diff(cx, int(transforms["x"]["differences"])).iloc[seeds:]
    cy = _calendar_diff(cy, int(transforms["y"]["differences"])).iloc[seeds:]

    window = min(_ROLLING_WINDOW.get(freq, 52), n_stationary - _MIN_WINDOWS + 1)
    rolling: RollingCorrelation | None = None
    rolling_g: RollingGranger | None = None
    granger_lag = _best_granger_lag(result)
    if window < _MIN_ROLLING:
        skipped.append(
            f"rolling statistics skipped: {n_stationary} points leave no room for "
            f"{_MIN_WINDOWS} windows of at least {_MIN_ROLLING}"
        )
    else:
        rolling = _attempt(
            "rolling correlation",
            skipped,
            lambda: rolling_correlation(cx, cy, window, calendar=True),
        )
        if granger_lag is not None:
            lag = granger_lag
            # Calendar lags, as in the Granger tests themselves.
            rolling_g = _attempt(
                "rolling Granger",
                skipped,
                lambda: rolling_granger(cx, cy, window=window, lag=lag, calendar=True),
            )

    min_size = _MIN_SEGMENT.get(freq, 5)
    change_points = _attempt(
        "change points", skipped, lambda: detect_change_points(ax, min_size=min_size)
    )
    pre, post = _EVENT_WINDOW.get(freq, (4, 8))
    events = _attempt(
        "event study",
        skipped,
        lambda: event_study(
            cx,
            cy,
            x_name=x_name,
            y_name=y_name,
            pre=pre,
            post=post,
            threshold=_SPIKE_SD,
            n_boot=_N_BOOT,
            seed=seed,
            freq=freq,
        ),
    )
    if events is not None and len(events.events) < _MIN_EVENTS:
        skipped.append(
            f"event study skipped: only {len(events.events)} spikes of {x_name} "
            f"(fewer than {_MIN_EVENTS}); a bootstrap over so few events is no interval"
        )
        events = None
    primary = (result.primary or {}).get("x->y")
    regime_split: dict[str, Any] | None = None
    if primary is not None:
        breaks = (
            [split] if split is not None else list(change_points.dates if change_points else [])
        )
        source = "--split" if split is not None else "change points of x"
        if breaks:
            regime_lag = int(primary["lag"])
            regime_split = _attempt(
                "regimes",
                skipped,
                lambda: regimes(cx, cy, lag=regime_lag, breaks=breaks, source=source),
            )
    irf = _attempt(
        "impulse response",
        skipped,
        lambda: var_impulse_response(
            ax, ay, x_name=x_name, y_name=y_name, freq=freq, periods=max_lag
        ),
    )
    settings = {
        "rolling": {"window": window, "corr_lag": 0, "granger_lag": granger_lag},
        "change_points": {"series": "x", "min_size": min_size, "input": "x before differencing"},
        "event_study": {
            "pre": pre,
            "post": post,
            "threshold_sd": _SPIKE_SD,
            "n_boot": _N_BOOT,
            "seed": seed,
            "input": "stationary x and y",
            "offsets": "calendar periods",
        },
        "irf": {"periods": max_lag, "orth": False, "lags": "calendar periods"},
    }
    return PairAnalysis(
        lead_lag=result,
        rolling=rolling,
        rolling_granger=rolling_g,
        change_points=change_points,
        event_study=events,
        irf=irf,
        settings=settings,
        skipped=tuple(skipped),
        regimes=regime_split,
    )
