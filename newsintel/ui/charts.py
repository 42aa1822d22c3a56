"""Altair charts for the app. Every chart has a title, axis titles and units.

Charts take tidy DataFrames from ``newsintel.ui.data`` and return Altair charts; the
pages decide where they go. Vega draws text as text, so feed strings in tooltips and
labels cannot become markup.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

BAR_COLOUR = "#4C78A8"
LINE_COLOUR = "#E45756"
MUTED = "#B8C4D0"

# What the builders return; altair's own annotations are too loose for mypy here.
ChartLike = alt.Chart | alt.LayerChart | alt.FacetChart
HEIGHT = 340


def _title(text: str, subtitle: str = "") -> alt.TitleParams:
    return alt.TitleParams(
        text,
        subtitle=subtitle or alt.Undefined,
        anchor="start",
        fontSize=15,
        subtitleColor="#5f6b7a",
        subtitleFontSize=12,
    )


def theme_vs_series(
    counts: pd.DataFrame,
    prices: pd.DataFrame,
    *,
    theme_label: str,
    series_label: str,
    unit: str,
) -> ChartLike:
    """Dual-axis weekly chart: bars = stories of a theme, line = weekly mean of a series.

    ``counts`` has columns week, articles; ``prices`` week, value_mean (may be empty).
    Both share one time axis, so a move in one can be read against the other.
    """
    unit_text = f" ({unit})" if unit else ""
    x = alt.X("week:T", title="Week", axis=alt.Axis(format="%b %Y", labelAngle=0))
    # Each bar spans its Monday-to-Saturday, so bars keep a gap on any chart width.
    weeks = counts[["week", "articles"]].copy()
    weeks["week_end"] = pd.to_datetime(weeks["week"]) + pd.Timedelta(days=6)
    bars = (
        alt.Chart(weeks)
        .mark_bar(color=BAR_COLOUR, opacity=0.85)
        .encode(
            x=x,
            x2="week_end:T",
            y=alt.Y(
                "articles:Q",
                title="Stories per week",
                axis=alt.Axis(titleColor=BAR_COLOUR, tickMinStep=1, format="d"),
            ),
            y2=alt.datum(0),
            tooltip=[
                alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
                alt.Tooltip("articles:Q", title="Stories"),
            ],
        )
    )
    line = (
        alt.Chart(prices)
        .mark_line(color=LINE_COLOUR, strokeWidth=2.2, interpolate="monotone")
        .encode(
            x=x,
            y=alt.Y(
                "value_mean:Q",
                title=f"{series_label}{unit_text}",
                scale=alt.Scale(zero=False),
                axis=alt.Axis(titleColor=LINE_COLOUR, orient="right", format="~s"),
            ),
            tooltip=[
                alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
                alt.Tooltip("value_mean:Q", title=f"{series_label}{unit_text}", format=",.0f"),
            ],
        )
    )
    subtitle = (
        f"Bars: stories per week (left axis) · Line: weekly mean of {series_label}"
        f"{unit_text} (right axis)"
    )
    if prices.empty:
        subtitle = "Bars: stories per week · no values of the series in this window"
    chart: ChartLike = (
        alt.layer(bars, line)
        .resolve_scale(y="independent")
        .properties(
            title=_title(f"{theme_label}: weekly stories vs {series_label}", subtitle),
            height=HEIGHT,
        )
    )
    return chart


def theme_volume(weekly: pd.DataFrame, highlight: str) -> ChartLike:
    """Stacked weekly stories of every theme, the ``highlight`` label drawn strongest.

    ``weekly`` has columns week, label, articles.
    """
    frame = weekly[weekly["articles"] > 0]
    chart: ChartLike = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("yearmonth(week):T", title="Month", axis=alt.Axis(format="%b %Y")),
            y=alt.Y("sum(articles):Q", title="Stories per month", stack=True),
            color=alt.Color(
                "label:N", title="Theme", legend=alt.Legend(orient="bottom", columns=4)
            ),
            opacity=alt.condition(alt.datum.label == highlight, alt.value(1.0), alt.value(0.35)),
            order=alt.Order("label:N"),
            tooltip=[
                alt.Tooltip("yearmonth(week):T", title="Month", format="%b %Y"),
                alt.Tooltip("label:N", title="Theme"),
                alt.Tooltip("sum(articles):Q", title="Stories"),
            ],
        )
        .properties(
            title=_title("Story volume by theme", f"{highlight} highlighted; stories per month"),
            height=HEIGHT,
        )
    )
    return chart


def theme_share(weekly: pd.DataFrame, label: str) -> ChartLike:
    """Weekly share of all stories (percent) of one theme, with a 4-week rolling mean.

    ``weekly`` has columns week, share (0..1) for that theme only.
    """
    frame = weekly[["week", "share"]].sort_values("week").copy()
    frame["share_pct"] = frame["share"] * 100.0
    frame["rolling_pct"] = frame["share_pct"].rolling(4, min_periods=1).mean()
    x = alt.X("week:T", title="Week", axis=alt.Axis(format="%b %Y"))
    points = (
        alt.Chart(frame)
        .mark_circle(color=MUTED, size=28)
        .encode(
            x=x,
            y=alt.Y("share_pct:Q", title="Share of all stories (%)"),
            tooltip=[
                alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
                alt.Tooltip("share_pct:Q", title="Share (%)", format=".0f"),
            ],
        )
    )
    trend = (
        alt.Chart(frame)
        .mark_line(color=BAR_COLOUR, strokeWidth=2.2)
        .encode(x=x, y=alt.Y("rolling_pct:Q", title="Share of all stories (%)"))
    )
    chart: ChartLike = alt.layer(points, trend).properties(
        title=_title(f"{label}: share of all stories", "Dots: weekly share · Line: 4-week mean"),
        height=HEIGHT,
    )
    return chart


def source_mix(frame: pd.DataFrame, label: str) -> ChartLike:
    """Horizontal bars of stories per source (columns source, stories)."""
    chart: ChartLike = (
        alt.Chart(frame)
        .mark_bar(color=BAR_COLOUR)
        .encode(
            x=alt.X("stories:Q", title="Stories", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("source:N", title="Source", sort="-x"),
            tooltip=[alt.Tooltip("source:N", title="Source"), alt.Tooltip("stories:Q")],
        )
        .properties(
            title=_title(f"{label}: stories by source"),
            height=max(120, 28 * len(frame)),
        )
    )
    return chart


def ccf(frame: pd.DataFrame, *, theme_label: str, series_label: str, unit: str) -> ChartLike:
    """Correlation per lag with its 95% interval and the white-noise band.

    ``frame`` has columns lag, r, ci_low, ci_high, p_adj, band (half-width, may be null).
    Positive lags: the theme leads the series by that many ``unit``s.
    """
    data = frame.copy()
    data["adjusted p < 0.05"] = data["p_adj"].fillna(1.0) < 0.05
    x = alt.X(
        "lag:O",
        title=f"Lag in {unit}s (positive: {theme_label} leads {series_label})",
        axis=alt.Axis(labelAngle=0),
    )
    y_title = "Correlation r (95% interval)"
    layers: list[alt.Chart] = []
    band = data["band"].dropna()
    if not band.empty:
        half = float(band.iloc[0])
        layers.append(
            alt.Chart(pd.DataFrame({"low": [-half], "high": [half]}))
            .mark_rect(color="#9aa5b1", opacity=0.18)
            .encode(y=alt.Y("low:Q", title=y_title), y2="high:Q")
        )
    layers.append(
        alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#5f6b7a").encode(y="zero:Q")
    )
    layers.append(
        alt.Chart(data)
        .mark_rule(color="#7f8b99", strokeWidth=1.5)
        .encode(x=x, y=alt.Y("ci_low:Q", title=y_title), y2="ci_high:Q")
    )
    layers.append(
        alt.Chart(data)
        .mark_circle(size=70, opacity=1.0)
        .encode(
            x=x,
            y=alt.Y("r:Q", title=y_title, scale=alt.Scale(domain=[-1, 1])),
            color=alt.Color(
                "adjusted p < 0.05:N",
                scale=alt.Scale(domain=[False, True], range=[BAR_COLOUR, LINE_COLOUR]),
                legend=alt.Legend(orient="bottom", title="Adjusted p < 0.05"),
            ),
            tooltip=[
                alt.Tooltip("lag:O", title=f"Lag ({unit}s)"),
                alt.Tooltip("r:Q", format="+.2f"),
                alt.Tooltip("ci_low:Q", title="95% low", format="+.2f"),
                alt.Tooltip("ci_high:Q", title="95% high", format="+.2f"),
                alt.Tooltip("p_adj:Q", title="Adjusted p", format=".3f"),
            ],
        )
    )
    subtitle = "Dots: r at each lag · Whiskers: 95% interval"
    if not band.empty:
        subtitle += " · Grey band: 95% range expected from noise alone"
    chart: ChartLike = alt.layer(*layers).properties(
        title=_title(f"Cross-correlation: {theme_label} vs {series_label}", subtitle),
        height=300,
    )
    return chart
