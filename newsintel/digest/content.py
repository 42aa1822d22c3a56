"""What a digest says, as plain frozen records.

``build`` fills these from the store; ``render`` turns them into an email. Nothing here
knows about SQL, Jinja2 or SMTP, so the app can show the same content on a page.

Datetimes may be naive (then they are UTC, as in the store) or timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

Period = Literal["daily", "weekly"]
Direction = Literal["rising", "falling", "steady"]


@dataclass(frozen=True)
class StoryLink:
    """One story shown under a theme: its headline, link, outlet and publication time."""

    title: str
    url: str
    source: str
    published_at: datetime


@dataclass(frozen=True)
class ThemeMove:
    """How much attention one theme got this period compared with the period before.

    ``share`` and ``previous_share`` are fractions (0..1) of all stories of the period.
    ``change_pct`` is in percent (80.0 means +80%) and None when the previous count was
    zero; ``zscore`` says how unusual this period's count is against the theme's own
    history (None when the history is too short).
    """

    theme: str
    label: str
    count: int
    previous_count: int
    share: float
    previous_share: float
    change_pct: float | None
    zscore: float | None
    direction: Direction
    top_stories: tuple[StoryLink, ...] = ()


@dataclass(frozen=True)
class PriceMove:
    """The latest value of a price series and its change since the previous value.

    ``change_pct`` is in percent; ``label`` is an optional display name for ``series``.
    """

    series: str
    unit: str
    currency: str
    last: float
    previous: float | None
    change_pct: float | None
    last_date: date
    label: str = ""

    @property
    def name(self) -> str:
        """The label to show, falling back to the series id."""
        return self.label or self.series


@dataclass(frozen=True)
class Finding:
    """One statistical association between an attention series and a price series.

    ``summary`` states a lead/lag association, never cause, with the sign of the
    correlation in words: "Moves in theme:lithium were followed 2 weeks later by moves
    in the opposite direction in series:lithium_carbonate". ``caveat`` says what the
    test cannot show (sample size, confounders, multiple testing). ``p_adj`` is the
    robust test's adjusted p-value, the one the finding was selected on.
    """

    x: str
    y: str
    test: str
    lag: int
    p_adj: float
    summary: str
    caveat: str


@dataclass(frozen=True)
class ChartSeries:
    """Data for the digest chart: weekly story counts (bars) and a price line.

    ``dates_right``/``values_right`` may be empty when no price series is available.
    ``theme`` names the theme the bars belong to so a per-recipient theme filter can
    leave the chart out; empty means the chart is shown to everyone.
    """

    title: str
    x_label: str
    y_label_left: str
    y_label_right: str
    dates_left: tuple[date, ...]
    values_left: tuple[float, ...]
    dates_right: tuple[date, ...]
    values_right: tuple[float, ...]
    left_name: str
    right_name: str
    theme: str = ""


@dataclass(frozen=True)
class DigestContent:
    """Everything one digest email says.

    ``title`` is both the subject line and the headline; ``default_title`` gives the
    usual one. ``rising``/``falling`` are the notable movers, ``themes`` every tracked
    theme. ``notices`` are short lines shown prominently, e.g. "Articles are sample data.".
    """

    period: Period
    period_start: date
    period_end: date
    generated_at: datetime
    title: str
    articles: int
    stories: int
    sources: int
    rising: tuple[ThemeMove, ...]
    falling: tuple[ThemeMove, ...]
    themes: tuple[ThemeMove, ...]
    price_moves: tuple[PriceMove, ...]
    findings: tuple[Finding, ...]
    chart: ChartSeries | None
    notices: tuple[str, ...] = ()


def default_title(period: Period, period_start: date) -> str:
    """The usual subject: "newsintel weekly digest — week of 2026-08-17"."""
    if period == "weekly":
        return f"newsintel weekly digest — week of {period_start.isoformat()}"
    return f"newsintel daily digest — {period_start.isoformat()}"
