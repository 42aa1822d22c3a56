"""Emerging topics: is a topic's latest period above its own baseline?

Each topic's count in the latest period is compared with what its earlier periods
predict. With the total number of stories per period, the prediction is the topic's
earlier share of all stories times the latest period's total, so a quiet month (or a
month that has only just begun) is not mistaken for a fall, nor a busy one for a rise.
The count is treated as Poisson with that mean: the one-sided p-value is
P(X >= count). A topic with no history gets a small floor as its mean, so a new topic
with many stories counts as emerging while one with a single story does not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

ALPHA = 0.01
MIN_COUNT = 3
FLOOR = 0.5


@dataclass(frozen=True)
class Emergence:
    """How one topic's latest period compares with its baseline."""

    topic_id: str
    latest: int  # stories in the latest period
    expected: float | None  # stories the baseline predicts for it
    baseline_mean: float | None  # mean stories per earlier period
    baseline_sd: float | None
    growth: float | None  # (latest + 1) / (expected + 1)
    z: float | None  # (latest - expected) / sqrt(expected)
    p_value: float | None  # one-sided Poisson P(X >= latest); None without a baseline
    emerging: bool


def emergence(
    counts: Mapping[str, Sequence[int]],
    totals: Sequence[int] | None = None,
    *,
    alpha: float = ALPHA,
    min_count: int = MIN_COUNT,
    floor: float = FLOOR,
) -> dict[str, Emergence]:
    """Score every topic; ``counts[topic]`` and ``totals`` are per period, oldest first."""
    from scipy.stats import poisson

    result: dict[str, Emergence] = {}
    for topic_id, series in counts.items():
        values = [int(v) for v in series]
        if not values:
            continue
        latest, earlier = values[-1], values[:-1]
        if not earlier:
            result[topic_id] = Emergence(
                topic_id, latest, None, None, None, None, None, None, False
            )
            continue
        mean = sum(earlier) / len(earlier)
        sd = math.sqrt(sum((v - mean) ** 2 for v in earlier) / max(len(earlier) - 1, 1))
        if totals is not None and sum(totals[:-1]) > 0:
            expected = sum(earlier) / sum(totals[:-1]) * totals[-1]
        else:
            expected = mean
        lam = max(expected, floor)
        p_value = float(poisson.sf(latest - 1, lam)) if latest > 0 else 1.0
        result[topic_id] = Emergence(
            topic_id,
            latest,
            expected,
            mean,
            sd,
            (latest + 1.0) / (expected + 1.0),
            (latest - lam) / math.sqrt(lam),
            p_value,
            latest >= min_count and p_value < alpha,
        )
    return result


@dataclass(frozen=True)
class PeriodEmergence:
    """Emergence of every topic from its stories per period (see :func:`emergence_by_period`)."""

    periods: tuple[str, ...]  # oldest first; the last one is the period judged
    counts: dict[str, list[int]]  # stories per topic per period, zeros included
    totals: list[int]  # stories of any topic per period
    scores: dict[str, Emergence]

    @property
    def latest_period(self) -> str:
        """The period judged ('' without any)."""
        return self.periods[-1] if self.periods else ""


def emergence_by_period(
    rows: Iterable[tuple[str, str, int]], topic_ids: Iterable[str] = ()
) -> PeriodEmergence:
    """Score topics from (topic id, period, stories) rows, e.g. ``store.topics.period_counts``.

    Periods sort as text (``2026-03``), so every topic gets a series over the same
    periods, zeros where it had no story; ``topic_ids`` adds topics without any row.
    """
    rows = list(rows)
    periods = sorted({period for _topic, period, _n in rows})
    position = {p: i for i, p in enumerate(periods)}
    counts: dict[str, list[int]] = {t: [0] * len(periods) for t in topic_ids}
    totals = [0] * len(periods)
    for topic_id, period, n in rows:
        counts.setdefault(topic_id, [0] * len(periods))[position[period]] += int(n)
        totals[position[period]] += int(n)
    return PeriodEmergence(tuple(periods), counts, totals, emergence(counts, totals))


def listing_order(
    topic_id: str, size: int, score: Emergence | None
) -> tuple[bool, float, int, str]:
    """Sort key of topics wherever they are listed (CLI, app): emerging ones first, the
    most significant (smallest p) first among them, then by size, then by id."""
    emerging = bool(score and score.emerging)
    p_value = score.p_value if score and emerging and score.p_value is not None else 0.0
    return (not emerging, p_value, -size, topic_id)
