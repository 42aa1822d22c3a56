"""Change points in the mean of a theme series, by binary segmentation.

Method (Scott & Knott 1974; reviewed in Killick & Eckley 2014, *changepoint* R paper):
the cost of a segment is its sum of squared deviations from its own mean. Starting from
the whole series, the split that lowers the total cost most is kept if the drop exceeds
a penalty of ``3 * sigma^2 * log(n)`` (a modified-BIC-like penalty), and each half is
searched again. ``sigma`` is first estimated from first differences with the median
absolute deviation, so the level shifts being sought do not inflate it, then once more
from the residuals around that first segmentation, and the search is redone. The
method assumes
roughly independent noise around piecewise-constant means: strong autocorrelation
produces spurious change points, which is why it is flagged in the warnings.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from newsintel.analysis.rows import RowContext
from newsintel.analysis.screen import finite_series
from newsintel.errors import AnalysisError

__all__ = ["ChangePoints", "Segment", "detect_change_points"]

_MAD_TO_SD = 1.4826
_MIN_OBS = 10


@dataclass(frozen=True)
class Segment:
    """A stretch of the series with one mean (``start`` and ``end`` inclusive)."""

    start: date
    end: date
    n: int
    mean: float


@dataclass(frozen=True)
class ChangePoints:
    """Detected changes: ``dates`` are the first dates of each new segment."""

    dates: tuple[date, ...]
    segments: tuple[Segment, ...]
    sigma: float
    penalty: float
    min_size: int
    method: str
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "dates": [d.isoformat() for d in self.dates],
            "segments": [
                {"start": s.start.isoformat(), "end": s.end.isoformat(), "n": s.n, "mean": s.mean}
                for s in self.segments
            ],
            "sigma": self.sigma,
            "penalty": self.penalty,
            "min_size": self.min_size,
            "method": self.method,
            "warnings": list(self.warnings),
        }

    def to_rows(self, run_id: str, where: RowContext) -> list[dict[str, Any]]:
        """``changepoint`` rows for the x series: lag 0 summarises (``statistic`` =
        number of change points, ``n_obs`` = points searched, every segment in
        ``params``); lag i = the i-th change, ``effect`` = mean after minus mean before,
        ``statistic`` = that shift in units of sigma, its date in ``params``.

        Binary segmentation gives no p-value; the penalty plays the part of a threshold.
        """
        n = sum(s.n for s in self.segments)
        rows = [
            where.row(
                run_id,
                "changepoint",
                0,
                n_obs=n,
                statistic=len(self.dates),
                params=self.to_dict(),
                warnings=self.warnings,
            )
        ]
        for i, (before, after) in enumerate(itertools.pairwise(self.segments), start=1):
            shift = after.mean - before.mean
            rows.append(
                where.row(
                    run_id,
                    "changepoint",
                    i,
                    n_obs=before.n + after.n,
                    statistic=shift / self.sigma if self.sigma else None,
                    effect=shift,
                    params={
                        "date": after.start.isoformat(),
                        "mean_before": before.mean,
                        "mean_after": after.mean,
                        "n_before": before.n,
                        "n_after": after.n,
                        "sigma": self.sigma,
                        "method": self.method,
                    },
                    warnings=self.warnings,
                )
            )
        return rows


def _best_split(values: np.ndarray, min_size: int) -> tuple[int, float]:
    """Split index and cost reduction of the best single change in mean."""
    n = values.size
    cums = np.cumsum(values)
    total = cums[-1]
    k = np.arange(min_size, n - min_size + 1)
    left = cums[k - 1]
    # Reduction in squared-error cost when splitting at k (a standard identity).
    gain = left**2 / k + (total - left) ** 2 / (n - k) - total**2 / n
    best = int(np.argmax(gain))
    return int(k[best]), float(gain[best])


def _segment(values: np.ndarray, penalty: float, min_size: int, max_changes: int) -> list[int]:
    """Binary segmentation: split indices (first index of each new segment), sorted."""
    splits: list[int] = []
    pending = [(0, values.size)]
    while pending and len(splits) < max_changes:
        start, end = pending.pop()
        if end - start < 2 * min_size:
            continue
        k, gain = _best_split(values[start:end], min_size)
        if gain > penalty:
            splits.append(start + k)
            pending.extend([(start, start + k), (start + k, end)])
    return sorted(splits)


def _residuals(values: np.ndarray, splits: list[int]) -> np.ndarray:
    bounds = [0, *splits, values.size]
    return np.concatenate([values[a:b] - values[a:b].mean() for a, b in itertools.pairwise(bounds)])


def detect_change_points(
    series: pd.Series,
    *,
    min_size: int = 5,
    max_changes: int = 10,
    penalty_factor: float = 3.0,
) -> ChangePoints:
    """Binary segmentation of ``series`` (already at its analysis frequency) on the mean."""
    clean = finite_series(series)
    values = clean.to_numpy()
    n = values.size
    if n < max(_MIN_OBS, 2 * min_size):
        raise AnalysisError(
            f"change-point detection needs at least {max(_MIN_OBS, 2 * min_size)} points, got {n}"
        )
    diffs = np.diff(values)
    sigma = _MAD_TO_SD * float(np.median(np.abs(diffs - np.median(diffs)))) / math.sqrt(2)
    if sigma == 0:
        sigma = float(np.std(values))
    if sigma == 0:
        raise AnalysisError("the series is constant; it has no change points")
    splits = _segment(values, penalty_factor * sigma**2 * math.log(n), min_size, max_changes)
    # The difference-based sigma is robust but noisy; re-estimate it from the residuals
    # around the first segmentation (the Gaussian MLE given the segments) and redo the
    # search once with that.
    pooled = _residuals(values, splits)
    if pooled.size > len(splits) + 1 and np.std(pooled) > 0:
        sigma = float(np.sqrt(np.sum(pooled**2) / (n - len(splits) - 1)))
        splits = _segment(values, penalty_factor * sigma**2 * math.log(n), min_size, max_changes)
    penalty = penalty_factor * sigma**2 * math.log(n)

    bounds = [0, *splits, n]
    index = pd.DatetimeIndex(clean.index)
    segments = tuple(
        Segment(index[a].date(), index[b - 1].date(), b - a, float(values[a:b].mean()))
        for a, b in itertools.pairwise(bounds)
    )
    notes = []
    residuals = _residuals(values, splits)
    if residuals.size > 2 and np.std(residuals) > 0:
        rho = float(np.corrcoef(residuals[:-1], residuals[1:])[0, 1])
        if rho > 0.5:
            notes.append(
                f"residuals are strongly autocorrelated (lag-1 r={rho:.2f}); "
                "some change points may be spurious"
            )
    return ChangePoints(
        dates=tuple(index[s].date() for s in splits),
        segments=segments,
        sigma=sigma,
        penalty=penalty,
        min_size=min_size,
        method=f"binary segmentation on the mean, penalty {penalty_factor:g}*sigma^2*log(n)",
        warnings=tuple(notes),
    )
