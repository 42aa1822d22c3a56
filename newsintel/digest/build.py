"""Build a digest's content: the first of build -> render -> send.

The step computes from plain values: frames and rows that ``jobs/digest_content.py``
reads from the store and hands in (a step never reads the store itself).

How unusual a theme's period is gets measured against the theme's own history: the
z-score of this period's story count against the previous ``HISTORY`` periods. A
theme is "rising" or "falling" only when that z-score is at least 1 in size and the
count moved the same way against the previous period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from newsintel.digest.content import (
    ChartSeries,
    DigestContent,
    Direction,
    Finding,
    PriceMove,
    StoryLink,
    ThemeMove,
    default_title,
)

Period = Literal["daily", "weekly"]
HISTORY = 12
MOVERS = 3
CHART_WEEKS = 52
SAMPLE_NOTICE = (
    "Feed articles are sample data written for the newsintel demo, not real news "
    "(imported history, if any, is real)."
)


@dataclass(frozen=True)
class PeriodWindow:
    """The days a digest covers and the period before it."""

    period: Period
    start: date
    end: date

    @property
    def unit(self) -> str:
        return "day" if self.period == "daily" else "week"

    @property
    def length(self) -> timedelta:
        return timedelta(days=1 if self.period == "daily" else 7)


def period_window(period: Period, on_date: date) -> PeriodWindow:
    """The day, or the Monday-to-Sunday week, that contains ``on_date``."""
    if period == "daily":
        return PeriodWindow(period, on_date, on_date)
    start = on_date - timedelta(days=on_date.weekday())
    return PeriodWindow(period, start, start + timedelta(days=6))


def _zscore(history: np.ndarray, value: float) -> float | None:
    if len(history) < 4:
        return None
    spread = float(np.std(history, ddof=1))
    if spread == 0.0:
        return None
    return (value - float(np.mean(history))) / spread


def _direction(count: int, previous: int, z: float | None) -> Direction:
    if z is not None and z >= 1.0 and count > previous:
        return "rising"
    if z is not None and z <= -1.0 and count < previous:
        return "falling"
    return "steady"


def history_start(window: PeriodWindow) -> date:
    """The first day of the ``HISTORY`` periods a theme's count is judged against."""
    return window.start - window.length * HISTORY


def theme_moves(
    counts: pd.DataFrame,
    top: dict[str, list[tuple[str, str, str, datetime]]],
    window: PeriodWindow,
) -> list[ThemeMove]:
    """Every theme's count this period against the last one and its own history.

    ``counts``: stories per theme per period from ``history_start`` to the window's end
    (``store.digest.theme_period_counts``); ``top``: each theme's best stories of the
    window (``store.digest.top_stories_by_theme``).
    """
    moves: list[ThemeMove] = []
    for theme, group in counts.groupby("theme", sort=True):
        by_period = {
            pd.Timestamp(row["period"]).date(): (int(row["articles"]), int(row["total_articles"]))
            for row in group.to_dict("records")
        }
        count, total = by_period.get(window.start, (0, 0))
        earlier = sorted(day for day in by_period if day < window.start)
        previous, previous_total = by_period[earlier[-1]] if earlier else (0, 0)
        history = np.array([by_period[day][0] for day in earlier], dtype=float)
        z = _zscore(history, count)
        stories = tuple(
            StoryLink(title, url, source, published)
            for title, url, source, published in top.get(str(theme), [])
        )
        moves.append(
            ThemeMove(
                theme=str(theme),
                label=str(group["label"].iloc[0]),
                count=count,
                previous_count=previous,
                share=count / total if total else 0.0,
                previous_share=previous / previous_total if previous_total else 0.0,
                # None means "new" (from zero); zero to zero is no change at all.
                change_pct=(count - previous) / previous * 100.0
                if previous
                else (0.0 if count == 0 else None),
                zscore=z,
                direction=_direction(count, previous, z),
                top_stories=stories,
            )
        )
    moves.sort(key=lambda m: (-m.count, m.theme))
    return moves


def price_moves(frame: pd.DataFrame, window: PeriodWindow) -> list[PriceMove]:
    """Latest value of every price series at the period's end and its last change.

    ``frame``: the newest points of each series up to the window's end, ranked
    (``store.digest.price_points_until``).
    """
    moves: list[PriceMove] = []
    for series, group in frame.groupby("series", sort=True):
        latest = group[group["rank"] == 1].iloc[0]
        earlier = group[group["rank"] == 2]
        previous = float(earlier["value"].iloc[0]) if len(earlier) else None
        last = float(latest["value"])
        last_date = pd.Timestamp(latest["date"]).date()
        if (window.end - last_date).days > 31:
            continue  # a series that stopped long ago says nothing about this period
        moves.append(
            PriceMove(
                series=str(series),
                unit=str(latest["unit"]),
                currency=str(latest["currency"]),
                last=last,
                previous=previous,
                change_pct=(last - previous) / previous * 100.0 if previous else None,
                last_date=last_date,
            )
        )
    return moves


def _ccf_summary(x: str, y: str, lag: int, unit: str, plural: str, r: float) -> str:
    """The sign of r decides the words: a negative r is a move the other way."""
    if lag == 0:
        together = "in the same direction" if r > 0 else "in opposite directions"
        return f"{x} and {y} moved {together} in the same {unit}"
    leader, follower = (x, y) if lag > 0 else (y, x)
    way = "the same direction" if r > 0 else "the opposite direction"
    return (
        f"Moves in {leader} were followed {abs(lag)} {unit}{plural} later by moves in "
        f"{way} in {follower}"
    )


def _oos_sentence(raw: object, x: str, y: str) -> str:
    """The out-of-sample verdict: the only evidence worded as helping a forecast."""
    import json

    oos = json.loads(raw) if isinstance(raw, str) and raw not in ("", "null") else None
    if not oos or oos.get("mse_ratio") is None or oos.get("clark_west_p") is None:
        return "No out-of-sample forecast test was possible for this pair."
    ratio, p = float(oos["mse_ratio"]), float(oos["clark_west_p"])
    if ratio < 1 and p < 0.05:
        return (
            f"Out-of-sample, {x}'s past helps forecast {y}: forecast error ratio {ratio:.2f} "
            f"(Clark-West p={p:.3f})."
        )
    return (
        f"Out-of-sample, adding {x}'s past did not significantly lower the forecast error "
        f"of {y} (error ratio {ratio:.2f}, Clark-West p={p:.3f})."
    )


def _finding(row: pd.Series) -> Finding:
    x, y, lag = str(row["x"]), str(row["y"]), int(row["lag"])
    unit = {"D": "day", "W": "week", "M": "month"}.get(str(row["freq"]), "period")
    plural = "" if abs(lag) == 1 else "s"
    if row["test"] == "granger":
        source, target = (x, y) if row["direction"] == "x->y" else (y, x)
        summary = (
            f"In this sample, the past {lag} {unit}{plural} of {source} added information "
            f"about {target} beyond its own past (in-sample Granger test, not a forecast; "
            f"{_p_text(row)})."
        )
    else:
        summary = _ccf_summary(x, y, lag, unit, plural, float(row["effect"]))
        summary += f" (cross-correlation r={row['effect']:+.2f}, {_p_text(row)})."
    caveat = (
        f"n={int(row['n_obs'])} periods; an association in time, not evidence of cause; "
        "p-values adjusted (Benjamini-Hochberg) across every test in the run."
    )
    caveat += " " + _oos_sentence(row.get("oos"), x, y)
    warnings = list(row["warnings"]) if row["warnings"] is not None else []
    if warnings:
        caveat += " " + " ".join(warnings)
    return Finding(x, y, str(row["test"]), lag, float(row["p_robust_adj"]), summary, caveat)


def _p_text(row: pd.Series) -> str:
    """The robust adjusted p the finding was selected on, the classic one beside it."""
    return f"robust p_adj={row['p_robust_adj']:.3f}, classic p_adj={row['p_adj']:.3f}"


def findings(frame: pd.DataFrame, limit: int = 5) -> list[Finding]:
    """Lead/lag results of the latest run that survive adjustment, strongest first.

    ``frame``: those results, strongest first (``store.digest.significant_results``).
    """
    return [_finding(row) for _, row in frame.head(limit).iterrows()]


def chart_start(window: PeriodWindow) -> date:
    """The first day the digest's chart shows."""
    return window.end - timedelta(weeks=CHART_WEEKS)


def chart(
    theme: str,
    label: str,
    series: str,
    unit: str,
    counts: pd.DataFrame,
    prices: pd.DataFrame,
) -> ChartSeries | None:
    """Weekly stories of ``theme`` against the weekly mean of ``series`` over a year.

    ``counts`` (week, articles) and ``prices`` (week, value) start at ``chart_start``;
    no stories of the theme, no chart.
    """
    if counts.empty:
        return None
    return ChartSeries(
        title=f"{label}: weekly stories vs {series.replace('_', ' ')}",
        x_label="Week",
        y_label_left="Stories per week",
        y_label_right=f"{series.replace('_', ' ')} ({unit})" if unit else series,
        dates_left=tuple(pd.to_datetime(counts["week"]).dt.date),
        values_left=tuple(float(v) for v in counts["articles"]),
        dates_right=tuple(pd.to_datetime(prices["week"]).dt.date),
        values_right=tuple(float(v) for v in prices["value"]),
        left_name=f"{label} stories",
        right_name=series.replace("_", " "),
        theme=theme,
    )


def chart_theme(moves: list[ThemeMove], found: list[Finding]) -> str | None:
    for finding in found:
        for side in (finding.x, finding.y):
            if side.startswith("theme:"):
                return side.removeprefix("theme:")
    names = [m.theme for m in moves]
    if "lithium_batteries" in names:
        return "lithium_batteries"
    return names[0] if names else None


@dataclass(frozen=True)
class PeriodTotals:
    """Articles, distinct stories and sources published in a digest's period."""

    articles: int
    stories: int
    sources: int


def digest_content(
    window: PeriodWindow,
    *,
    now: datetime,
    totals: PeriodTotals,
    moves: list[ThemeMove],
    prices: list[PriceMove],
    found: list[Finding],
    chart: ChartSeries | None,
    sample_only: bool,
) -> DigestContent:
    """Everything one digest says, from its parts (read by ``jobs.digest_content``)."""
    rising = sorted((m for m in moves if m.direction == "rising"), key=lambda m: -(m.zscore or 0))
    falling = sorted((m for m in moves if m.direction == "falling"), key=lambda m: m.zscore or 0)
    return DigestContent(
        period=window.period,
        period_start=window.start,
        period_end=window.end,
        generated_at=now,
        title=default_title(window.period, window.start),
        articles=totals.articles,
        stories=totals.stories,
        sources=totals.sources,
        rising=tuple(rising[:MOVERS]),
        falling=tuple(falling[:MOVERS]),
        themes=tuple(moves),
        price_moves=tuple(prices),
        findings=tuple(found),
        chart=chart,
        notices=(SAMPLE_NOTICE,) if sample_only else (),
    )
