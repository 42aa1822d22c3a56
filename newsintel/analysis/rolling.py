"""Rolling correlation of two series: has their co-movement changed over time?"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from newsintel.analysis.calendar import complete
from newsintel.analysis.rows import RowContext, clean_float
from newsintel.analysis.screen import finite_pair
from newsintel.errors import AnalysisError

__all__ = ["RollingCorrelation", "RollingGranger", "rolling_correlation", "rolling_granger"]

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
    # Calendar periods without a complete pair (a missing value, or a difference that
    # would span a gap); 0 when the input was not on a calendar.
    lost_to_gaps: int = 0
    # Complete pairs in each window (labelled as ``points``); None: every window is full.
    counts: pd.Series | None = None

    def _bands(self) -> np.ndarray:
        """Each window's white-noise band, 1.96/sqrt(its complete pairs)."""
        if self.counts is None:
            return np.full(self.points.size, self.band)
        with np.errstate(divide="ignore"):
            return np.asarray(_Z95 / np.sqrt(self.counts.to_numpy(dtype="float64")))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; windows with an undefined r (a flat stretch, or too few
        complete pairs on a gapped calendar) are None."""
        return {
            "window": self.window,
            "n_obs": self.n_obs,
            "band": self.band,
            "periods": {"used": self.n_obs, "lost_to_gaps": self.lost_to_gaps},
            "points": [
                {"date": d.date().isoformat(), "r": None if math.isnan(r) else float(r)}
                for d, r in zip(
                    pd.DatetimeIndex(self.points.index), self.points.to_numpy(), strict=True
                )
            ],
            "warnings": list(self.warnings),
        }

    def summary(self) -> dict[str, Any]:
        """Windows, min/median/max r and the share of windows with |r| above their band
        (``band`` for a full window; a window with gaps has fewer pairs, a wider band)."""
        raw = self.points.to_numpy(dtype="float64")
        known = np.isfinite(raw)
        values = raw[known]
        above = np.abs(values) > self._bands()[known]
        return {
            "window": self.window,
            "n_windows": int(self.points.size),
            "n_defined": int(values.size),
            "r_min": clean_float(values.min()) if values.size else None,
            "r_median": clean_float(np.median(values)) if values.size else None,
            "r_max": clean_float(values.max()) if values.size else None,
            "share_significant": float(np.mean(above)) if values.size else None,
            "band": self.band,
            "lost_to_gaps": self.lost_to_gaps,
        }

    def to_rows(self, run_id: str, where: RowContext) -> list[dict[str, Any]]:
        """One ``rolling_corr`` row: ``lag`` = window, ``effect`` = median r,
        ``statistic`` = share of windows with |r| above the white-noise band,
        ``n_obs`` = aligned points; min/max r and every window's r are in ``params``.

        No p-value: the windows overlap, so their r values are not separate tests.
        """
        summary = self.summary()
        params = summary | {"points": self.to_dict()["points"]}
        return [
            where.row(
                run_id,
                "rolling_corr",
                self.window,
                n_obs=self.n_obs,
                statistic=summary["share_significant"],
                effect=summary["r_median"],
                params=params,
                warnings=self.warnings,
            )
        ]


def rolling_correlation(
    x: pd.Series, y: pd.Series, window: int, *, calendar: bool = False
) -> RollingCorrelation:
    """Correlation of ``x`` and ``y`` over each run of ``window`` common dates.

    Pass stationary inputs (returns, shares, differences): rolling correlations of
    trending levels are mostly spurious.

    ``calendar``: x and y are already on one full calendar (NaN marks a period without
    a value, or a difference whose either end is missing: ``analysis.calendar``), so a
    window is ``window`` calendar periods and uses only its complete pairs; a window
    with fewer than a third of its periods complete (and fewer than ``_MIN_WINDOW``)
    has no r: a handful of pairs in a year's window is no rolling estimate. Without
    it, the observed dates are taken as consecutive, whatever lies between them.
    """
    if window < _MIN_WINDOW:
        raise AnalysisError(f"rolling window must be at least {_MIN_WINDOW}, got {window}")
    if calendar:
        if not x.index.equals(y.index):
            raise AnalysisError("calendar series must share one index")
        known = pd.Series(complete(x.to_numpy(), y.to_numpy()), index=x.index)
        # The same periods missing on both sides, so each window's r is over its pairs.
        ax = x.astype("float64").where(known)
        ay = y.astype("float64").where(known)
        min_pairs = max(_MIN_WINDOW, window // 3)
    else:
        ax, ay = finite_pair(x, y)
        known = pd.Series(True, index=ax.index)
        min_pairs = window
    n_known = int(known.sum())
    if len(ax) < window:
        raise AnalysisError(
            f"only {len(ax)} common dates, fewer than the rolling window of {window}"
        )
    if n_known < min_pairs:
        raise AnalysisError(
            f"only {n_known} complete periods: too few for a rolling window of {window}"
        )
    counts = known.astype("float64").rolling(window).sum().iloc[window - 1 :]
    r = ax.rolling(window, min_periods=min_pairs).corr(ay).iloc[window - 1 :]
    # A window where one series is flat has no correlation; pandas may give +-inf or a
    # rounding artefact there, so set those to NaN explicitly.
    flat = (ax.rolling(window, min_periods=min_pairs).std().iloc[window - 1 :] == 0) | (
        ay.rolling(window, min_periods=min_pairs).std().iloc[window - 1 :] == 0
    )
    sparse = counts < min_pairs
    r = r.mask(flat | sparse | ~np.isfinite(r)).clip(-1.0, 1.0)
    notes = []
    if int(flat.sum()):
        notes.append(f"{int(flat.sum())} window(s) with a flat series have no correlation")
    lost = len(ax) - n_known
    if lost:
        notes.append(
            f"{lost} calendar period(s) have no complete pair (a missing value, or a "
            "difference that would span a gap); windows count calendar periods"
        )
    if int(sparse.sum()):
        notes.append(
            f"{int(sparse.sum())} window(s) with fewer than {min_pairs} complete pairs "
            "have no correlation"
        )
    return RollingCorrelation(
        points=r.astype("float64"),
        window=window,
        n_obs=n_known,
        band=_Z95 / math.sqrt(window),
        warnings=tuple(notes),
        lost_to_gaps=lost,
        counts=counts if calendar else None,
    )


@dataclass(frozen=True)
class RollingGranger:
    """Granger F-test p-values (``direction``, one ``lag``) over trailing windows.

    ``p_values`` is labelled by each window's last date. Overlapping windows reuse most
    of their data, so these p-values are a description of stability over time, not a
    family of independent tests; they are never adjusted or read one by one.
    """

    p_values: pd.Series
    window: int
    lag: int
    direction: str
    n_obs: int
    warnings: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        """Windows, min/median p and the share of windows with p < 0.05."""
        values = self.p_values.dropna().to_numpy()
        return {
            "direction": self.direction,
            "lag": self.lag,
            "window": self.window,
            "n_windows": int(self.p_values.size),
            "p_min": clean_float(values.min()) if values.size else None,
            "p_median": clean_float(np.median(values)) if values.size else None,
            "share_below_05": float(np.mean(values < 0.05)) if values.size else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary and every window's p-value."""
        return self.summary() | {
            "points": [
                {"date": d.date().isoformat(), "p": clean_float(p)}
                for d, p in zip(
                    pd.DatetimeIndex(self.p_values.index), self.p_values.to_numpy(), strict=True
                )
            ],
            "warnings": list(self.warnings),
        }

    def to_rows(self, run_id: str, where: RowContext) -> list[dict[str, Any]]:
        """One ``rolling_granger`` row: ``lag`` = the Granger lag, ``statistic`` = share
        of windows with p < 0.05, ``effect`` = median p; every window's p in ``params``.

        ``p_value`` stays empty on purpose: see the class docstring.
        """
        summary = self.summary()
        return [
            where.row(
                run_id,
                "rolling_granger",
                self.lag,
                direction=self.direction,
                n_obs=self.n_obs,
                statistic=summary["share_below_05"],
                effect=summary["p_median"],
                params=self.to_dict(),
                warnings=self.warnings,
            )
        ]


def _lagged(values: np.ndarray, lag: int) -> np.ndarray:
    """Columns values[t-1], ..., values[t-lag] for t = lag..n-1."""
    n = values.size
    return np.column_stack([values[lag - k : n - k] for k in range(1, lag + 1)])


def rolling_granger(
    x: pd.Series,
    y: pd.Series,
    *,
    window: int,
    lag: int,
    direction: str = "x->y",
    calendar: bool = False,
) -> RollingGranger:
    """Does x's past help predict y (``x->y``; ``y->x`` swaps them) in each window?

    The same SSR F test as statsmodels ``grangercausalitytests`` (restricted: constant
    and ``lag`` lags of the target; unrestricted: plus ``lag`` lags of the source), run
    by least squares on each run of ``window`` common dates. Pass stationary inputs.

    ``calendar``: x and y are already on one full calendar (NaN marks a period without
    a value, see ``newsintel.analysis.calendar``); windows are ``window`` calendar
    periods and each drops only the rows whose own or lagged values are missing.
    """
    from scipy import stats

    if direction not in ("x->y", "y->x"):
        raise AnalysisError(f"direction must be x->y or y->x, got {direction!r}")
    if lag < 1:
        raise AnalysisError(f"Granger lag must be at least 1, got {lag}")
    rows_per_window = window - lag
    df_denom = rows_per_window - 2 * lag - 1
    if df_denom < 1:
        raise AnalysisError(f"a window of {window} is too short for a Granger test at lag {lag}")
    if calendar:
        if not x.index.equals(y.index):
            raise AnalysisError("calendar series must share one index")
        ax, ay = x.astype("float64"), y.astype("float64")
    else:
        ax, ay = finite_pair(x, y)
    if len(ax) < window:
        raise AnalysisError(f"only {len(ax)} common dates, fewer than the window of {window}")
    source, target = (ax, ay) if direction == "x->y" else (ay, ax)
    sv, tv = source.to_numpy(dtype="float64"), target.to_numpy(dtype="float64")
    # Row i of these matrices predicts target[lag + i] from the lag values before it.
    own = _lagged(tv, lag)
    other = _lagged(sv, lag)
    goal = tv[lag:]
    ones = np.ones((goal.size, 1))
    restricted_all = np.hstack([ones, own])
    full_all = np.hstack([ones, own, other])
    complete_rows = np.isfinite(full_all).all(axis=1) & np.isfinite(goal)
    p_values = []
    for end in range(window, tv.size + 1):
        rows = np.arange(end - window, end - lag)
        rows = rows[complete_rows[rows]]
        yw = goal[rows]
        dfd = rows.size - 2 * lag - 1
        if dfd < 1:
            p_values.append(np.nan)
            continue
        try:
            with np.errstate(all="ignore"):
                rss_r = _rss(restricted_all[rows], yw)
                rss_u = _rss(full_all[rows], yw)
        except np.linalg.LinAlgError:
            # Values at the edge of float range defeat the SVD: no p-value here.
            rss_r = rss_u = math.nan
        if not rss_u > 0 or not math.isfinite(rss_r):
            p_values.append(np.nan)
            continue
        f_stat = ((rss_r - rss_u) / lag) / (rss_u / dfd)
        p_values.append(float(stats.f.sf(f_stat, lag, dfd)))
    index = pd.DatetimeIndex(ax.index)[window - 1 :]
    notes = []
    missing = int(np.isnan(p_values).sum())
    if missing:
        notes.append(f"{missing} window(s) fit perfectly or could not be fitted: no p-value")
    return RollingGranger(
        p_values=pd.Series(p_values, index=index, dtype="float64"),
        window=window,
        lag=lag,
        direction=direction,
        n_obs=int(complete_rows.sum()) + lag if calendar else len(ax),
        warnings=tuple(notes),
    )


def _rss(design: np.ndarray, target: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ coef
    return float(resid @ resid)
