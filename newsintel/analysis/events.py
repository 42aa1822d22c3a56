"""Event study: how does y (e.g. returns) behave around spikes in x (e.g. coverage)?

Events are the periods where x exceeds its mean by ``threshold`` standard deviations;
a spike within ``post`` periods of the previous event belongs to that event and is
skipped, so overlapping windows do not count one episode twice. The abnormal value of
y is y minus its mean outside all event windows (a constant-mean model, the simplest
one in MacKinlay 1997, "Event studies in economics and finance"). The cumulative
abnormal value (CAR) runs from ``-pre`` to each offset and is averaged over events;
its 95% interval comes from resampling events with replacement (seeded bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from newsintel.analysis.rows import RowContext
from newsintel.analysis.screen import finite_pair
from newsintel.errors import AnalysisError, SeriesError

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
    std = float(values.std())
    if std == 0:
        raise AnalysisError("x is constant; it has no spikes")
    cut = values.mean() + threshold * std
    events: list[int] = []
    for i in np.flatnonzero(values > cut):
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
) -> EventStudy:
    """Average cumulative abnormal ``y`` around spikes of ``x`` with a bootstrap CI.

    Raises AnalysisError when fewer than two complete event windows exist.
    """
    if pre < 0 or post < 1:
        raise AnalysisError("event window needs pre >= 0 and post >= 1")
    try:
        ax, ay = finite_pair(x, y)
    except SeriesError as exc:
        raise AnalysisError(str(exc)) from exc
    xv, yv = ax.to_numpy(), ay.to_numpy()
    events = _spikes(xv, threshold, pre, post)
    if len(events) < 2:
        raise AnalysisError(
            f"only {len(events)} spike(s) of {x_name} above {threshold:g} standard deviations "
            "with a full window; lower the threshold or use a longer series"
        )
    in_window = np.zeros(yv.size, dtype=bool)
    for e in events:
        in_window[e - pre : e + post + 1] = True
    if in_window.all():
        raise AnalysisError("event windows cover the whole series; no baseline left")
    baseline = float(yv[~in_window].mean())
    abnormal = np.stack([yv[e - pre : e + post + 1] - baseline for e in events])
    car_paths = np.cumsum(abnormal, axis=1)

    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(events), size=(n_boot, len(events)))
    boot_means = car_paths[draws].mean(axis=1)
    low, high = np.percentile(boot_means, [2.5, 97.5], axis=0)

    notes = []
    if len(events) < _FEW_EVENTS:
        notes.append(f"only {len(events)} events: the bootstrap interval is rough")
    index = pd.DatetimeIndex(ax.index)
    return EventStudy(
        x=x_name,
        y=y_name,
        events=tuple(index[e].date() for e in events),
        offsets=tuple(range(-pre, post + 1)),
        car=tuple(float(v) for v in car_paths.mean(axis=0)),
        ci_low=tuple(float(v) for v in low),
        ci_high=tuple(float(v) for v in high),
        threshold=threshold,
        baseline_mean=baseline,
        n_boot=n_boot,
        seed=seed,
        warnings=tuple(notes),
    )
