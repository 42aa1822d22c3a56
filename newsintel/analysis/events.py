"""Event study: how does y (e.g. returns) behave around spikes in x (e.g. coverage)?

Events are the periods where x exceeds its mean by ``threshold`` standard deviations;
a spike within ``post`` periods of the previous event belongs to that event and is
skipped, so overlapping windows do not count one episode twice. The abnormal value of
y is y minus its mean outside all event windows (a constant-mean model, the simplest
one in MacKinlay 1997, "Event studies in economics and finance"). The cumulative
abnormal value (CAR) runs from ``-pre`` to each offset and is averaged over events;
its 95% interval comes from resampling events with replacement (seeded bootstrap).

Offsets are calendar periods: with ``freq`` given, the pair is placed on the full
calendar first (``calendar.on_calendar``), so offset +2 is two weeks after the spike
even when a week between has no value. A period without a y value inside a window
leaves that event out of that offset's mean only (the mean abnormal value per offset
is taken over the events with a value there, then cumulated); ``lost_to_gaps`` counts
those event-offset cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from newsintel.analysis.calendar import on_calendar
from newsintel.analysis.rows import RowContext
from newsintel.analysis.screen import finite_pair
from newsintel.errors import AnalysisError

__all__ = ["EventStudy", "event_study"]

# With fewer events the bootstrap interval is too rough to read.
_FEW_EVENTS = 10


@dataclass(frozen=True)
class EventStudy:
    """Mean cumulative abnormal y at offsets -pre..post around x spikes, with 95% CI."""

    x: str
    y: str
    events: tuple[date, ...]
    offsets: tuple[int, ...]
    car: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    threshold: float
    baseline_mean: float
    n_boot: int
    seed: int
    warnings: tuple[str, ...]
    # Event-offset cells without a y value (a calendar period missing in the window).
    lost_to_gaps: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "x": self.x,
            "y": self.y,
            "events": [d.isoformat() for d in self.events],
            "car": [
                {"offset": k, "car": c, "ci": [lo, hi]}
                for k, c, lo, hi in zip(
                    self.offsets, self.car, self.ci_low, self.ci_high, strict=True
                )
            ],
            "threshold": self.threshold,
            "baseline_mean": self.baseline_mean,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "lost_to_gaps": self.lost_to_gaps,
            "warnings": list(self.warnings),
        }

    def to_rows(self, run_id: str, where: RowContext) -> list[dict[str, Any]]:
        """One ``event_car`` row per offset (``lag``, -pre..post; direction ``x->y``:
        y around x spikes): ``effect`` = mean CAR, ``ci_low``/``ci_high`` = bootstrap
        95% interval, ``n_obs`` = number of events; event dates and settings in
        ``params``. No p-value: the interval is the inference.
        """
        params = {
            "events": [d.isoformat() for d in self.events],
            "pre": -self.offsets[0],
            "post": self.offsets[-1],
            "threshold_sd": self.threshold,
            "baseline_mean": self.baseline_mean,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "lost_to_gaps": self.lost_to_gaps,
        }
        return [
            where.row(
                run_id,
                "event_car",
                offset,
                direction="x->y",
                n_obs=len(self.events),
                effect=car,
                ci_low=low,
                ci_high=high,
                params=params,
                warnings=self.warnings,
            )
            for offset, car, low, high in zip(
                self.offsets, self.car, self.ci_low, self.ci_high, strict=True
            )
        ]


def _spikes(values: np.ndarray, threshold: float, pre: int, post: int) -> list[int]:
    """Calendar positions of the spikes (NaN periods are none) with a full window."""
    known = values[np.isfinite(values)]
    std = float(known.std())
    if std == 0:
        raise AnalysisError("x is constant; it has no spikes")
    cut = known.mean() + threshold * std
    events: list[int] = []
    for i in np.flatnonzero(np.nan_to_num(values, nan=-np.inf) > cut):
        in_range = pre <= i < values.size - post
        if in_range and (not events or i - events[-1] > post):
            events.append(int(i))
    return events


def event_study(
    x: pd.Series,
    y: pd.Series,
    *,
    x_name: str,
    y_name: str,
    pre: int = 4,
    post: int = 8,
    threshold: float = 2.0,
    n_boot: int = 2000,
    seed: int = 0,
    freq: str | None = None,
) -> EventStudy:
    """Average cumulative abnormal ``y`` around spikes of ``x`` with a bootstrap CI.

    ``freq`` (D, W, M) places the pair on its calendar so that offsets count calendar
    periods; without it offsets count the common dates. Raises AnalysisError when
    fewer than two event windows fit in the series.
    """
    if pre < 0 or post < 1:
        raise AnalysisError("event window needs pre >= 0 and post >= 1")
    ax, ay = finite_pair(x, y)
    if freq is not None:
        ax, ay = on_calendar(ax, ay, freq)
    xv, yv = ax.to_numpy(dtype="float64"), ay.to_numpy(dtype="float64")
    events = _spikes(xv, threshold, pre, post)
    if len(events) < 2:
        raise AnalysisError(
            f"only {len(events)} spike(s) of {x_name} above {threshold:g} standard deviations "
            "with a full window; lower the threshold or use a longer series"
        )
    in_window = np.zeros(yv.size, dtype=bool)
    for e in events:
        in_window[e - pre : e + post + 1] = True
    outside = yv[~in_window & np.isfinite(yv)]
    if outside.size == 0:
        raise AnalysisError("event windows cover the whole series; no baseline left")
    baseline = float(outside.mean())
    abnormal = np.stack([yv[e - pre : e + post + 1] - baseline for e in events])
    known = np.isfinite(abnormal)
    empty = np.flatnonzero(~known.any(axis=0))
    if empty.size:
        raise AnalysisError(
            f"no event has a value of y at offset {int(empty[0]) - pre:+d}: every window "
            "has a missing period there"
        )
    car = np.cumsum(_mean_by_offset(abnormal), axis=-1)

    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(events), size=(n_boot, len(events)))
    boot_means = np.cumsum(_mean_by_offset(abnormal[draws]), axis=-1)
    # A resample whose events all miss one offset has no mean there; it is left out.
    if np.isnan(boot_means).all(axis=0).any():
        raise AnalysisError("too few events with a value at every offset for an interval")
    low, high = np.nanpercentile(boot_means, [2.5, 97.5], axis=0)

    notes = []
    lost = int((~known).sum())
    if lost:
        notes.append(
            f"{lost} event-offset cell(s) fall in periods without a value of y; each "
            "offset's mean uses the events with a value there"
        )
    if len(events) < _FEW_EVENTS:
        notes.append(f"only {len(events)} events: the bootstrap interval is rough")
    index = pd.DatetimeIndex(ax.index)
    return EventStudy(
        x=x_name,
        y=y_name,
        events=tuple(index[e].date() for e in events),
        offsets=tuple(range(-pre, post + 1)),
        car=tuple(float(v) for v in car),
        ci_low=tuple(float(v) for v in low),
        ci_high=tuple(float(v) for v in high),
        threshold=threshold,
        baseline_mean=baseline,
        n_boot=n_boot,
        seed=seed,
        warnings=tuple(notes),
        lost_to_gaps=lost,
    )


def _mean_by_offset(abnormal: np.ndarray) -> np.ndarray:
    """Mean over events (the second-last axis) of the known abnormal values; NaN
    where no event has one. Without gaps, its cumulative sum is the mean CAR path."""
    known = np.isfinite(abnormal)
    counts = known.sum(axis=-2)
    totals = np.where(known, abnormal, 0.0).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
