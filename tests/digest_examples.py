"""Example DigestContent for tests of the digest (render, send, CLI, jobs).

``example_content()`` gives a realistic weekly digest; pass keyword arguments to
replace any field, e.g. ``example_content(chart=None, notices=())``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

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

PERIOD_START = date(2026, 8, 17)
PERIOD_END = date(2026, 8, 23)
GENERATED_AT = datetime(2026, 8, 24, 7, 0, tzinfo=UTC)
UNICODE_TITLE = "Ganfeng\u2019s brine — 碳酸锂"
HOSTILE_TITLE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def story(title: str, url: str, source: str = "Mining Weekly", day: int = 18) -> StoryLink:
    """One story link published in the example week."""
    return StoryLink(title, url, source, datetime(2026, 8, day, 9, 30))


def theme_move(
    theme: str,
    label: str,
    count: int,
    previous_count: int,
    *,
    zscore: float | None = None,
    stories: tuple[StoryLink, ...] = (),
    total: int = 412,
) -> ThemeMove:
    """A ThemeMove whose change, shares and direction follow from the counts."""
    change = (count - previous_count) / previous_count * 100 if previous_count else None
    direction: Direction
    if change is None or change > 10:
        direction = "rising"
    elif change < -10:
        direction = "falling"
    else:
        direction = "steady"
    return ThemeMove(
        theme=theme,
        label=label,
        count=count,
        previous_count=previous_count,
        share=count / total,
        previous_share=previous_count / total,
        change_pct=change,
        zscore=zscore,
        direction=direction,
        top_stories=stories,
    )


def example_chart() -> ChartSeries:
    """Twelve weeks of lithium story counts against a lithium carbonate price."""
    weeks = tuple(PERIOD_START - timedelta(weeks=11 - i) for i in range(12))
    counts = (12.0, 15, 11, 14, 18, 16, 13, 17, 19, 22, 25, 45)
    prices = (
        71_500.0,
        71_000,
        70_200,
        70_800,
        72_100,
        73_000,
        72_400,
        73_900,
        75_200,
        76_800,
        77_100,
        79_400,
    )
    return ChartSeries(
        title="Lithium & batteries: weekly stories vs lithium carbonate",
        x_label="Week",
        y_label_left="Stories per week",
        y_label_right="Lithium carbonate (CNY/t)",
        dates_left=weeks,
        values_left=counts,
        dates_right=weeks,
        values_right=prices,
        left_name="Lithium & batteries stories",
        right_name="Lithium carbonate price",
        theme="lithium",
    )


def example_content(**changes: Any) -> DigestContent:
    """A weekly digest with rising, falling and steady themes, prices and a finding."""
    lithium = theme_move(
        "lithium",
        "Lithium & batteries",
        45,
        25,
        zscore=2.4,
        stories=(
            story(UNICODE_TITLE, "https://example.com/ganfeng-brine", "Reuters", 19),
            story(
                "CATL restarts Jianxiawo mine",
                "https://example.com/catl-jianxiawo",
                "Mining.com",
                20,
            ),
        ),
    )
    copper = theme_move(
        "copper",
        "Copper",
        18,
        30,
        zscore=-1.7,
        stories=(story("Chile copper output slips", "https://example.com/chile-copper"),),
    )
    chips = theme_move("semiconductors", "Semiconductors", 60, 58, zscore=0.3)
    content = DigestContent(
        period="weekly",
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        generated_at=GENERATED_AT,
        title=default_title("weekly", PERIOD_START),
        articles=1_284,
        stories=412,
        sources=37,
        rising=(lithium,),
        falling=(copper,),
        themes=(lithium, copper, chips),
        price_moves=(
            PriceMove(
                "lithium_carbonate",
                "t",
                "CNY",
                79_400.0,
                77_100.0,
                2.98,
                PERIOD_END,
                "Lithium carbonate",
            ),
            PriceMove(
                "copper_lme", "t", "USD", 9_410.5, 9_602.0, -1.99, PERIOD_END, "Copper (LME)"
            ),
        ),
        findings=(
            Finding(
                x="lithium",
                y="lithium_carbonate",
                test="Granger",
                lag=2,
                p_adj=0.01,
                summary="Attention to Lithium & batteries led lithium carbonate returns by "
                "2 weeks (Granger p_adj=0.01)",
                caveat="An association over 52 weeks, not evidence of cause; shared news "
                "shocks can move both.",
            ),
            Finding(
                x="copper",
                y="copper_lme",
                test="Granger",
                lag=1,
                p_adj=0.04,
                summary="Attention to Copper led LME copper returns by 1 week (Granger p_adj=0.04)",
                caveat="Weak after correction for 12 tests.",
            ),
        ),
        chart=example_chart(),
        notices=("Articles are sample data.",),
    )
    return replace(content, **changes)
